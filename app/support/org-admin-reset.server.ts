/**
 * An organization admin resets the MFA of a plain member of their own organization. Only when
 * that person is a plain member in every organization, has been for 30 days, and holds no
 * platform role: anyone with more power goes through support (and its two-person rule), so one
 * admin cannot take over another admin (not even by having them demoted first, decision 057), or
 * an account that matters in another organization. Nobody resets themselves here.
 */
import { eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { refuseChange, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import type { OrgScope, Organization } from '#app/orgs/scope.server.ts'
import { enqueueNotice } from '#app/mail/queue-email.server.ts'
import { approvalNeededFor, PRIVILEGE_MEMORY_DAYS, resetMfaInTx, type StaffRef } from './reset.server.ts'

export const THROUGH_SUPPORT =
  'Only Gatehouse support can reset this person: they are an owner or admin of an organization, or a platform account. Contact support with a ticket.'
export const RECENTLY_PRIVILEGED =
  `This person was an admin or owner in the last ${PRIVILEGE_MEMORY_DAYS} days: ask support to reset them (a second support person must approve it).`
export const NOT_YOURSELF = 'You cannot reset your own two-factor authentication here. Ask Gatehouse support.'

/**
 * The member (scoped to this organization; undefined means 404) and, when this admin may not
 * reset them, the refusal. Inside a transaction the member's memberships are locked, so a
 * promotion cannot slip in between this check and the reset.
 */
export async function findResettableMember(scope: OrgScope, targetUserId: string, actorId: string, tx: Tx = db) {
  const m = schema.memberships
  const u = schema.users
  const [row] = await tx
    .select({ id: u.id, email: u.email, name: u.name, region: u.region, role: m.role })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, eq(m.userId, targetUserId)))
  if (!row) return undefined
  const rolesQuery = tx.select({ role: m.role }).from(m).where(eq(m.userId, targetUserId))
  if (tx !== db) await rolesQuery.for('update')
  const refusal = row.id === actorId ? new DomainError('forbidden', NOT_YOURSELF) : await privilegeRefusal(targetUserId, tx)
  return { member: row, allowed: !refusal, why: refusal?.message ?? null, refusal }
}

async function privilegeRefusal(targetUserId: string, tx: Tx): Promise<DomainError | null> {
  const privilege = await approvalNeededFor(targetUserId, tx)
  if (!privilege) return null
  return new DomainError('two_person_required', privilege.kind === 'recent' ? RECENTLY_PRIVILEGED : THROUGH_SUPPORT)
}

/**
 * Throws DomainError (two_person_required, forbidden), audited as security.change_refused, when this
 * admin may not reset this member; not_found when they are no member here.
 */
export async function orgAdminReset(input: {
  actor: StaffRef
  org: Pick<Organization, 'id' | 'name'>
  scope: OrgScope
  targetUserId: string
  reason: string
  ticket?: string | null
  checks: readonly string[]
  meta: RequestMeta
}): Promise<{ email: string }> {
  const outcome = await db.transaction(async (tx) => {
    // Memberships are locked before the account row (resetMfaInTx), the order a demotion takes
    // (its trigger updates users.privileged_until), so the two wait for each other, never deadlock.
    const found = await findResettableMember(input.scope, input.targetUserId, input.actor.id, tx)
    if (!found) throw new DomainError('not_found', 'No such member in this organization.')
    if (found.refusal) return { ok: false as const, refusal: found.refusal }
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
  if (!outcome.ok) {
    // Recorded after the transaction: it wrote nothing, and its locks are released.
    return refuseChange(outcome.refusal, { actor: { id: input.actor.id, label: input.actor.email }, attempt: 'auth.mfa_reset_by_org_admin', organizationId: input.org.id, subjectId: input.targetUserId, meta: input.meta })
  }
  await enqueueNotice(outcome.emailId)
  return { email: outcome.email }
}
