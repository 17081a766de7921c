/**
 * The sweep-grace job: reminders 7, 3 and 1 days before each member's deadline, and
 * `policy.grace_expired` once per member when it passes. Set-based on the members read model
 * (decisions 076, 077, 078, 082): each membership that owes something has a `membership_reminders`
 * row, the moment its next reminder or expiry falls due (kept by a trigger whenever the membership's
 * facts change, rescheduled here first for policies saved since the last run, and moved on by this
 * sweep). One statement per batch claims the due memberships through that table's index with
 * `FOR UPDATE SKIP LOCKED` on both rows, so several workers share the work and none waits for
 * another's batch; it inserts the grace_reminders keys (ON CONFLICT DO NOTHING, so nothing is
 * sent twice even for a deadline seen before), moves each claimed row's moment to its next threshold
 * (or deletes it when nothing more is owed) and, for the keys it inserted, writes the outbound email
 * rows. The audit events of expiries go through the audit module in the same transaction. A rerun
 * with nothing due reads that index only. Mail jobs (ids only) are enqueued after commit, while the
 * next batch is claimed; a crash in between is repaired by recoverStrandedMail (decision 022).
 * Enforcement never depends on this: sign-in computes deadlines itself from the source tables.
 */
import { recordMany, systemActor } from '#app/audit/record.server.ts'
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { recoverStrandedMail } from '#app/mail/outbox.server.ts'
import { enqueueEmails } from '#app/mail/queue-email.server.ts'
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
 * as it reads it (one statement per policy, writing only the membership_reminders rows whose moment
 * changes: updated, inserted, or deleted when nothing is owed any more), and clears the mark in the
 * same statement only if the policy still has those values: a save in between leaves it marked for
 * the next run. Two workers doing this at once write the same values. A run with no marked policy
 * reads region_policies only. Returns the memberships whose moment moved.
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
      n as (
        select s.id, r.next_reminder_at as cur, member_next_reminder(
            member_deadline(pol.mode, pol.required_since, pol.grace_period_days, s.joined_at, s.extension_deadline),
            member_allowed_factor(pol.allowed_methods, s.has_totp, s.has_key), s.exempt_until) as next
        from memberships s join pol on s.organization_id = pol.organization_id and s.user_region = pol.region
        left join membership_reminders r on r.membership_id = s.id
      ),
      updated as (
        update membership_reminders r set next_reminder_at = n.next from n
        where r.membership_id = n.id and n.cur is not null and n.next is not null and n.cur <> n.next
        returning 1
      ),
      inserted as (
        insert into membership_reminders (membership_id, next_reminder_at)
        select n.id, n.next from n where n.cur is null and n.next is not null
        on conflict (membership_id) do update set next_reminder_at = excluded.next_reminder_at
        returning 1
      ),
      deleted as (
        delete from membership_reminders r using n where r.membership_id = n.id and n.cur is not null and n.next is null
        returning 1
      ),
      cleared as (
        update region_policies r set reminders_stale = false from pol
        where r.organization_id = pol.organization_id and r.region = pol.region
          and (r.mode, r.allowed_methods, r.grace_period_days, r.required_since) is not distinct from (pol.mode, pol.allowed_methods, pol.grace_period_days, pol.required_since)
        returning 1
      )
      select ((select count(*) from updated) + (select count(*) from inserted) + (select count(*) from deleted))::int as moved,
        (select count(*) from cleared)::int as cleared`
    moved += r?.moved ?? 0
  }
  return moved
}

/** A reminder key this batch inserted, its email row written (reminders) or its audit event to write (expiries). */
type Claimed = { userId: string; orgId: string; offsetDays: number; auditDetails: Record<string, unknown> }

export async function sweepGrace(options: { now?: Date; batchSize?: number; afterCommit?: (batch: number, emailIds: string[]) => Promise<void> | void } = {}): Promise<SweepStats> {
  const now = (options.now ?? new Date()).toISOString()
  // 2,000 a batch: as fast as 5,000 on the bench data, and less of the queue's garbage at once (decision 082).
  const batchSize = options.batchSize ?? 2000
  const stats: SweepStats = { batches: 0, memberships: 0, reminders: 0, expired: 0, rescheduled: 0, recovered: await recoverStrandedMail(60_000, options.now ?? new Date()) }
  const worker = systemActor('worker')
  stats.rescheduled = await rescheduleStalePolicies()
  // The previous batch's mail jobs, added to the queue while this batch is claimed (decision 082).
  let enqueued: Promise<void> = Promise.resolve()
  for (;;) {
    const res = await pg.begin(async (tx) => {
      const [batch] = await tx<{ n: number; emails: string[]; expired: Claimed[] }[]>`
        with due as (
          -- The claimed rows' own columns, as locked. Both rows are locked: the memberships row, so that
          -- a change of its facts committed meanwhile is read here and one made later waits for this
          -- batch; the schedule row, so that a row another worker has just moved on or deleted is
          -- read again (and dropped) rather than claimed a second time from this statement's snapshot.
          select m.id, m.user_id, m.user_email, m.user_region, m.organization_id, m.joined_at, m.extension_deadline,
            m.has_totp, m.has_key, m.exempt_until
          from membership_reminders r join memberships m on m.id = r.membership_id
          where r.next_reminder_at <= ${now}::timestamptz
          order by r.next_reminder_at limit ${batchSize}
          for update of r, m skip locked
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
        -- Which candidates' keys were inserted, as a column: PostgreSQL estimates one row for each CTE,
        -- and a semi join in WHERE became a nested loop (batch x batch comparisons); a sublink
        -- in the select list is a hashed subplan, one probe a row.
        sent as (
          select k.*, (k.user_id, k.org_id, k.offset_days) in (select user_id, organization_id, offset_days from ins) as inserted
          from keyed k
        ),
        -- The rows writeEmails would write (decision 082), in this statement rather than a second round trip.
        emails as (
          insert into outbound_emails (user_id, to_address, template, params)
          select s.user_id, s.email, 'grace_reminder', jsonb_build_object('organization', s.org_name, 'region', s.region,
            'deadline', s.deadline, 'offsetDays', s.offset_days, 'methods', to_jsonb(s.allowed_methods), 'onDeadline', s.on_deadline)
          from sent s where s.inserted and s.offset_days > 0
          order by s.org_id, s.user_id
          returning id
        ),
        nexts as (
          select cur.id, case
              when cur.deadline is null or cur.allowed_factor then null
              when cur.exempt_until > ${now}::timestamptz then cur.exempt_until
              when cur.deadline - ${now}::timestamptz > interval '7 days' then cur.deadline - interval '7 days'
              when cur.offset_days = 7 then cur.deadline - interval '3 days'
              when cur.offset_days = 3 then cur.deadline - interval '1 day'
              when cur.offset_days = 1 then cur.deadline
              else null end as next
          from cur
        ),
        -- Through the primary key (the claimed ids): joined on the CTE alone, PostgreSQL may hash-join
        -- the batch with a scan of the whole table.
        moved as (
          update membership_reminders r set next_reminder_at = n.next
          from nexts n where r.membership_id = n.id and n.next is not null
            and r.membership_id = any (array(select id from nexts where next is not null))
          returning 1
        ),
        done as (
          delete from membership_reminders r where r.membership_id = any (array(select id from nexts where next is null))
          returning 1
        )
        select ((select count(*) from moved) + (select count(*) from done))::int as n,
          coalesce((select array_agg(id::text) from emails), '{}') as emails,
          coalesce((select jsonb_agg(jsonb_build_object('userId', s.user_id, 'orgId', s.org_id, 'offsetDays', s.offset_days,
            'auditDetails', jsonb_build_object('region', s.region, 'deadline', s.deadline)) order by s.org_id, s.user_id)
            from sent s where s.inserted and s.offset_days = 0), '[]') as expired`
      await recordMany(batch.expired.map((c) => ({ action: 'policy.grace_expired', actor: worker, organizationId: c.orgId, subjectId: c.userId, details: c.auditDetails })), tx)
      return { n: batch.n, emails: batch.emails, expired: batch.expired.length }
    })
    // A queue that failed for the previous batch fails the run (its rows are marked for recovery);
    // this batch's rows stay 'queued' without a job until recoverStrandedMail, as after a crash.
    await enqueued
    if (!res.n) break
    stats.batches++
    stats.memberships += res.n
    stats.expired += res.expired
    stats.reminders += res.emails.length
    await options.afterCommit?.(stats.batches, res.emails)
    enqueued = enqueueEmails(res.emails)
    enqueued.catch(() => {}) // awaited above or below; not an unhandled rejection meanwhile
    if (res.n < batchSize) break
  }
  await enqueued
  return stats
}
