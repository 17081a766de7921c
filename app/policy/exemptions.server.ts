/**
 * Exemptions (service accounts only, per region, reason, optional end date) and one member's
 * deadline extension. Audited; the web pages and the JSON API call these same functions. Adding
 * or lengthening an exemption and extending a deadline lower protection: they need a person's
 * fresh second factor (decision 056).
 */
import { and, asc, eq } from 'drizzle-orm'
import { z } from 'zod'
import { recordAudit, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { membershipDeadline } from './effective-policy.ts'
import { exemptionLowers, extensionLowers } from './lowering.ts'
import { requireLoweringAllowed, type ChangeAuthority } from './lowering.server.ts'

import { exemptionInput, extensionInput } from './policy.schema.ts'
import { formatUtc } from '#app/ui/time-format.ts'

export { exemptionInput, extensionInput }

const e = schema.exemptions
const u = schema.users
const m = schema.memberships

export async function listExemptions(scope: OrgScope) {
  return db
    .select({ id: e.id, userId: e.userId, email: u.email, name: u.name, region: e.region, reason: e.reason, expiresAt: e.expiresAt, createdAt: e.createdAt })
    .from(e)
    .innerJoin(u, eq(u.id, e.userId))
    .where(scope.where(e.organizationId))
    .orderBy(asc(e.region), asc(u.email))
}

/** A member by email (web form) or by id (the API's `{userId, reason, expiresAt?}`), in the region. */
async function findMember(scope: OrgScope, ref: { email?: string; userId?: string }, region: string, tx: Tx = db) {
  const [row] = await tx
    .select({ id: u.id, kind: u.kind, email: u.email, region: u.region })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, ref.userId ? eq(u.id, ref.userId) : eq(u.email, ref.email ?? ''), eq(u.region, region)))
  return row
}

/**
 * Service accounts of this organization named as reference page 002 names them (decision 071): by
 * email, or by the part before `@` when that names exactly one of them (in `region` when given).
 * `refused` lists every name that is not one (unknown, a person, or ambiguous): the caller then
 * refuses the whole change.
 */
export async function serviceAccountsByName(scope: OrgScope, names: string[], region?: string) {
  const accounts = await db
    .select({ id: u.id, email: u.email, region: u.region })
    .from(m)
    .innerJoin(u, eq(u.id, m.userId))
    .where(scope.where(m.organizationId, eq(u.kind, 'service')))
  const ids = new Map<string, string>()
  const refused: { name: string; why: string }[] = []
  for (const name of names) {
    const wanted = name.trim().toLowerCase()
    const hits = accounts.filter((a) => (!region || a.region === region) && (wanted.includes('@') ? a.email === wanted : a.email.split('@')[0] === wanted))
    if (hits.length === 1) ids.set(name, hits[0].id)
    else refused.push({ name, why: hits.length ? 'names several service accounts: use the email' : `is not a service account of this organization${region ? ` in ${region.toUpperCase()}` : ''}` })
  }
  return { ids, refused }
}

export type ExemptionRequest = { email?: string; userId?: string; region: string; reason: string; expiresAt: Date | null }

/** What adding this exemption lowers, in words, or null (it shortens or keeps an exemption, or names nobody). */
export async function exemptionLowering(scope: OrgScope, input: ExemptionRequest, now = new Date(), tx: Tx = db): Promise<{ member: NonNullable<Awaited<ReturnType<typeof findMember>>>; lowered: string | null } | null> {
  const member = await findMember(scope, input, input.region, tx)
  if (!member) return null
  const [existing] = await tx.select({ expiresAt: e.expiresAt }).from(e).where(scope.where(e.organizationId, and(eq(e.userId, member.id), eq(e.region, input.region))))
  if (!exemptionLowers(existing, input, now)) return { member, lowered: null }
  const until = input.expiresAt ? `until ${fmtDeadline(input.expiresAt)}` : 'with no end date'
  return { member, lowered: `Exemption of ${member.email} in ${input.region.toUpperCase()} ${existing ? 'lengthened' : 'added'}, ${until}` }
}

/**
 * Adds (or replaces) an exemption; pass `tx` to make it part of a larger change (the API), with
 * `loweringChecked` when that change already checked and recorded the lowering before it began.
 */
export async function addExemption(
  scope: OrgScope, input: ExemptionRequest, actor: Actor, authority: ChangeAuthority, meta?: RequestMeta, now = new Date(), outer: Tx = db, loweringChecked = false,
) {
  const field = input.userId ? 'userId' : 'email'
  const found = await exemptionLowering(scope, input, now, outer)
  if (!found) throw new DomainError('invalid_request', `No member of this organization with that ${input.userId ? 'id' : 'email'} in ${input.region.toUpperCase()}.`, field)
  const { member } = found
  if (member.kind !== 'service') {
    throw new DomainError('invalid_request', 'Only service accounts can be exempted. A person signs in interactively and can set up a factor; if they need more time, extend their deadline from the members page instead.', field)
  }
  if (input.expiresAt && input.expiresAt.getTime() <= now.getTime()) throw new DomainError('invalid_request', 'The end date must be in the future.', 'expiresAt')
  await requireLoweringAllowed(
    authority, found.lowered ? [found.lowered] : [], { actor, attempt: 'org.exemption_added', organizationId: scope.orgId, subjectId: member.id, meta, details: { region: input.region } }, now, { record: !loweringChecked },
  )
  return outer.transaction(async (tx) => {
    const [row] = await tx
      .insert(e)
      .values({ organizationId: scope.orgId, userId: member.id, region: input.region, reason: input.reason, expiresAt: input.expiresAt, createdBy: actor.id })
      .onConflictDoUpdate({ target: [e.organizationId, e.userId, e.region], set: { reason: input.reason, expiresAt: input.expiresAt, createdBy: actor.id, createdAt: now, expiryRecordedAt: null } })
      .returning()
    await recordAudit({ action: 'org.exemption_added', actor, organizationId: scope.orgId, subjectId: member.id, meta, details: { region: input.region, reason: input.reason, expiresAt: input.expiresAt } }, tx)
    return row
  })
}

