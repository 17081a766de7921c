import { asc, count, eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import type { OrgScope } from './scope.server.ts'

export async function listUserOrganizations(userId: string) {
  const o = schema.organizations
  const m = schema.memberships
  return db
    .select({ id: o.id, slug: o.slug, name: o.name, role: m.role })
    .from(m)
    .innerJoin(o, eq(o.id, m.organizationId))
    .where(eq(m.userId, userId))
    .orderBy(asc(o.name))
}

/** Member counts per region of one organization. */
export async function countMembersByRegion(scope: OrgScope) {
  const m = schema.memberships
  const u = schema.users
  return db
    .select({ region: u.region, members: count() })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId))
    .groupBy(u.region)
}

export async function listOrgRegions(scope: OrgScope) {
  const p = schema.regionPolicies
  return db.select().from(p).where(scope.where(p.organizationId)).orderBy(asc(p.region))
}

