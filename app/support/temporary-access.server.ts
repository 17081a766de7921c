/**
 * Temporary access codes (decision 070): instead of a reset that wipes every factor, support (or an
 * organization admin, for a plain member of their organization) gives a member who lost a phone or
 * a key a code that signs them in once, to add a new app or key. The same rules as a reset: the
 * identity checklist, a reason, a ticket (support), the two-person rule for owners, admins (now or
 * in the last 30 days) and platform accounts, the member emailed with a "freeze my account" link,
 * audited (`auth.temporary_access_issued`, `_used`, `_revoked`). The code is random (80 bits),
 * valid 1 to 24 hours, one use, shown once to whoever issued it and stored as a keyed hash; a
 * member has one live code at most (a new one revokes the earlier). It touches no factor, recovery
 * code, device or session. Under the two-person rule the request waits at Approvals; once
 * approved, the person who asked issues the code (so it is shown to them, who talks to the member).
 */
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, refuseChange, NO_REQUEST, type RequestMeta } from '#app/audit/record.server.ts'
import { createVerification, mintCode } from '#app/auth/verification.server.ts'
import { DomainError } from '#app/errors.ts'
import { enqueueNotice, writeEmail } from '#app/mail/queue-email.server.ts'
import { formatAccessCode, generateAccessCode } from '#app/mfa/temporary-access.server.ts'
import type { OrgScope, Organization } from '#app/orgs/scope.server.ts'
import { ACCESS_CODE_ACTION, createRequest, refuseOwnAccount } from './approvals.server.ts'
import { enqueueStaffNotices } from './staff-notices.server.ts'
import { findResettableMember } from './org-admin-reset.server.ts'
import { approvalNeededFor, FREEZE_TTL_SECONDS, noSuchAccount, requireResetInput, type ResetBy, type StaffRef } from './reset.server.ts'

export const ACCESS_CODE_MIN_HOURS = 1
export const ACCESS_CODE_MAX_HOURS = 24
/** Long enough for the member to reach a computer after the call, short enough to matter little if it leaks. */
export const ACCESS_CODE_DEFAULT_HOURS = 4

export type IssuedBy = Extract<ResetBy, { kind: 'support' | 'org_admin' }>

export type IssueInput = {
  targetUserId: string
  reason: string
  ticket?: string | null
  checks: readonly string[]
  /** 1 to 24; ACCESS_CODE_DEFAULT_HOURS when not given. */
  validHours?: number | null
  meta?: RequestMeta
}

/** The code, shown once: never stored, logged or put in a job. */
export type IssuedCode = { id: string; code: string; expiresAt: Date; email: string; noticeQueued: boolean }

export function validHoursError(hours: number | null | undefined): string | null {
  if (hours === undefined || hours === null) return null
  if (!Number.isInteger(hours) || hours < ACCESS_CODE_MIN_HOURS || hours > ACCESS_CODE_MAX_HOURS) return `Choose a validity of ${ACCESS_CODE_MIN_HOURS} to ${ACCESS_CODE_MAX_HOURS} whole hours`
  return null
}

function requireIssueInput(kind: IssuedBy['kind'], input: IssueInput) {
  requireResetInput(kind, input)
  const hours = validHoursError(input.validHours)
  if (hours) throw new DomainError('invalid_request', hours, 'validHours')
}

const v = schema.verifications
const liveCodes = (userId: string) => and(eq(v.purpose, 'temporary_access'), eq(v.userId, userId), isNull(v.consumedAt), gt(v.expiresAt, sql`now()`))
const actorOf = (by: IssuedBy) => ({ id: by.actor.id, label: by.actor.email })

/** Revokes the member's live code inside `tx` (audited); the number revoked (0 or 1). */
async function revokeLive(input: { userId: string; actor: { id: string | null; label: string }; why: string; organizationId?: string | null; meta?: RequestMeta }, tx: Tx): Promise<number> {
  const revoked = await tx
    .update(v)
    .set({ consumedAt: sql`now()`, payload: sql`${v.payload} || ${JSON.stringify({ revokedAt: new Date().toISOString(), revokedBy: input.actor.label, revokedWhy: input.why })}::jsonb` })
    .where(liveCodes(input.userId))
    .returning({ id: v.id })
  for (const row of revoked) {
    await recordAudit(
      { action: 'auth.temporary_access_revoked', actor: input.actor, subjectId: input.userId, organizationId: input.organizationId ?? null, meta: input.meta ?? NO_REQUEST, details: { accessCodeId: row.id, why: input.why } },
      tx,
    )
  }
  return revoked.length
}

