/**
 * Compliance of one organization per region (its own policy alone), from the members read model
 * (decisions 076, 078): the status predicate over the stored columns and the region's policy row,
 * no users row or factor table read.
 */
import { sql as pg } from '#db/client.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { asDate, policyJoin, storedDeadline, storedStatus, storedStatusIs } from './member-status.server.ts'

export type RegionCompliance = { region: string; mode: string; compliant: number; in_grace: number; overdue: number; exempt: number; total: number }

export async function complianceByRegion(scope: OrgScope, now = new Date()): Promise<RegionCompliance[]> {
  const rows = await pg<{ region: string; status: string; n: number }[]>`
    select m.user_region as region, ${storedStatus(now)} as status, count(*)::int as n
    from memberships m ${policyJoin}
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

/** The next deadlines of members still without an allowed factor (soonest first): one pass over the organization's rows. */
export async function nextDeadlines(scope: OrgScope, limit = 10, now = new Date()) {
  const rows = await pg<{ user_id: string; name: string; email: string; region: string; deadline: string }[]>`
    select m.user_id, m.user_name as name, m.user_email as email, m.user_region as region, ${storedDeadline} as deadline
    from memberships m ${policyJoin}
    where m.organization_id = ${scope.orgId} and ${storedStatusIs('in_grace', now)}
    order by 5, m.id limit ${limit}`
  return rows.map((r) => ({ userId: r.user_id, name: r.name, email: r.email, region: r.region, deadline: asDate(r.deadline)! }))
}
