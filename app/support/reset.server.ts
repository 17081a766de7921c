/**
 * The one MFA reset, used by support (directly or after a second person's approval), by
 * organization admins and by the operator CLI. In one transaction it removes every factor,
 * recovery code and trusted device, ends every session, marks the account so that the next
 * sign-in asks for an email code, writes the notice (with a "freeze my account" link) and the
 * audit event. The notice is queued after the commit (writeEmail, then enqueueNotice).
 */
import { and, eq, inArray, isNull, sql } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, systemActor, NO_REQUEST, type RequestMeta } from '#app/audit/record.server.ts'
import { endOtherSessions } from '#app/auth/session.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { DomainError } from '#app/errors.ts'
import { enqueueNotice, writeEmail } from '#app/mail/queue-email.server.ts'

/** The fixed list of identity checks a person resetting someone else ticks (at least MIN_CHECKS). */
export const IDENTITY_CHECKS = [
  { id: 'video_id', label: 'Video call: the face matched a government photo ID' },
  { id: 'callback', label: 'Called back on the phone number already on file' },
  { id: 'manager', label: "The member's manager or organization admin confirmed the request in writing" },
  { id: 'email_reply', label: 'The member replied from the email address on the account' },
  { id: 'account_details', label: 'The member correctly described recent activity on the account' },
] as const
export type IdentityCheck = (typeof IDENTITY_CHECKS)[number]['id']
export const MIN_CHECKS = 2
export const REASON_MIN = 10
export const REASON_MAX = 500
export const TICKET_MAX = 100

/** A freeze link in the notice works this long. */
export const FREEZE_TTL_SECONDS = 7 * 24 * 3600

export type StaffRef = { id: string; email: string }
export type ResetBy =
  | { kind: 'support'; actor: StaffRef; approvedBy?: StaffRef; requestId?: string }
  | { kind: 'org_admin'; actor: StaffRef; organization: { id: string; name: string } }
  | { kind: 'cli' }

export type ResetInput = {
  targetUserId: string
  by: ResetBy
  reason: string
  ticket?: string | null
  checks?: readonly string[]
  meta?: RequestMeta
}

export type ResetResult = {
  userId: string
  email: string
  removed: { totp: number; webauthn: number; recoveryCodes: number; trustedDevices: number; sessions: number }
}

export const noSuchAccount = () => new DomainError('not_found', 'No such account')

/**
 * What each kind of reset must carry: a reason always; a ticket for support (optional for an
 * organization admin, who may have no ticket system, and for the CLI's emergency path); the
 * identity checklist whenever a person resets someone else through a console.
 */
export function resetInputErrors(kind: ResetBy['kind'], input: { reason?: string | null; ticket?: string | null; checks?: readonly string[] | null }): Record<string, string> {
  const errors: Record<string, string> = {}
  const reason = (input.reason ?? '').trim()
  if (reason.length < REASON_MIN) errors.reason = `Give a reason of at least ${REASON_MIN} characters`
  else if (reason.length > REASON_MAX) errors.reason = `Keep the reason under ${REASON_MAX} characters`
  const ticket = (input.ticket ?? '').trim()
  if (kind === 'support' && !ticket) errors.ticket = 'Give the ticket reference'
  else if (ticket.length > TICKET_MAX) errors.ticket = `Keep the ticket reference under ${TICKET_MAX} characters`
  if (kind !== 'cli') {
    const known = new Set<string>(IDENTITY_CHECKS.map((c) => c.id))
    const checks = [...new Set(input.checks ?? [])]
    if (checks.some((c) => !known.has(c))) errors.checks = 'Tick checks from the list only'
    else if (checks.length < MIN_CHECKS) errors.checks = `Tick at least ${MIN_CHECKS} identity checks you have done`
  }
  return errors
}

/** Throws when the input breaks a rule of resetInputErrors; forms check those first, to show them field by field. */
export function requireResetInput(kind: ResetBy['kind'], input: Parameters<typeof resetInputErrors>[1]): void {
  const errors = resetInputErrors(kind, input)
  const fields = Object.keys(errors)
  if (fields.length) throw new DomainError('invalid_request', Object.values(errors).join(' '), fields.length === 1 ? fields[0] : undefined)
}

const ACTION = { support: 'auth.mfa_reset_by_support', org_admin: 'auth.mfa_reset_by_org_admin', cli: 'auth.totp_disabled_by_admin' } as const

