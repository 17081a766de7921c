/**
 * The sweep-grace job: reminders 7, 3 and 1 days before each member's deadline, and
 * `policy.grace_expired` once per member when it passes. Set-based on the members read model
 * (decisions 076, 077, 078): each membership carries `next_reminder_at`, the moment its next reminder
 * or expiry falls due (kept by a trigger whenever the membership's facts change, rescheduled here
 * first for policies saved since the last run, and moved on by this sweep). One statement per batch claims the due memberships through the
 * partial index on that column with `FOR UPDATE SKIP LOCKED`, so several workers share the work
 * and none waits for another's batch; it inserts the grace_reminders keys (ON CONFLICT DO NOTHING,
 * so nothing is sent twice even for a deadline seen before) and moves each claimed row's
 * `next_reminder_at` to its next threshold. For the keys it inserted, the outbound email rows and
 * audit events are written through the mail and audit modules in the same transaction. A rerun
 * with nothing due reads that index only. Mail jobs are enqueued after commit; a crash in between
 * is repaired by recoverStrandedMail (decision 022). Enforcement never depends on this: sign-in
 * computes deadlines itself from the source tables.
 */
import { recordMany, systemActor } from '#app/audit/record.server.ts'
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { recoverStrandedMail } from '#app/mail/outbox.server.ts'
import { enqueueEmails, writeEmails } from '#app/mail/queue-email.server.ts'
import { requeueStalledRuns } from '#app/policy/notification-runs.server.ts'
import { sql as pg } from '#db/client.ts'
import { policyJoin, storedAllowed, storedDeadline } from './member-status.server.ts'

/** Also re-queues notification runs whose job was lost: this is the sweep that runs often. */
export const graceSweep = defineSweep({
  name: 'sweep-grace',
  every: 15 * 60_000,
  handler: async () => {
    const runs = await requeueStalledRuns()
    return { ...(await sweepGrace()), runs }
  },
})

export type SweepStats = { batches: number; memberships: number; reminders: number; expired: number; recovered: number; rescheduled: number }

/**
 * Decision 078: a policy save writes no membership row; it marks the policy `reminders_stale`. Before
 * claiming, the sweep reschedules the next reminder of each marked policy's members under the policy
 * as it reads it (one statement per policy, writing only rows whose moment changes), and clears the
 * mark in the same statement only if the policy still has those values: a save in between leaves
 * it marked for the next run. Two workers doing this at once write the same values. A run with no
 * marked policy reads region_policies only. Returns the memberships whose moment moved.
 */
export async function rescheduleStalePolicies(): Promise<number> {
  const stale = await pg<{ organization_id: string; region: string }[]>`select organization_id, region from region_policies where reminders_stale`
  let moved = 0
  for (const s of stale) {
    const [r] = await pg<{ moved: number }[]>`
      with pol as (
        select organization_id, region, mode, allowed_methods, grace_period_days, required_since
        from region_policies where organization_id = ${s.organization_id} and region = ${s.region}
      ),
      moved as (
        update memberships m set next_reminder_at = n.next
        from (
          select s.id, member_next_reminder(
              member_deadline(pol.mode, pol.required_since, pol.grace_period_days, s.joined_at, s.extension_deadline),
              member_allowed_factor(pol.allowed_methods, s.has_totp, s.has_key), s.exempt_until) as next
          from memberships s join pol on s.organization_id = pol.organization_id and s.user_region = pol.region
        ) n
        where m.id = n.id and m.organization_id = ${s.organization_id} and m.user_region = ${s.region}
          and m.next_reminder_at is distinct from n.next
        returning 1
      ),
      cleared as (
        update region_policies r set reminders_stale = false from pol
        where r.organization_id = pol.organization_id and r.region = pol.region
          and (r.mode, r.allowed_methods, r.grace_period_days, r.required_since) is not distinct from (pol.mode, pol.allowed_methods, pol.grace_period_days, pol.required_since)
        returning 1
      )
      select (select count(*) from moved)::int as moved, (select count(*) from cleared)::int as cleared`
    moved += r?.moved ?? 0
  }
  return moved
}

/** A reminder key this batch inserted, with what its email or audit event says (built in SQL, as stored). */
type Claimed = { userId: string; email: string; orgId: string; offsetDays: number; mailParams: Record<string, unknown>; auditDetails: Record<string, unknown> }