/** Issues the code inside the caller's transaction; returns it (to show once) and the notice to queue after the commit. */
async function issueInTx(input: IssueInput & { by: IssuedBy }, tx: Tx): Promise<{ issued: Omit<IssuedCode, 'noticeQueued'>; emailId: string }> {
  requireIssueInput(input.by.kind, input)
  const hours = input.validHours ?? ACCESS_CODE_DEFAULT_HOURS
  // Row lock: two issues (or an issue and a reset) of one account do not interleave.
  const [target] = await tx.select().from(schema.users).where(eq(schema.users.id, input.targetUserId)).for('update')
  if (!target) throw noSuchAccount()
  const by = input.by
  const organizationId = by.kind === 'org_admin' ? by.organization.id : null
  await revokeLive({ userId: target.id, actor: actorOf(by), why: 'replaced', organizationId, meta: input.meta }, tx)

  const code = generateAccessCode()
  const { verification } = await createVerification(
    {
      purpose: 'temporary_access',
      userId: target.id,
      ttlSeconds: hours * 3600,
      payload: {
        by: by.kind,
        issuedBy: by.actor.email,
        organizationId,
        ...(by.kind === 'support' && by.requestId ? { requestId: by.requestId, approvedBy: by.approvedBy?.email ?? null } : {}),
      },
    },
    tx,
  )
  // The keyed hash of the verification's id and the code (the engine's short-code hash).
  await mintCode(verification.id, code, tx)

  const { verification: freeze } = await createVerification({ purpose: 'freeze', userId: target.id, ttlSeconds: FREEZE_TTL_SECONDS, maxAttempts: 5, payload: { via: 'temporary_access_notice' } }, tx)
  const emailId = await writeEmail(
    {
      to: target.email,
      template: 'temporary_access_issued',
      userId: target.id,
      verificationId: freeze.id,
      params: { region: target.region, by: by.kind, orgName: by.kind === 'org_admin' ? by.organization.name : null, at: new Date().toISOString(), expiresAt: verification.expiresAt.toISOString() },
    },
    tx,
  )
  await recordAudit(
    {
      action: 'auth.temporary_access_issued',
      actor: actorOf(by),
      subjectId: target.id,
      organizationId,
      meta: input.meta ?? NO_REQUEST,
      details: {
        accessCodeId: verification.id,
        reason: input.reason.trim(),
        ticket: input.ticket?.trim() || null,
        checks: [...new Set(input.checks)],
        validHours: hours,
        expiresAt: verification.expiresAt.toISOString(),
        ...(by.kind === 'support' && by.requestId ? { requestId: by.requestId, approvedBy: by.approvedBy?.email ?? null } : {}),
      },
    },
    tx,
  )
  return { issued: { id: verification.id, code: formatAccessCode(code), expiresAt: verification.expiresAt, email: target.email }, emailId }
}

export type SupportIssueOutcome = { status: 'issued'; issued: IssuedCode } | { status: 'pending'; requestId: string; why: string }

/**
 * A support person issues a code: at once for a plain member, or a request for a second support
 * person (owners, admins, recent ones, platform accounts). Their own account: forbidden, audited.
 */
export async function supportIssueAccessCode(input: IssueInput & { actor: StaffRef; ticket: string }): Promise<SupportIssueOutcome> {
  await refuseOwnAccount(input.actor, input.targetUserId, 'auth.temporary_access_issued', 'You cannot issue a temporary access code for your own account. Ask another support person.', input.meta)
  requireIssueInput('support', input)
  const outcome = await db.transaction(async (tx) => {
    const privilege = await approvalNeededFor(input.targetUserId, tx)
    if (privilege) {
      const request = await createRequest({ actor: input.actor, targetUserId: input.targetUserId, action: ACCESS_CODE_ACTION, reason: input.reason, ticket: input.ticket, checks: input.checks, why: privilege.why, meta: input.meta }, tx)
      return { status: 'pending' as const, why: privilege.why, ...request }
    }
    return { status: 'issued' as const, ...(await issueInTx({ ...input, by: { kind: 'support', actor: input.actor } }, tx)) }
  })
  if (outcome.status === 'pending') {
    await enqueueStaffNotices(outcome.notices)
    return { status: 'pending', requestId: outcome.requestId, why: outcome.why }
  }
  return { status: 'issued', issued: { ...outcome.issued, noticeQueued: await enqueueNotice(outcome.emailId) } }
}

