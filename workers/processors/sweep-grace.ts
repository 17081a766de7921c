/**
 * The grace sweep: reminders 7, 3 and 1 days before each member's deadline, and
 * `policy.grace_expired` once per member when it passes. Walks memberships in keyset batches (by
 * id) so memory stays flat however many there are. Each batch is ONE SQL statement that inserts
 * the grace_reminders keys (ON CONFLICT DO NOTHING), and, only for keys it inserted, the outbound
 * email rows and audit events: a rerun or a concurrent sweep inserts nothing twice. Mail jobs are
 * enqueued after commit; a crash in between is repaired by recoverStrandedMail (decision 022).
 * Enforcement never depends on this: sign-in computes deadlines itself.
 */
import { sql as pg } from '#db/client.ts'
import { deadlineExpr, hasAllowedFactor, isExempt } from '#app/policy/member-status.server.ts'
import { enqueueMail, recoverStrandedMail } from './outbox.ts'

export type SweepStats = { batches: number; memberships: number; reminders: number; expired: number; recovered: number }

export async function sweepGrace(options: { now?: Date; batchSize?: number; afterCommit?: (batch: number, emailIds: string[]) => Promise<void> | void } = {}): Promise<SweepStats> {
  const now = options.now ?? new Date()
  const batchSize = options.batchSize ?? 5000
  const stats: SweepStats = { batches: 0, memberships: 0, reminders: 0, expired: 0, recovered: await recoverStrandedMail(60_000, now) }
  let cursor = '00000000-0000-0000-0000-000000000000'
  for (;;) {
    const [res] = await pg<{ last: string | null; n: number; emails: string[]; expired: number }[]>`
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
      ),
      mail as (
        insert into outbound_emails (user_id, to_address, template, params)
        select k.user_id, k.email, 'grace_reminder', jsonb_build_object(
          'organization', k.org_name, 'region', k.region, 'deadline', k.deadline, 'offsetDays', k.offset_days,
          'methods', to_jsonb(k.allowed_methods), 'onDeadline', k.on_deadline)
        from ins join keyed k on k.user_id = ins.user_id and k.org_id = ins.organization_id and k.offset_days = ins.offset_days
        where ins.offset_days > 0
        returning id
      ),
      audit as (
        insert into audit_events (chain, organization_id, actor_label, subject_id, action, details)
        select ins.organization_id::text, ins.organization_id, 'worker', ins.user_id, 'policy.grace_expired',
          jsonb_build_object('region', ins.region, 'deadline', ins.deadline)
        from ins where ins.offset_days = 0
        order by ins.organization_id, ins.user_id
        returning 1
      )
      select (select id from m order by id desc limit 1)::text as last, (select count(*) from m)::int as n,
        coalesce((select array_agg(id::text) from mail), '{}') as emails, (select count(*) from audit)::int as expired`
    if (!res.last) break
    stats.batches++
    stats.memberships += res.n
    stats.expired += res.expired
    stats.reminders += res.emails.length
    await options.afterCommit?.(stats.batches, res.emails)
    await enqueueMail(res.emails)
    cursor = res.last
    if (res.n < batchSize) break
  }
  return stats
}