/** The reset inside a caller's transaction; returns the notice to dispatch after the commit. */
export async function resetMfaInTx(input: ResetInput, tx: Tx): Promise<{ result: ResetResult; emailId: string }> {
  requireResetInput(input.by.kind, input)
  const u = schema.users
  // Row lock: two resets (or a reset and an enrollment) of one account do not interleave.
  const [target] = await tx.select().from(u).where(eq(u.id, input.targetUserId)).for('update')
  if (!target) throw noSuchAccount()
  const userId = target.id

  const totp = await tx.delete(schema.totpFactors).where(eq(schema.totpFactors.userId, userId)).returning({ id: schema.totpFactors.id })
  const webauthn = await tx.delete(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, userId)).returning({ id: schema.webauthnCredentials.id })
  const codes = await tx.delete(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, userId)).returning({ usedAt: schema.recoveryCodes.usedAt })
  const devices = await tx.delete(schema.trustedDevices).where(eq(schema.trustedDevices.userId, userId)).returning({ id: schema.trustedDevices.id })
  // Whoever resets, the member has no session to keep: all end, API keys stay (decision 061).
  const resetActor = input.by.kind === 'cli' ? systemActor('cli') : { id: input.by.actor.id, label: input.by.actor.email }
  const sessions = await endOtherSessions({ user: target, keep: null, reason: 'mfa_reset', actor: resetActor, meta: input.meta }, tx)
  // Half-finished flows (a pending sign-in, a factor being set up, a step-up) die with the factors.
  const v = schema.verifications
  await tx
    .update(v)
    .set({ consumedAt: sql`now()` })
    .where(and(eq(v.userId, userId), isNull(v.consumedAt), inArray(v.purpose, ['login', 'email_code', 'step_up', 'totp_setup', 'webauthn_register', 'webauthn_login'])))
  await tx.update(u).set({ mfaEnabledAt: null, preferredMethod: null, mfaResetAt: sql`now()` }).where(eq(u.id, userId))

  const { verification } = await createVerification({ purpose: 'freeze', userId, ttlSeconds: FREEZE_TTL_SECONDS, maxAttempts: 5, payload: { via: 'reset_notice' } }, tx)
  const emailId = await writeEmail({
    to: target.email,
    template: 'mfa_reset',
    userId,
    verificationId: verification.id,
    params: {
      region: target.region,
      by: input.by.kind,
      orgName: input.by.kind === 'org_admin' ? input.by.organization.name : null,
      at: new Date().toISOString(),
    },
  }, tx)

  const removed = {
    totp: totp.length,
    webauthn: webauthn.length,
    recoveryCodes: codes.filter((c) => !c.usedAt).length,
    trustedDevices: devices.length,
    sessions,
  }
  const by = input.by
  await recordAudit(
    {
      action: ACTION[by.kind],
      actor: resetActor,
      subjectId: userId,
      organizationId: by.kind === 'org_admin' ? by.organization.id : null,
      meta: input.meta ?? NO_REQUEST,
      details: {
        reason: input.reason.trim(),
        ticket: input.ticket?.trim() || null,
        checks: [...new Set(input.checks ?? [])],
        removed,
        ...(by.kind === 'support' && by.requestId ? { requestId: by.requestId, approvedBy: by.approvedBy?.email ?? null } : {}),
      },
    },
    tx,
  )
  return { result: { userId, email: target.email, removed }, emailId }
}

/** The reset in its own transaction, then the notice. */
export async function resetMfa(input: ResetInput): Promise<ResetResult & { noticeQueued: boolean }> {
  const { result, emailId } = await db.transaction((tx) => resetMfaInTx(input, tx))
  const noticeQueued = await enqueueNotice(emailId)
  return { ...result, noticeQueued }
}

/** The window after losing an owner or admin role during which the two-person rule still applies (decision 057). */
export const PRIVILEGE_MEMORY_DAYS = 30

/**
 * Why this account may be reset or unlocked only under the two-person rule, or null: a platform
 * account (support, superadmin), an owner or admin of any organization now, or one in the last 30
 * days (users.privileged_until, kept by a trigger on memberships, decision 057).
 */
export async function approvalNeededFor(targetUserId: string, tx: Tx = db): Promise<{ kind: 'platform' | 'current' | 'recent'; why: string } | null> {
  const [target] = await tx
    .select({ platformRole: schema.users.platformRole, recent: sql<boolean>`coalesce(${schema.users.privilegedUntil} > now(), false)` })
    .from(schema.users)
    .where(eq(schema.users.id, targetUserId))
  if (!target) throw noSuchAccount()
  if (target.platformRole !== 'none') return { kind: 'platform', why: `a ${target.platformRole} account` }
  const m = schema.memberships
  const o = schema.organizations
  const [privileged] = await tx
    .select({ role: m.role, org: o.name })
    .from(m)
    .innerJoin(o, eq(o.id, m.organizationId))
    .where(and(eq(m.userId, targetUserId), inArray(m.role, ['owner', 'admin'])))
    .limit(1)
  if (privileged) return { kind: 'current', why: `${privileged.role} of ${privileged.org}` }
  return target.recent ? { kind: 'recent', why: `an owner or admin of an organization in the last ${PRIVILEGE_MEMORY_DAYS} days` } : null
}
