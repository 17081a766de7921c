/**
 * The sweep-grace job: reminders 7, 3 and 1 days before each member's deadline, and
 * `policy.grace_expired` once per member when it passes. Walks memberships in keyset batches (by
 * id) so memory stays flat however many there are. Each batch is ONE transaction: a statement
 * inserts the grace_reminders keys (ON CONFLICT DO NOTHING) and returns only the keys it inserted,
 * and for those the outbound email rows and audit events are written through the mail and audit
 * modules. A rerun or a concurrent sweep inserts nothing twice. Mail jobs are enqueued after commit;
 * a crash in between is repaired by recoverStrandedMail (decision 022). Enforcement never depends
 * on this: sign-in computes deadlines itself.
 */
import { recordMany, systemActor } from '#app/audit/record.server.ts'
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { recoverStrandedMail } from '#app/mail/outbox.server.ts'
import { enqueueEmails, writeEmails } from '#app/mail/queue-email.server.ts'
import { deadlineExpr, hasAllowedFactor, isExempt } from '#app/policy/member-status.server.ts'
import { requeueStalledRuns } from '#app/policy/notification-runs.server.ts'
import { sql as pg } from '#db/client.ts'

/** Also re-queues notification runs whose job was lost: this is the sweep that runs often. */
export const graceSweep = defineSweep({
  name: 'sweep-grace',
  every: 15 * 60_000,
  handler: async () => {
    const runs = await requeueStalledRuns()
    return { ...(await sweepGrace()), runs }
  },
})

export type SweepStats = { batches: number; memberships: number; reminders: number; expired: number; recovered: number }

/** A reminder key this batch inserted, with what its email or audit event says (built in SQL, as stored). */
type Claimed = { userId: string; email: string; orgId: string; offsetDays: number; mailParams: Record<string, unknown>; auditDetails: Record<string, unknown> }

export async function sweepGrace(options: { now?: Date; batchSize?: number; afterCommit?: (batch: number, emailIds: string[]) => Promise<void> | void } = {}): Promise<SweepStats> {
  const now = options.now ?? new Date()
  const batchSize = options.batchSize ?? 5000
  const stats: SweepStats = { batches: 0, memberships: 0, reminders: 0, expired: 0, recovered: await recoverStrandedMail(60_000, now) }
  const worker = systemActor('worker')
  let cursor = '00000000-0000-0000-0000-000000000000'
  for (;;) {
    const res = await pg.begin(async (tx) => {
      const [batch] = await tx<{ last: string | null; n: number; claimed: Claimed[] }[]>`
        with m as (
          select id, user_id, organization_id, joined_at from memberships where id > ${cursor}::uuid order by id limit ${batchSize}
        ),
        due as (
          select u.id as user_id, u.email, u.region, o.id as org_id, o.name as org_name, p.on_deadline, p.allowed_methods, ${deadlineExpr} as deadline
          from m
          join users u on u.id = m.user_id
          join region_policies p on p.organization_id = m.organization_id and p.region = u.region and p.mode = 'required'
          join organizations o on o.id = m.organization_id
          where not ${isExempt(now)} and not ${hasAllowedFactor}
        ),
        keyed as (
          select due.*, case
            when deadline <= ${now.toISOString()}::timestamptz then 0
            when deadline - ${now.toISOString()}::timestamptz <= interval '1 day' then 1
            when deadline - ${now.toISOString()}::timestamptz <= interval '3 days' then 3
            else 7 end as offset_days
          from due where deadline - ${now.toISOString()}::timestamptz <= interval '7 days'
        ),
        ins as (
          insert into grace_reminders (user_id, organization_id, region, deadline, offset_days)
          select user_id, org_id, region, deadline, offset_days from keyed
          on conflict do nothing
          returning user_id, organization_id, region, deadline, offset_days
        )
        select (select id from m order by id desc limit 1)::text as last, (select count(*) from m)::int as n,
          coalesce((select jsonb_agg(jsonb_build_object(
            'userId', k.user_id, 'email', k.email, 'orgId', k.org_id, 'offsetDays', k.offset_days,
            'mailParams', jsonb_build_object('organization', k.org_name, 'region', k.region, 'deadline', k.deadline,
              'offsetDays', k.offset_days, 'methods', to_jsonb(k.allowed_methods), 'onDeadline', k.on_deadline),
            'auditDetails', jsonb_build_object('region', ins.region, 'deadline', ins.deadline)
          ) order by ins.organization_id, ins.user_id)
          from ins join keyed k on k.user_id = ins.user_id and k.org_id = ins.organization_id and k.offset_days = ins.offset_days), '[]') as claimed`
      const reminders = batch.claimed.filter((c) => c.offsetDays > 0)
      const expired = batch.claimed.filter((c) => c.offsetDays === 0)
      const emails = await writeEmails(reminders.map((c) => ({ to: c.email, userId: c.userId, template: 'grace_reminder', params: c.mailParams })), tx)
      await recordMany(expired.map((c) => ({ action: 'policy.grace_expired', actor: worker, organizationId: c.orgId, subjectId: c.userId, details: c.auditDetails })), tx)
      return { last: batch.last, n: batch.n, emails, expired: expired.length }
    })
    if (!res.last) break
    stats.batches++
    stats.memberships += res.n
    stats.expired += res.expired
    stats.reminders += res.emails.length
    await options.afterCommit?.(stats.batches, res.emails)
    await enqueueEmails(res.emails)
    cursor = res.last
    if (res.n < batchSize) break
  }
  return stats
}
