/**
 * An organization admin resets the MFA of a plain member of their own organization. Only when
 * that person is a plain member in every organization and holds no platform role: anyone with
 * more power goes through support (and its two-person rule), so one admin cannot take over
 * another admin, or an account that matters in another organization.
 */
import { eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { OrgScope, Organization } from '#app/orgs/scope.server.ts'
import { resetMfa, type StaffRef } from './reset.server.ts'

export const THROUGH_SUPPORT =
  'Only Gatehouse support can reset this person: they are an owner or admin of an organization, or a platform account. Contact support with a ticket.'

/** The member (scoped to this organization; undefined means 404) and whether this admin may reset them. */
export async function findResettableMember(scope: OrgScope, targetUserId: string, actorId: string) {
  const m = schema.memberships
  const u = schema.users
  const [row] = await db
    .select({ id: u.id, email: u.email, name: u.name, region: u.region, platformRole: u.platformRole, role: m.role })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, eq(m.userId, targetUserId)))
  if (!row) return undefined
  const roles = await db.select({ role: m.role }).from(m).where(eq(m.userId, targetUserId))
  const plainEverywhere = row.platformRole === 'none' && roles.every((r) => r.role === 'member')
  const allowed = plainEverywhere && row.id !== actorId
  return { member: row, allowed, why: allowed ? null : THROUGH_SUPPORT }
}

export type OrgAdminResetOutcome = { ok: true; email: string } | { ok: false; code: 'not_found' | 'through_support'; message: string }

export async function orgAdminReset(input: {
  actor: StaffRef
  org: Pick<Organization, 'id' | 'name'>
  scope: OrgScope
  targetUserId: string
  reason: string
  ticket?: string | null
  checks: readonly string[]
  meta: RequestMeta
}): Promise<OrgAdminResetOutcome> {
  const found = await findResettableMember(input.scope, input.targetUserId, input.actor.id)
  if (!found) return { ok: false, code: 'not_found', message: 'No such member in this organization.' }
  if (!found.allowed) return { ok: false, code: 'through_support', message: THROUGH_SUPPORT }
  const result = await resetMfa({
    targetUserId: input.targetUserId,
    by: { kind: 'org_admin', actor: input.actor, organization: { id: input.org.id, name: input.org.name } },
    reason: input.reason,
    ticket: input.ticket,
    checks: input.checks,
    meta: input.meta,
  })
  return { ok: true, email: result.email }
}

