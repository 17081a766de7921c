/**
 * Support resets and unlocks, and the two-person rule: resetting or unlocking an organization
 * owner or admin (now or in the last 30 days), or a platform account, and unlocking an account
 * its member froze, waits in support_requests for a second support person. An approval is bound
 * to the exact request (target, action, reason), needs the approver's fresh second factor, and
 * carries out the action in the same transaction. Nobody decides their own request or one about
 * themselves, and nobody asks for anything about their own account (refused and audited).
 * Requests expire after 24 hours: computed when read, and recorded (status 'expired' and an
 * audit event) the first time someone looks. Decisions 031 and 057.
 */
import { and, desc, eq, gt, lte, or, sql } from 'drizzle-orm'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'
import { alias } from 'drizzle-orm/pg-core'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, refuseChange, NO_REQUEST, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError, type ErrorCode } from '#app/errors.ts'
import { enqueueNotice } from '#app/mail/queue-email.server.ts'
import { enqueueStaffNotices, writeStaffNotices } from './staff-notices.server.ts'
import { approvalNeededFor, requireResetInput, resetMfaInTx, type ResetResult, type StaffRef } from './reset.server.ts'
import { isFrozen, lockTarget, notLocked, requireUnlockReason, unlockInTx } from './unlock.server.ts'

export const REQUEST_TTL_HOURS = 24
export const RESET_ACTION = 'reset_mfa'
export const UNLOCK_ACTION = 'unlock'
/** A temporary access code (decision 070): approval lets the person who asked issue it (app/support/temporary-access.server.ts). */
export const ACCESS_CODE_ACTION = 'temporary_access'
export type RequestAction = typeof RESET_ACTION | typeof UNLOCK_ACTION | typeof ACCESS_CODE_ACTION

const r = schema.supportRequests

/** The approver's step-up: a second factor within the last 5 minutes (the one rule in app/mfa/step-up). */
export const isSteppedUp = hasFreshSecondFactor

const staffActor = (s: StaffRef) => ({ id: s.id, label: s.email })

/** Nobody acts on their own account in the support console: a colleague does (decision 057). */
export async function refuseOwnAccount(actor: StaffRef, targetUserId: string, attempt: string, message: string, meta?: RequestMeta) {
  if (actor.id !== targetUserId) return
  await refuseChange(new DomainError('forbidden', message), { actor: staffActor(actor), attempt, subjectId: targetUserId, meta })
}

/** Writes a pending request, its audit event and the emails to every other support person; queue the emails after the commit. */
export async function createRequest(
  input: { actor: StaffRef; targetUserId: string; action: RequestAction; reason: string; ticket: string; checks: readonly string[]; why: string; meta?: RequestMeta },
  tx: Tx,
) {
  const [request] = await tx
    .insert(r)
    .values({
      action: input.action,
      targetUserId: input.targetUserId,
      requestedBy: input.actor.id,
      reason: input.reason.trim(),
      ticket: input.ticket.trim(),
      checks: [...new Set(input.checks)],
      expiresAt: sql`now() + make_interval(hours => ${REQUEST_TTL_HOURS})`,
    })
    .returning()
  await recordAudit(
    {
      action: 'support.approval_requested',
      actor: staffActor(input.actor),
      subjectId: input.targetUserId,
      meta: input.meta ?? NO_REQUEST,
      details: { requestId: request.id, requestAction: input.action, reason: request.reason, ticket: request.ticket, checks: request.checks, why: input.why },
    },
    tx,
  )
  const [target] = await tx.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, input.targetUserId))
  const notices = await writeStaffNotices(
    {
      template: 'support_approval_requested',
      path: '/support/approvals',
      except: input.actor.id,
      params: { action: input.action, requesterEmail: input.actor.email, targetEmail: target?.email ?? input.targetUserId, why: input.why, ticket: request.ticket, reason: request.reason, expiresAt: request.expiresAt.toISOString(), at: request.createdAt.toISOString() },
    },
    tx,
  )
  return { requestId: request.id, notices }
}