export async function sweepGrace(options: { now?: Date; batchSize?: number; afterCommit?: (batch: number, emailIds: string[]) => Promise<void> | void } = {}): Promise<SweepStats> {
  const now = (options.now ?? new Date()).toISOString()
  const batchSize = options.batchSize ?? 5000
  const stats: SweepStats = { batches: 0, memberships: 0, reminders: 0, expired: 0, rescheduled: 0, recovered: await recoverStrandedMail(60_000, options.now ?? new Date()) }
  const worker = systemActor('worker')
  stats.rescheduled = await rescheduleStalePolicies()
  for (;;) {
    const res = await pg.begin(async (tx) => {
      const [batch] = await tx<{ n: number; inserted: [string, string, number][]; candidates: Claimed[] }[]>`
        with due as (
          -- The claimed rows' own columns, as locked: joining memberships again by id would let the
          -- planner hash-join the claim with a scan of the whole table.
          select m.id, m.user_id, m.user_email, m.user_region, m.organization_id, m.joined_at, m.extension_deadline,
            m.has_totp, m.has_key, m.exempt_until
          from memberships m where m.next_reminder_at <= ${now}::timestamptz
          order by m.next_reminder_at limit ${batchSize}
          for update skip locked
        ),
        cur as (
          select d.*,
            case
              when d.deadline <= ${now}::timestamptz then 0
              when d.deadline - ${now}::timestamptz <= interval '1 day' then 1
              when d.deadline - ${now}::timestamptz <= interval '3 days' then 3
              else 7 end as offset_days
          from (
            select m.id, m.user_id, m.user_email as email, m.user_region as region, m.organization_id as org_id,
              ${storedDeadline} as deadline, ${storedAllowed} as allowed_factor, m.exempt_until
            from due m ${policyJoin}
          ) d
        ),
        keyed as (
          select cur.*, o.name as org_name, p.on_deadline, p.allowed_methods
          from cur
          join organizations o on o.id = cur.org_id
          join region_policies p on p.organization_id = cur.org_id and p.region = cur.region and p.mode = 'required'
          where cur.deadline is not null and not cur.allowed_factor
            and (cur.exempt_until is null or cur.exempt_until <= ${now}::timestamptz)
            and cur.deadline - ${now}::timestamptz <= interval '7 days'
        ),
        ins as (
          insert into grace_reminders (user_id, organization_id, region, deadline, offset_days)
          select user_id, org_id, region, deadline, offset_days from keyed
          on conflict do nothing
          returning user_id, organization_id, region, deadline, offset_days
        ),
        moved as (
          update memberships m set next_reminder_at = case
              when cur.deadline is null or cur.allowed_factor then null
              when cur.exempt_until > ${now}::timestamptz then cur.exempt_until
              when cur.deadline - ${now}::timestamptz > interval '7 days' then cur.deadline - interval '7 days'
              when cur.offset_days = 7 then cur.deadline - interval '3 days'
              when cur.offset_days = 3 then cur.deadline - interval '1 day'
              when cur.offset_days = 1 then cur.deadline
              else null end
          -- Through the primary key (the claimed ids): joined on cur alone, PostgreSQL may hash-join
          -- the batch with a scan of the whole memberships table.
          from cur where m.id = cur.id and m.id = any (array(select id from due))
          returning m.id
        )
        -- The keys this batch inserted and every candidate, matched below: PostgreSQL estimates one
        -- row for each and joined them by a nested loop (5,000 x 5,000 comparisons a batch).
        select (select count(*) from moved)::int as n,
          coalesce((select jsonb_agg(jsonb_build_array(ins.user_id, ins.organization_id, ins.offset_days)) from ins), '[]') as inserted,
          coalesce((select jsonb_agg(jsonb_build_object(
            'userId', k.user_id, 'email', k.email, 'orgId', k.org_id, 'offsetDays', k.offset_days,
            'mailParams', jsonb_build_object('organization', k.org_name, 'region', k.region, 'deadline', k.deadline,
              'offsetDays', k.offset_days, 'methods', to_jsonb(k.allowed_methods), 'onDeadline', k.on_deadline),
            'auditDetails', jsonb_build_object('region', k.region, 'deadline', k.deadline)
          )) from keyed k), '[]') as candidates`
      const inserted = new Set(batch.inserted.map(([u, o, d]) => `${u} ${o} ${d}`))
      const claimed = batch.candidates
        .filter((c) => inserted.has(`${c.userId} ${c.orgId} ${c.offsetDays}`))
        .sort((a, b) => (a.orgId < b.orgId ? -1 : a.orgId > b.orgId ? 1 : a.userId < b.userId ? -1 : a.userId > b.userId ? 1 : 0))
      const reminders = claimed.filter((c) => c.offsetDays > 0)
      const expired = claimed.filter((c) => c.offsetDays === 0)
      const emails = await writeEmails(reminders.map((c) => ({ to: c.email, userId: c.userId, template: 'grace_reminder', params: c.mailParams })), tx)
      await recordMany(expired.map((c) => ({ action: 'policy.grace_expired', actor: worker, organizationId: c.orgId, subjectId: c.userId, details: c.auditDetails })), tx)
      return { n: batch.n, emails, expired: expired.length }
    })
    if (!res.n) break
    stats.batches++
    stats.memberships += res.n
    stats.expired += res.expired
    stats.reminders += res.emails.length
    await options.afterCommit?.(stats.batches, res.emails)
    await enqueueEmails(res.emails)
    if (res.n < batchSize) break
  }
  return stats
}
