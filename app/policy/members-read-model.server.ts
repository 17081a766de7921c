/**
 * Checks and repairs the members read model (decisions 076, 078): the columns kept beside each
 * membership by the database's triggers (db/migrations/0010_members_read_model.sql, 0014) against the
 * ORACLE, the status computed from the source tables (`joinedStatus`, `joinedPendingDeadline` and
 * their parts in member-status.server.ts). Used by `gatehouse verify-members` and the property test.
 * A repair runs the same function as the triggers (memberships_refresh) over every membership.
 */
import { recordAudit, type Actor } from '#app/audit/record.server.ts'
import { sql } from 'drizzle-orm'
import { db, sql as pg } from '#db/client.ts'
import type { PendingQuery } from 'postgres'
import { factorJoins, joinedPendingDeadline, joinedStatus, policyJoin, storedPendingDeadline, storedStatus } from './member-status.server.ts'

/**
 * A read-model expression of `m` under the policy of `m`'s STORED region (its own `p`, which hides
 * the oracle's `p`, joined on the user's actual region): what the members page would show.
 */
const stored = (expr: PendingQuery<any>) => pg`(select ${expr} from (select) one ${policyJoin})`

/** The read-model fields a membership can disagree on. */
export const DRIFT_FIELDS = ['user', 'factors', 'extension', 'exempt_until', 'status', 'pending_deadline'] as const
export type DriftField = (typeof DRIFT_FIELDS)[number]

export type MemberDrift = { membershipId: string; organizationId: string; organizationSlug: string; userId: string; fields: DriftField[] }
export type DriftReport = {
  /** Memberships checked. */
  checked: number
  /** Memberships whose stored columns differ from the oracle. */
  drifted: number
  byOrganization: { organizationId: string; organizationSlug: string; drifted: number }[]
  /** The first few, with what differs. */
  first: MemberDrift[]
}

/**
 * Every membership (or one organization's) compared with the oracle at `now`: the member's own
 * facts, each stored column, and the status and pending deadline they give.
 */
export async function findMemberDrift(options: { now?: Date; organizationId?: string; show?: number } = {}): Promise<DriftReport> {
  const now = options.now ?? new Date()
  const rows = await pg<{ membership_id: string; organization_id: string; slug: string; user_id: string; fields: DriftField[] }[]>`
    select * from (
      select m.id as membership_id, m.organization_id, o.slug, m.user_id,
        array_remove(array[
          case when (m.user_name, m.user_email, m.user_kind, m.user_region) is distinct from (u.name, u.email, u.kind, u.region) then 'user' end,
          case when (m.has_totp, m.has_key) is distinct from (t.id is not null, w.user_id is not null) then 'factors' end,
          case when m.extension_deadline is distinct from x.deadline then 'extension' end,
          case when m.exempt_until is distinct from (case when u.kind = 'service' and e.id is not null then coalesce(e.expires_at, 'infinity') end) then 'exempt_until' end,
          case when ${stored(storedStatus(now))} is distinct from ${joinedStatus(now)} then 'status' end,
          case when ${stored(storedPendingDeadline(now))} is distinct from ${joinedPendingDeadline(now)} then 'pending_deadline' end
        ], null) as fields
      from memberships m
      join users u on u.id = m.user_id
      join organizations o on o.id = m.organization_id
      left join region_policies p on p.organization_id = m.organization_id and p.region = u.region
      ${factorJoins}
      ${options.organizationId ? pg`where m.organization_id = ${options.organizationId}` : pg``}
    ) d
    where cardinality(fields) > 0
    order by slug, membership_id`
  const [{ n }] = await pg<{ n: number }[]>`select count(*)::int as n from memberships ${options.organizationId ? pg`where organization_id = ${options.organizationId}` : pg``}`
  const byOrg = new Map<string, { organizationId: string; organizationSlug: string; drifted: number }>()
  for (const r of rows) {
    const o = byOrg.get(r.organization_id) ?? byOrg.set(r.organization_id, { organizationId: r.organization_id, organizationSlug: r.slug, drifted: 0 }).get(r.organization_id)!
    o.drifted++
  }
  return {
    checked: n,
    drifted: rows.length,
    byOrganization: [...byOrg.values()],
    first: rows.slice(0, options.show ?? 10).map((r) => ({ membershipId: r.membership_id, organizationId: r.organization_id, organizationSlug: r.slug, userId: r.user_id, fields: r.fields })),
  }
}

export type RepairReport = DriftReport & { repaired: number; after: number | null }

/**
 * Reports drift and, unless `dryRun`, repairs it with memberships_refresh over every membership,
 * records platform.members_repaired (what drifted, per organization) and checks again (`after`:
 * memberships still drifting, 0 when repaired). Nothing is written or recorded when nothing drifted.
 */
export async function verifyMembers(options: { dryRun: boolean; actor: Actor; now?: Date; show?: number }): Promise<RepairReport> {
  const report = await findMemberDrift({ now: options.now, show: options.show })
  if (options.dryRun || report.drifted === 0) return { ...report, repaired: 0, after: null }
  const repaired = await db.transaction(async (tx) => {
    const result = await tx.execute<{ repaired: number }>(sql`select memberships_refresh()::int as repaired`)
    const n = Number(result[0].repaired)
    await recordAudit({
      action: 'platform.members_repaired', actor: options.actor,
      details: { drifted: report.drifted, checked: report.checked, repaired: n, byOrganization: report.byOrganization, first: report.first },
    }, tx)
    return n
  })
  const after = await findMemberDrift({ now: options.now, show: 0 })
  return { ...report, repaired, after: after.drifted }
}