export type SupportResetOutcome = { status: 'done'; result: ResetResult } | { status: 'pending'; requestId: string; why: string }

/**
 * A support person's reset: done at once for a plain member, or a request for a second person.
 * Their own account: DomainError('forbidden'), audited.
 */
export async function supportReset(input: {
  actor: StaffRef
  targetUserId: string
  reason: string
  ticket: string
  checks: readonly string[]
  meta?: RequestMeta
}): Promise<SupportResetOutcome> {
  await refuseOwnAccount(input.actor, input.targetUserId, 'auth.mfa_reset_by_support', 'You cannot reset your own account. Ask another support person.', input.meta)
  requireResetInput('support', input)
  const outcome = await db.transaction(async (tx) => {
    const privilege = await approvalNeededFor(input.targetUserId, tx)
    if (privilege) {
      const request = await createRequest({ ...input, action: RESET_ACTION, why: privilege.why }, tx)
      return { status: 'pending' as const, why: privilege.why, ...request }
    }
    const done = await resetMfaInTx({ targetUserId: input.targetUserId, by: { kind: 'support', actor: input.actor }, reason: input.reason, ticket: input.ticket, checks: input.checks, meta: input.meta }, tx)
    return { status: 'done' as const, ...done }
  })
  if (outcome.status === 'pending') {
    await enqueueStaffNotices(outcome.notices)
    return { status: 'pending', requestId: outcome.requestId, why: outcome.why }
  }
  await enqueueNotice(outcome.emailId)
  return { status: 'done', result: outcome.result }
}

export type SupportUnlockOutcome = { status: 'done'; wasLockedUntil: Date } | { status: 'pending'; requestId: string; why: string }

/**
 * A support person's unlock: at once for a plain member's failure lockout; a request for a second
 * person when the member froze the account, or it is privileged (as for resets). Their own
 * account: DomainError('forbidden'), audited; an account that is not locked: invalid_request.
 */
export async function supportUnlock(input: { actor: StaffRef; targetUserId: string; reason: string; ticket?: string | null; meta?: RequestMeta }): Promise<SupportUnlockOutcome> {
  await refuseOwnAccount(input.actor, input.targetUserId, 'support.unlock', 'You cannot unlock your own account. Ask another support person.', input.meta)
  requireUnlockReason(input.reason)
  const outcome = await db.transaction(async (tx): Promise<SupportUnlockOutcome & { notices?: string[] }> => {
    const target = await lockTarget(input.targetUserId, tx)
    if (!target.lockedUntil || target.lockedUntil <= new Date()) throw notLocked()
    const why = isFrozen(target) ? 'an account its member froze ("this wasn\'t me")' : (await approvalNeededFor(target.id, tx))?.why
    if (why) {
      const request = await createRequest({ actor: input.actor, targetUserId: target.id, action: UNLOCK_ACTION, reason: input.reason, ticket: input.ticket ?? '', checks: [], why, meta: input.meta }, tx)
      return { status: 'pending', why, ...request }
    }
    const wasLockedUntil = await unlockInTx({ actor: staffActor(input.actor), targetUserId: target.id, reason: input.reason, meta: input.meta }, tx)
    if (!wasLockedUntil) throw notLocked()
    return { status: 'done', wasLockedUntil }
  })
  if (outcome.status === 'pending') {
    await enqueueStaffNotices(outcome.notices ?? [])
    return { status: 'pending', requestId: outcome.requestId, why: outcome.why }
  }
  return { status: 'done', wasLockedUntil: outcome.wasLockedUntil }
}

/** Records every pending request past its expiry as expired (status and audit). Idempotent. */
export async function recordExpiredRequests(tx: Tx = db): Promise<number> {
  const expired = await tx
    .update(r)
    .set({ status: 'expired', decidedAt: sql`now()` })
    .where(and(eq(r.status, 'pending'), lte(r.expiresAt, sql`now()`)))
    .returning()
  for (const row of expired) {
    await recordAudit(
      { action: 'support.approval_expired', actor: { id: null, label: 'system' }, subjectId: row.targetUserId, details: { requestId: row.id, requestAction: row.action, requestedBy: row.requestedBy } },
      tx,
    )
  }
  return expired.length
}

