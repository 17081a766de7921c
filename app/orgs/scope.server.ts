/**
 * Organization scoping, in one place: every query of an organization's data takes its
 * condition from here, and an organization the caller does not belong to answers 404.
 */
import { and, eq, type SQL } from 'drizzle-orm'
import type { PgColumn } from 'drizzle-orm/pg-core'
import { db, schema } from '#db/client.ts'

export type Organization = typeof schema.organizations.$inferSelect
export type Membership = typeof schema.memberships.$inferSelect
export type OrgRole = (typeof schema.orgRole.enumValues)[number]

const RANK: Record<OrgRole, number> = { member: 0, admin: 1, owner: 2 }
export const roleAtLeast = (role: OrgRole, needed: OrgRole) => RANK[role] >= RANK[needed]

/** The scope every organization-scoped query builds on. */
export function orgScope(org: Pick<Organization, 'id'>) {
  return {
    orgId: org.id,
    /** `where` condition for a table with an organization_id column, and-ed with more. */
    where: (column: PgColumn, ...more: (SQL | undefined)[]) => and(eq(column, org.id), ...more),
  }
}
export type OrgScope = ReturnType<typeof orgScope>

/** The organization (by slug or id) and the user's membership in it, or undefined. */
export async function findMembership(userId: string, orgRef: { slug: string } | { id: string }) {
  const o = schema.organizations
  const m = schema.memberships
  const [row] = await db
    .select({ org: o, membership: m })
    .from(o)
    .innerJoin(m, and(eq(m.organizationId, o.id), eq(m.userId, userId)))
    .where('slug' in orgRef ? eq(o.slug, orgRef.slug) : eq(o.id, orgRef.id))
  return row
}
