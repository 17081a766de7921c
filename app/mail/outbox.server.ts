/**
 * The transactional-outbox half of the sweeps: a sweep writes its reminder record and the
 * outbound_emails rows in ONE transaction, commits, then enqueues the mail jobs. A crash between
 * commit and enqueue leaves rows in status 'queued' with no job; `recoverStrandedMail` (run at the
 * start of every grace sweep) enqueues them. Job id = email id, and the mail worker skips a row
 * already 'sent', so enqueuing twice never sends twice (decision 022).
 */
import { sql as pg } from '#db/client.ts'
import { enqueueEmails } from './queue-email.server.ts'

/** Templates whose rows the sweeps write in bulk (recovery only touches these). */
export const OUTBOX_TEMPLATES = ['grace_reminder', 'policy_required', 'policy_disabled']

/** Re-enqueues outbox rows older than `olderThanMs` that never got a job (or lost it). */
export async function recoverStrandedMail(olderThanMs = 60_000, now = new Date()): Promise<number> {
  const templates = pg.unsafe(OUTBOX_TEMPLATES.map((t) => `'${t}'`).join(', '))
  const rows = await pg<{ id: string }[]>`
    update outbound_emails set status = 'queued'
    where status in ('queued', 'not_queued') and template in (${templates})
      and created_at > ${new Date(now.getTime() - 3 * 86_400_000).toISOString()}::timestamptz
      and created_at < ${new Date(now.getTime() - olderThanMs).toISOString()}::timestamptz
    returning id::text`
  await enqueueEmails(rows.map((r) => r.id))
  return rows.length
}