const sr = schema.supportRequests

/** Approved code requests this support person made for this member, still to be issued (before the request's expiry). */
export async function approvedAccessCodeRequests(targetUserId: string, actorId: string) {
  return db
    .select({ id: sr.id, reason: sr.reason, ticket: sr.ticket, decidedBy: sr.decidedBy, decidedAt: sr.decidedAt, expiresAt: sr.expiresAt })
    .from(sr)
    .where(and(eq(sr.targetUserId, targetUserId), eq(sr.requestedBy, actorId), eq(sr.action, ACCESS_CODE_ACTION), eq(sr.status, 'approved'), gt(sr.expiresAt, sql`now()`)))
    .orderBy(desc(sr.createdAt))
}

/**
 * After a second support person approved the request: the person who asked issues the code, once,
 * with the approved reason, ticket and checks (the request becomes 'issued'). Anyone else, or a
 * request not approved, already issued or past its 24 hours, is refused and nothing is written.
 */
export async function issueApprovedAccessCode(input: { actor: StaffRef; requestId: string; targetUserId?: string; validHours?: number | null; meta?: RequestMeta }): Promise<IssuedCode> {
  const hours = validHoursError(input.validHours)
  if (hours) throw new DomainError('invalid_request', hours, 'validHours')
  const done = await db.transaction(async (tx) => {
    const [row] = await tx.select({ request: sr, expired: sql<boolean>`${sr.expiresAt} <= now()` }).from(sr).where(eq(sr.id, input.requestId)).for('update')
    const req = row?.request
    if (!req || req.action !== ACCESS_CODE_ACTION || (input.targetUserId && req.targetUserId !== input.targetUserId)) throw new DomainError('not_found', 'That request does not exist.')
    if (req.requestedBy !== input.actor.id) throw new DomainError('forbidden', 'Only the support person who asked for this code can issue it.')
    if (req.status === 'pending') throw new DomainError('two_person_required', 'This request still waits for a second support person at Approvals.')
    if (req.status !== 'approved') throw new DomainError('conflict', req.status === 'issued' ? 'The code of this request was already issued: it is shown only once. Revoke it and ask again if it was lost.' : `This request was ${req.status}.`)
    if (row.expired) throw new DomainError('conflict', 'This approval has expired (requests live 24 hours). Ask again.')
    await tx.update(sr).set({ status: 'issued' }).where(eq(sr.id, req.id))
    const [approver] = req.decidedBy ? await tx.select({ id: schema.users.id, email: schema.users.email }).from(schema.users).where(eq(schema.users.id, req.decidedBy)) : []
    return issueInTx(
      { targetUserId: req.targetUserId, reason: req.reason, ticket: req.ticket, checks: req.checks, validHours: input.validHours, meta: input.meta, by: { kind: 'support', actor: input.actor, approvedBy: approver, requestId: req.id } },
      tx,
    )
  })
  return { ...done.issued, noticeQueued: await enqueueNotice(done.emailId) }
}

/**
 * An organization admin issues a code for a plain member of their organization (the same members
 * they may reset: plain members everywhere, for 30 days, no platform role, not themselves).
 * Otherwise two_person_required or forbidden, audited; not_found outside the organization.
 */
