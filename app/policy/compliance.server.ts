/** Compliance of one organization per region (its own policy alone), computed in SQL. */
import { sql as pg } from '#db/client.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { asDate, factorJoins, joinedPendingDeadline, joinedStatus } from './member-status.server.ts'

export type RegionCompliance = { region: string; mode: string; compliant: number; in_grace: number; overdue: number; exempt: number; total: number }

export async function complianceByRegion(scope: OrgScope, now = new Date()): Promise<RegionCompliance[]> {
  const rows = await pg<{ region: string; status: string; n: number }[]>`
    select u.region, ${joinedStatus(now)} as status, count(*)::int as n
    from memberships m join users u on u.id = m.user_id
    left join region_policies p on p.organization_id = m.organization_id and p.region = u.region
    ${factorJoins}
    where m.organization_id = ${scope.orgId}
    group by 1, 2`
  const policies = await pg<{ region: string; mode: string }[]>`select region, mode from region_policies where organization_id = ${scope.orgId} order by region`
  const regions = new Map<string, RegionCompliance>()
  for (const p of policies) regions.set(p.region, { region: p.region, mode: p.mode, compliant: 0, in_grace: 0, overdue: 0, exempt: 0, total: 0 })
  for (const r of rows) {
    const c = regions.get(r.region) ?? regions.set(r.region, { region: r.region, mode: 'none', compliant: 0, in_grace: 0, overdue: 0, exempt: 0, total: 0 }).get(r.region)!
    c[r.status as 'compliant'] += r.n
    c.total += r.n
  }
  return [...regions.values()]
}

/** The next deadlines of members still without an allowed factor (soonest first). */
export async function nextDeadlines(scope: OrgScope, limit = 10, now = new Date()) {
  const rows = await pg<{ user_id: string; name: string; email: string; region: string; deadline: string }[]>`
    select * from (
      select u.id as user_id, u.name, u.email, u.region, ${joinedPendingDeadline(now)} as deadline
      from memberships m join users u on u.id = m.user_id
      join region_policies p on p.organization_id = m.organization_id and p.region = u.region and p.mode = 'required'
      ${factorJoins}
      where m.organization_id = ${scope.orgId}) r
    where deadline > ${now.toISOString()}::timestamptz
    order by deadline limit ${limit}`
  return rows.map((r) => ({ userId: r.user_id, name: r.name, email: r.email, region: r.region, deadline: asDate(r.deadline)! }))
}