export type RequestView = Awaited<ReturnType<typeof listRequests>>['pending'][number]

/** Pending requests (never expired ones, whatever the worker or a reader has recorded) and recent decisions. */
export async function listRequests(options: { targetUserId?: string } = {}) {
  await recordExpiredRequests()
  const target = alias(schema.users, 'target')
  const requester = alias(schema.users, 'requester')
  const decider = alias(schema.users, 'decider')
  const rows = await db
    .select({
      id: r.id,
      action: r.action,
      targetUserId: r.targetUserId,
      targetEmail: target.email,
      targetName: target.name,
      targetRegion: target.region,
      requestedBy: r.requestedBy,
      requesterEmail: requester.email,
      reason: r.reason,
      ticket: r.ticket,
      checks: r.checks,
      // Computed at read time: a request past its expiry is expired even before it is recorded.
      status: sql<string>`case when ${r.status} = 'pending' and ${r.expiresAt} <= now() then 'expired' else ${r.status} end`,
      decidedByEmail: decider.email,
      decidedAt: r.decidedAt,
      decisionNote: r.decisionNote,
      expiresAt: r.expiresAt,
      createdAt: r.createdAt,
    })
    .from(r)
    .innerJoin(target, eq(target.id, r.targetUserId))
    .innerJoin(requester, eq(requester.id, r.requestedBy))
    .leftJoin(decider, eq(decider.id, r.decidedBy))
    .where(and(options.targetUserId ? eq(r.targetUserId, options.targetUserId) : undefined, or(and(eq(r.status, 'pending'), gt(r.expiresAt, sql`now()`)), gt(r.createdAt, sql`now() - interval '14 days'`))))
    .orderBy(desc(r.createdAt))
    .limit(200)
  return { pending: rows.filter((x) => x.status === 'pending'), decided: rows.filter((x) => x.status !== 'pending') }
}

export type DecideFailure = 'not_found' | 'already_decided' | 'expired' | 'mismatch' | 'step_up'
export const DECIDE_MESSAGES: Record<DecideFailure | 'self' | 'self_target', string> = {
  not_found: 'That request does not exist.',
  already_decided: 'That request was already decided.',
  expired: 'That request has expired (requests live 24 hours). Ask for a new one.',
  self: 'You made this request, so another support person must approve or refuse it.',
  self_target: 'This request is about your own account: another support person must decide it.',
  mismatch: 'The request changed since you opened the page. Reload and check it again.',
  step_up: 'Confirm your second factor first.',
}

export type DecideOutcome = { decision: 'approved' | 'refused'; action: string; result?: ResetResult; unlocked?: boolean }

const DECIDE_CODES: Record<DecideFailure, ErrorCode> = { not_found: 'not_found', already_decided: 'conflict', expired: 'conflict', mismatch: 'conflict', step_up: 'step_up_required' }
const decideRefusal = (failure: DecideFailure) => new DomainError(DECIDE_CODES[failure], DECIDE_MESSAGES[failure])

/**
 * Approves or refuses one exact request. The form echoes what the approver saw (target, action,
 * reason); if the stored request differs in any of them, nothing happens. Refusals are DomainErrors
 * (not_found; conflict when decided, expired or changed; step_up_required; forbidden for their own).
 */
