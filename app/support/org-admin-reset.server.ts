/**
 * An organization admin resets the MFA of a plain member of their own organization. Only when
 * that person is a plain member in every organization and holds no platform role: anyone with
 * more power goes through support (and its two-person rule), so one admin cannot take over
 * another admin, or an account that matters in another organization.
 */
import { eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { OrgScope, Organization } from '#app/orgs/scope.server.ts'
import { enqueueNotice } from '#app/mail/queue-email.server.ts'
import { resetMfaInTx, type StaffRef } from './reset.server.ts'

export const THROUGH_SUPPORT =
  'Only Gatehouse support can reset this person: they are an owner or admin of an organization, or a platform account. Contact support with a ticket.'

/**
 * The member (scoped to this organization; undefined means 404) and whether this admin may reset
 * them. Inside a transaction the member's memberships are locked, so a promotion cannot slip in
 * between this check and the reset.
 */
export async function findResettableMember(scope: OrgScope, targetUserId: string, actorId: string, tx: Tx = db) {
  const m = schema.memberships
  const u = schema.users
  const [row] = await tx
    .select({ id: u.id, email: u.email, name: u.name, region: u.region, platformRole: u.platformRole, role: m.role })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, eq(m.userId, targetUserId)))
  if (!row) return undefined
  const rolesQuery = tx.select({ role: m.role }).from(m).where(eq(m.userId, targetUserId))
  const roles = tx === db ? await rolesQuery : await rolesQuery.for('update')
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
  const outcome = await db.transaction(async (tx) => {
    await tx.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.id, input.targetUserId)).for('update')
    const found = await findResettableMember(input.scope, input.targetUserId, input.actor.id, tx)
    if (!found) return { ok: false as const, code: 'not_found' as const, message: 'No such member in this organization.' }
    if (!found.allowed) return { ok: false as const, code: 'through_support' as const, message: THROUGH_SUPPORT }
    const done = await resetMfaInTx(
      {
        targetUserId: input.targetUserId,
        by: { kind: 'org_admin', actor: input.actor, organization: { id: input.org.id, name: input.org.name } },
        reason: input.reason,
        ticket: input.ticket,
        checks: input.checks,
        meta: input.meta,
      },
      tx,
    )
    return { ok: true as const, email: done.result.email, emailId: done.emailId }
  })
  if (!outcome.ok) return outcome
  await enqueueNotice(outcome.emailId)
  return { ok: true, email: outcome.email }
}
