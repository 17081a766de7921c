/**
 * The transactional-outbox half of the sweeps: a sweep writes its reminder record and the
 * outbound_emails row in ONE statement, commits, then enqueues the mail jobs. A crash between
 * commit and enqueue leaves rows in status 'queued' with no job; `recoverStrandedMail` (run at the
 * start of every sweep) enqueues them. Job id = email id, and the mail worker skips a row already
 * 'sent', so enqueuing twice never sends twice. See docs/decisions/022-reminders-exactly-once.md.
 */
import { sql as pg } from '#db/client.ts'
import { getQueue, MAIL_JOB_OPTIONS, QUEUE, type MailPayload } from '#app/jobs/queues.server.ts'

/** Templates whose rows the sweeps write directly (recovery only touches these). */
export const OUTBOX_TEMPLATES = ['grace_reminder', 'policy_required', 'policy_disabled']

export async function enqueueMail(ids: string[]): Promise<void> {
  if (!ids.length) return
  const queue = getQueue(QUEUE.mail)
  for (let i = 0; i < ids.length; i += 500) {
    await queue.addBulk(ids.slice(i, i + 500).map((id) => ({ name: 'send', data: { emailId: id } satisfies MailPayload, opts: { ...MAIL_JOB_OPTIONS, jobId: id } })))
  }
}

/** Re-enqueues outbox rows older than `olderThanMs` that never got a job (or lost it). */
export async function recoverStrandedMail(olderThanMs = 60_000, now = new Date()): Promise<number> {
  const templates = pg.unsafe(OUTBOX_TEMPLATES.map((t) => `'${t}'`).join(', '))
  const rows = await pg<{ id: string }[]>`
    update outbound_emails set status = 'queued'
    where status in ('queued', 'not_queued') and template in (${templates})
      and created_at > ${new Date(now.getTime() - 3 * 86_400_000).toISOString()}::timestamptz
      and created_at < ${new Date(now.getTime() - olderThanMs).toISOString()}::timestamptz
    returning id::text`
  await enqueueMail(rows.map((r) => r.id))
  return rows.length
}
