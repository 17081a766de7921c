/**
 * Notification runs: emailing every affected member of a region (a policy became Required or
 * Disabled) as a job whose progress the admin sees (notification_runs). The notify-run job carries
 * the run id; the grace sweep re-queues runs whose job was lost (requeueStalledRuns).
 */
import { and, desc, eq } from 'drizzle-orm'
import { z } from 'zod'
import { defineJob } from '#app/jobs/define-job.server.ts'
import { QUEUE } from '#app/jobs/queues.server.ts'
import { enqueue } from '#app/jobs/registry.server.ts'
import { enqueueEmails, writeEmails } from '#app/mail/queue-email.server.ts'
import { deadlineExpr, hasAllowedFactor, isExempt } from '#app/policy/member-status.server.ts'
import { db, schema, sql as pg } from '#db/client.ts'
import { logger } from '#app/observability/logger.server.ts'

const log = logger.child({ component: 'policy' })

export type RunKind = 'policy_required' | 'policy_disabled'

/** The job id is the run id, so a run is queued once however often it is re-queued. */
export const notifyRun = defineJob({
  name: 'notify-run',
  queue: QUEUE.policy,
  payload: z.object({ runId: z.string().uuid() }).strict(),
  options: { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 100, removeOnFail: 1000 },
  jobId: ({ runId }) => runId,
  handler: ({ runId }) => runNotification(runId),
})

export async function startNotificationRun(orgId: string, region: string, kind: RunKind): Promise<string> {
  const [run] = await db.insert(schema.notificationRuns).values({ organizationId: orgId, region, kind }).returning({ id: schema.notificationRuns.id })
  await enqueueRun(run.id)
  return run.id
}

/** Enqueues (or re-enqueues: the job id is the run id) a run. Redis down: the sweep retries it later. */
export async function enqueueRun(runId: string): Promise<boolean> {
  try {
    await enqueue('notify-run', { runId })
    return true
  } catch (e) {
    log.warn({ runId, error: (e as Error).message }, 'notification run not queued yet')
    return false
  }
}

/** Notification runs whose job never reached Redis (or was lost) are enqueued again by the sweep. */
export async function requeueStalledRuns(olderThanMs = 60_000): Promise<number> {
  const rows = await pg<{ id: string }[]>`
    select id::text from notification_runs where status in ('queued', 'running') and created_at < ${new Date(Date.now() - olderThanMs).toISOString()}::timestamptz limit 100`
  for (const r of rows) await enqueueRun(r.id)
  return rows.length
}

export async function listRecentRuns(orgId: string, limit = 5) {
  const r = schema.notificationRuns
  return db.select().from(r).where(and(eq(r.organizationId, orgId))).orderBy(desc(r.createdAt)).limit(limit)
}

const BATCH = 1000

/**
 * Runs one notification run: emails every affected (non-exempt) member of one organization's region
 * that its policy became Required (with their own deadline when they lack an allowed factor) or
 * Disabled. Keyset batches by membership id; each batch's outbox rows and the run's `done` counter
 * commit together, and every outbox row records the membership it was for (`params.membershipId`),
 * so a restarted job resumes by keyset after the highest membership id already emailed in this run.
 * Members joining or leaving between a crash and the restart neither shift nor hide that point (an
 * offset would: it skipped or re-emailed someone), and a member is emailed once.
 */
export async function runNotification(runId: string, now = new Date(), options: { batchSize?: number } = {}): Promise<{ done: number; total: number }> {
  const batchSize = options.batchSize ?? BATCH
  const [run] = await pg<{ id: string; organization_id: string; region: string; kind: string; done: number; status: string; created_at: string }[]>`
    select id, organization_id, region, kind, done, status, created_at from notification_runs where id = ${runId}`
  if (!run || run.status === 'done') return { done: run?.done ?? 0, total: run?.done ?? 0 }
  const template = run.kind === 'policy_disabled' ? 'policy_disabled' : 'policy_required'
  const from = pg`memberships m join users u on u.id = m.user_id
    join region_policies p on p.organization_id = m.organization_id and p.region = u.region
    join organizations o on o.id = m.organization_id
    where m.organization_id = ${run.organization_id} and u.region = ${run.region} and not ${isExempt(now)}`
  const [{ total }] = await pg<{ total: number }[]>`select count(*)::int as total from ${from}`
  await pg`update notification_runs set total = ${total}, status = 'running' where id = ${runId}`
  // Resume after the last committed batch: the highest membership id this run has emailed (its
  // outbox rows commit with `done`; created_at bounds the scan to this run's time on its index).
  let cursor = '00000000-0000-0000-0000-000000000000'
  if (run.done > 0) {
    const [last] = await pg<{ id: string | null }[]>`
      select e.params->>'membershipId' as id from outbound_emails e
      where e.created_at >= ${run.created_at}::timestamptz and e.template = ${template}
        and e.params->>'runId' = ${runId} and e.params->>'membershipId' is not null
      order by (e.params->>'membershipId')::uuid desc limit 1`
    if (last?.id) cursor = last.id
  }
  let done = run.done
  for (;;) {
    const res = await pg.begin(async (tx) => {
      const batch = await tx<{ id: string; user_id: string; email: string; params: Record<string, unknown> }[]>`
        select m.id::text, u.id::text as user_id, u.email, jsonb_build_object('organization', o.name, 'region', u.region,
          'deadline', case when p.mode = 'required' and not ${hasAllowedFactor} then ${deadlineExpr} end,
          'methods', to_jsonb(p.allowed_methods), 'onDeadline', p.on_deadline, 'runId', ${runId}::text, 'membershipId', m.id::text) as params
        from ${from} and m.id > ${cursor}::uuid order by m.id limit ${batchSize}`
      const emails = await writeEmails(batch.map((b) => ({ to: b.email, userId: b.user_id, template, params: b.params })), tx)
      await tx`update notification_runs set done = done + ${batch.length} where id = ${runId}`
      return { n: batch.length, last: batch.at(-1)?.id ?? null, emails }
    })
    if (!res.last) break
    await enqueueEmails(res.emails)
    done += res.n
    cursor = res.last
    if (res.n < batchSize) break
  }
  await pg`update notification_runs set status = 'done', finished_at = now(), total = greatest(total, done) where id = ${runId}`
  return { done, total }
}