export async function decideRequest(input: {
  approver: StaffRef
  approverSession: { secondFactorAt: Date | null }
  requestId: string
  expect: { targetUserId: string; action: string; reason: string }
  decision: 'approve' | 'refuse'
  note?: string | null
  meta?: RequestMeta
}): Promise<DecideOutcome> {
  if (!isSteppedUp(input.approverSession)) throw decideRefusal('step_up')
  // Who asked and about whom never change: checked (and refused, audited) before the transaction.
  const [asked] = await db.select({ requestedBy: r.requestedBy, targetUserId: r.targetUserId, action: r.action }).from(r).where(eq(r.id, input.requestId))
  if (!asked) throw decideRefusal('not_found')
  const refusal = asked.requestedBy === input.approver.id ? 'self' : asked.targetUserId === input.approver.id ? 'self_target' : null
  if (refusal) {
    await refuseChange(new DomainError('forbidden', DECIDE_MESSAGES[refusal]), {
      actor: staffActor(input.approver), attempt: `support.approval_${input.decision === 'approve' ? 'granted' : 'refused'}`, subjectId: asked.targetUserId, meta: input.meta,
      details: { requestId: input.requestId, requestAction: asked.action, why: refusal },
    })
  }
  // A failure is returned, not thrown, from the transaction: recording an expiry must commit.
  const outcome = await db.transaction(async (tx): Promise<(DecideOutcome & { ok: true; emailId?: string }) | { ok: false; failure: DecideFailure }> => {
    const fail = (failure: DecideFailure) => ({ ok: false as const, failure })
    const [row] = await tx
      .select({ request: r, expired: sql<boolean>`${r.expiresAt} <= now()` })
      .from(r)
      .where(eq(r.id, input.requestId))
      .for('update')
    if (!row) return fail('not_found')
    const req = row.request
    if (req.status !== 'pending') return fail(req.status === 'expired' ? 'expired' : 'already_decided')
    if (row.expired) {
      await recordExpiredRequests(tx)
      return fail('expired')
    }
    if (req.targetUserId !== input.expect.targetUserId || req.action !== input.expect.action || req.reason !== input.expect.reason.trim()) return fail('mismatch')
    const decision: 'approved' | 'refused' = input.decision === 'approve' ? 'approved' : 'refused'
    await tx.update(r).set({ status: decision, decidedBy: input.approver.id, decidedAt: sql`now()`, decisionNote: input.note?.trim() || null }).where(eq(r.id, req.id))
    await recordAudit(
      {
        action: decision === 'approved' ? 'support.approval_granted' : 'support.approval_refused',
        actor: { id: input.approver.id, label: input.approver.email },
        subjectId: req.targetUserId,
        meta: input.meta ?? NO_REQUEST,
        details: { requestId: req.id, requestAction: req.action, reason: req.reason, ticket: req.ticket, note: input.note?.trim() || null },
      },
      tx,
    )
    if (decision === 'refused') return { ok: true as const, decision, action: req.action }
    // An approved code request is issued afterwards by the person who asked, who sees the code once.
    if (req.action === ACCESS_CODE_ACTION) return { ok: true as const, decision, action: req.action }
    const [requester] = await tx.select({ id: schema.users.id, email: schema.users.email }).from(schema.users).where(eq(schema.users.id, req.requestedBy))
    if (req.action === UNLOCK_ACTION) {
      // Unlocked only if still locked: a lock that has run out or was lifted leaves nothing to do.
      const unlocked = await unlockInTx(
        { actor: staffActor(requester), targetUserId: req.targetUserId, reason: req.reason, meta: input.meta, details: { requestId: req.id, approvedBy: input.approver.email } },
        tx,
      )
      return { ok: true as const, decision, action: req.action, unlocked: Boolean(unlocked) }
    }
    const done = await resetMfaInTx(
      {
        targetUserId: req.targetUserId,
        by: { kind: 'support', actor: requester, approvedBy: input.approver, requestId: req.id },
        reason: req.reason,
        ticket: req.ticket,
        checks: req.checks,
        meta: input.meta,
      },
      tx,
    )
    return { ok: true as const, decision, action: req.action, result: done.result, emailId: done.emailId }
  })
  if (!outcome.ok) throw decideRefusal(outcome.failure)
  const { ok: _ok, emailId, ...decided } = outcome
  if (emailId) await enqueueNotice(emailId)
  return decided
}