export async function removeExemption(scope: OrgScope, exemptionId: string, actor: Actor, meta?: RequestMeta) {
  return db.transaction(async (tx) => {
    const [row] = await tx.delete(e).where(scope.where(e.organizationId, eq(e.id, exemptionId))).returning()
    if (!row) throw new DomainError('not_found', 'That exemption does not exist (any more).', 'id')
    await recordAudit({ action: 'org.exemption_removed', actor, organizationId: scope.orgId, subjectId: row.userId, meta, details: { region: row.region, reason: row.reason } }, tx)
    return row
  })
}


const fmtDeadline = (d: Date) => formatUtc(d, 'date')

/**
 * Extends one member's deadline in their region (replacing an earlier extension), audited. The new
 * date must be LATER than the member's current deadline under this organization's policy (the
 * computed one or an earlier extension, whichever is later: `membershipDeadline`), and the region
 * must be Required here (otherwise there is no deadline to extend). A refused date writes nothing
 * and records nothing. The membership row is locked, so two admins extending at once serialise and
 * the second is checked against the first's date.
 */
export async function extendDeadline(scope: OrgScope, input: { userId: string; deadline: Date | null; reason: string }, actor: Actor, authority: ChangeAuthority, meta?: RequestMeta, now = new Date()) {
  if (!input.deadline || input.deadline.getTime() <= now.getTime()) throw new DomainError('invalid_request', 'The new deadline must be in the future.', 'deadline')
  if (input.deadline.getTime() > now.getTime() + 365 * 86_400_000) throw new DomainError('invalid_request', 'Extend by at most a year.', 'deadline')
  const deadline = input.deadline
  const x = schema.deadlineExtensions
  const p = schema.regionPolicies
  const result = await db.transaction(async (tx) => {
    const [member] = await tx
      .select({ id: u.id, region: u.region, email: u.email, organization: schema.organizations.name, joinedAt: m.joinedAt })
      .from(m)
      .innerJoin(schema.organizations, eq(schema.organizations.id, m.organizationId))
      .innerJoin(u, eq(u.id, m.userId))
      .where(scope.where(m.organizationId, eq(m.userId, input.userId)))
      .for('update', { of: m })
    if (!member) throw new DomainError('not_found', 'That person is not a member of this organization.', 'userId')
    const [policy] = await tx.select().from(p).where(scope.where(p.organizationId, eq(p.region, member.region)))
    const [old] = await tx.select().from(x).where(scope.where(x.organizationId, and(eq(x.userId, member.id), eq(x.region, member.region))))
    const current = policy ? membershipDeadline({ ...policy, joinedAt: member.joinedAt }, old?.deadline ?? null) : null
    if (!current) {
      throw new DomainError('invalid_request', `There is no deadline to extend: this organization does not require two-factor authentication in ${member.region.toUpperCase()}.`, 'deadline')
    }
    if (deadline.getTime() <= current.getTime()) {
      throw new DomainError('invalid_request', `The new deadline must be later than the member's current deadline (${fmtDeadline(current)}). An extension can only give more time.`, 'deadline')
    }
    // Nothing is written yet (the lock is on the membership, which the refusal record does not touch).
    const lowered = extensionLowers(current, deadline) ? [`Deadline of ${member.email} in ${member.region.toUpperCase()} extended from ${fmtDeadline(current)} to ${fmtDeadline(deadline)}`] : []
    await requireLoweringAllowed(authority, lowered, { actor, attempt: 'org.deadline_extended', organizationId: scope.orgId, subjectId: member.id, meta, details: { region: member.region } }, now)
    await tx
      .insert(x)
      .values({ organizationId: scope.orgId, userId: member.id, region: member.region, deadline, reason: input.reason, grantedBy: actor.id })
      .onConflictDoUpdate({ target: [x.organizationId, x.userId, x.region], set: { deadline, reason: input.reason, grantedBy: actor.id, createdAt: now } })
    await recordAudit(
      { action: 'org.deadline_extended', actor, organizationId: scope.orgId, subjectId: member.id, meta, details: { region: member.region, deadline, previous: old?.deadline ?? null, previousEffective: current, reason: input.reason } },
      tx,
    )
    return { id: member.id, region: member.region, email: member.email, organization: member.organization, deadline }
  })
  await queueNotice({ to: result.email, userId: result.id, template: 'deadline_extended', params: { organization: result.organization, deadline: deadline.toISOString() } })
  return result
}