export async function orgAdminIssueAccessCode(input: IssueInput & { actor: StaffRef; org: Pick<Organization, 'id' | 'name'>; scope: OrgScope; meta: RequestMeta }): Promise<IssuedCode> {
  const outcome = await db.transaction(async (tx) => {
    const found = await findResettableMember(input.scope, input.targetUserId, input.actor.id, tx)
    if (!found) throw new DomainError('not_found', 'No such member in this organization.')
    if (found.refusal) return { ok: false as const, refusal: found.refusal }
    return { ok: true as const, ...(await issueInTx({ ...input, by: { kind: 'org_admin', actor: input.actor, organization: { id: input.org.id, name: input.org.name } } }, tx)) }
  })
  if (!outcome.ok) {
    return refuseChange(outcome.refusal, { actor: { id: input.actor.id, label: input.actor.email }, attempt: 'auth.temporary_access_issued', organizationId: input.org.id, subjectId: input.targetUserId, meta: input.meta })
  }
  return { ...outcome.issued, noticeQueued: await enqueueNotice(outcome.emailId) }
}

const NOTHING_TO_REVOKE = 'There is no temporary access code to revoke: it was used, has expired or was already revoked.'

/** Support revokes the member's live code before it is used; conflict when there is none. */
export async function supportRevokeAccessCode(input: { actor: StaffRef; targetUserId: string; meta?: RequestMeta }): Promise<void> {
  const revoked = await db.transaction(async (tx) => {
    const [target] = await tx.select({ id: schema.users.id }).from(schema.users).where(eq(schema.users.id, input.targetUserId))
    if (!target) throw noSuchAccount()
    return revokeLive({ userId: target.id, actor: { id: input.actor.id, label: input.actor.email }, why: 'revoked', meta: input.meta }, tx)
  })
  if (!revoked) throw new DomainError('conflict', NOTHING_TO_REVOKE)
}

/** An organization admin revokes the live code of a member they may issue one for. */
export async function orgAdminRevokeAccessCode(input: { actor: StaffRef; org: Pick<Organization, 'id'>; scope: OrgScope; targetUserId: string; meta: RequestMeta }): Promise<void> {
  const outcome = await db.transaction(async (tx) => {
    const found = await findResettableMember(input.scope, input.targetUserId, input.actor.id, tx)
    if (!found) throw new DomainError('not_found', 'No such member in this organization.')
    if (found.refusal) return { ok: false as const, refusal: found.refusal }
    return { ok: true as const, revoked: await revokeLive({ userId: input.targetUserId, actor: { id: input.actor.id, label: input.actor.email }, why: 'revoked', organizationId: input.org.id, meta: input.meta }, tx) }
  })
  if (!outcome.ok) {
    return refuseChange(outcome.refusal, { actor: { id: input.actor.id, label: input.actor.email }, attempt: 'auth.temporary_access_revoked', organizationId: input.org.id, subjectId: input.targetUserId, meta: input.meta })
  }
  if (!outcome.revoked) throw new DomainError('conflict', NOTHING_TO_REVOKE)
}

/** Freezing the account ("this wasn't me") revokes a live code too, in the freeze's transaction. */
export const revokeAccessCodesOnFreeze = (user: { id: string; email: string }, meta: RequestMeta, tx: Tx) =>
  revokeLive({ userId: user.id, actor: { id: user.id, label: user.email }, why: 'frozen', meta }, tx)

export type AccessCodeView = { id: string; status: 'live' | 'used' | 'revoked' | 'expired'; by: string; issuedBy: string | null; createdAt: Date; expiresAt: Date; endedAt: Date | null }

/** The member's recent codes (never the code itself), newest first: what support and the admin see. */
export async function listAccessCodes(userId: string, tx: Tx = db): Promise<AccessCodeView[]> {
  const rows = await tx
    .select({ id: v.id, payload: v.payload, createdAt: v.createdAt, expiresAt: v.expiresAt, consumedAt: v.consumedAt, live: sql<boolean>`${v.consumedAt} is null and ${v.expiresAt} > now()` })
    .from(v)
    .where(and(eq(v.purpose, 'temporary_access'), eq(v.userId, userId)))
    .orderBy(desc(v.createdAt))
    .limit(10)
  return rows.map((r) => {
    const p = r.payload as { by?: string; issuedBy?: string; revokedAt?: string }
    const status = r.live ? 'live' : r.consumedAt ? (p.revokedAt ? 'revoked' : 'used') : 'expired'
    return { id: r.id, status, by: p.by ?? 'support', issuedBy: p.issuedBy ?? null, createdAt: r.createdAt, expiresAt: r.expiresAt, endedAt: r.consumedAt }
  })
}
