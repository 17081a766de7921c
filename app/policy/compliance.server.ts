/**
 * Compliance of one organization per region (its own policy alone), from the members read model
 * (decisions 076, 078): the status predicate over the stored columns and the region's policy row,
 * no users row or factor table read.
 */
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { asDate, policyJoin, readUnderPolicies, storedDeadline, storedStatusIsUnder, storedStatusUnder, type Status } from './member-status.server.ts'

export type RegionCompliance = { region: string; mode: string; compliant: number; in_grace: number; overdue: number; exempt: number; total: number }

export async function complianceByRegion(scope: OrgScope, now = new Date()): Promise<RegionCompliance[]> {
  return readUnderPolicies(scope.orgId, async (tx, policies) => {
    // One scan of the organization's facts, with the policies bound (decision 085): no policy row is
    // joined per member.
    const rows = await tx<{ region: string; status: Status; n: number }[]>`
      select m.user_region as region, ${storedStatusUnder(now, policies)} as status, count(*)::int as n
      from memberships m where m.organization_id = ${scope.orgId}
      group by 1, 2`
    const regions = new Map<string, RegionCompliance>()
    for (const p of policies) regions.set(p.region, { region: p.region, mode: p.mode, compliant: 0, in_grace: 0, overdue: 0, exempt: 0, total: 0 })
    for (const r of rows) {
      const c = regions.get(r.region) ?? regions.set(r.region, { region: r.region, mode: 'none', compliant: 0, in_grace: 0, overdue: 0, exempt: 0, total: 0 }).get(r.region)!
      c[r.status] += r.n
      c.total += r.n
    }
    return [...regions.values()]
  })
}

/** The next deadlines of members still without an allowed factor (soonest first). */
export async function nextDeadlines(scope: OrgScope, limit = 10, now = new Date()) {
  // The soonest few from the facts index alone (index-only), then their names and addresses.
  const rows = await readUnderPolicies(scope.orgId, (tx, policies) => tx<{ user_id: string; name: string; email: string; region: string; deadline: string }[]>`
    select m.user_id, m.user_name as name, m.user_email as email, m.user_region as region, d.deadline
    from (
      select m.id, ${storedDeadline} as deadline from memberships m ${policyJoin}
      where m.organization_id = ${scope.orgId} and ${storedStatusIsUnder('in_grace', now, policies)}
      order by 2, m.id limit ${limit}
    ) d join memberships m on m.id = d.id
    order by d.deadline, d.id`)
  return rows.map((r) => ({ userId: r.user_id, name: r.name, email: r.email, region: r.region, deadline: asDate(r.deadline)! }))
}
