/**
 * Support resets, and the two-person rule: resetting an organization owner or admin, or a
 * platform account, waits in support_requests for a second support person. An approval is bound
 * to the exact request (target, action, reason), needs the approver's fresh second factor, and
 * executes the reset in the same transaction. Requests expire after 24 hours: computed when read,
 * and recorded (status 'expired' and an audit event) the first time someone looks.
 */
import { and, desc, eq, gt, lte, or, sql } from 'drizzle-orm'
import { hasFreshSecondFactor } from '#app/mfa/step-up.server.ts'
import { alias } from 'drizzle-orm/pg-core'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, NO_REQUEST, type RequestMeta } from '#app/audit/record.server.ts'
import { enqueueNotice } from '#app/mail/queue-email.server.ts'
import { enqueueStaffNotices, writeStaffNotices } from './staff-notices.server.ts'
import { approvalNeededFor, resetInputErrors, resetMfaInTx, ResetInputError, type ResetResult, type StaffRef } from './reset.server.ts'

export const REQUEST_TTL_HOURS = 24
export const RESET_ACTION = 'reset_mfa'

const r = schema.supportRequests

/** The approver's step-up: a second factor within the last 5 minutes (the one rule in app/mfa/step-up). */
export const isSteppedUp = hasFreshSecondFactor

export type SupportResetOutcome =
  | { status: 'done'; result: ResetResult }
  | { status: 'pending'; requestId: string; why: string }
  | { status: 'refused'; code: 'self'; message: string }

/** A support person's reset: done at once for a plain member, or a request for a second person. */
export async function supportReset(input: {
  actor: StaffRef
  targetUserId: string
  reason: string
  ticket: string
  checks: readonly string[]
  meta?: RequestMeta
}): Promise<SupportResetOutcome> {
  if (input.actor.id === input.targetUserId) {
    return { status: 'refused', code: 'self', message: 'You cannot reset your own account. Ask another support person.' }
  }
  const errors = resetInputErrors('support', input)
  if (Object.keys(errors).length) throw new ResetInputError(errors)
  const outcome = await db.transaction(async (tx) => {
    const why = await approvalNeededFor(input.targetUserId, tx)
    if (why) {
      const [request] = await tx
        .insert(r)
        .values({
          action: RESET_ACTION,
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
          actor: { id: input.actor.id, label: input.actor.email },
          subjectId: input.targetUserId,
          meta: input.meta ?? NO_REQUEST,
          details: { requestId: request.id, requestAction: RESET_ACTION, reason: request.reason, ticket: request.ticket, checks: request.checks, why },
        },
        tx,
      )
      const [target] = await tx.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, input.targetUserId))
      const notices = await writeStaffNotices(
        {
          template: 'support_approval_requested',
          path: '/support/approvals',
          except: input.actor.id,
          params: { requesterEmail: input.actor.email, targetEmail: target?.email ?? input.targetUserId, why, ticket: request.ticket, reason: request.reason, expiresAt: request.expiresAt.toISOString(), at: request.createdAt.toISOString() },
        },
        tx,
      )
      return { status: 'pending' as const, requestId: request.id, why, notices }
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

export type DecideFailure = 'not_found' | 'already_decided' | 'expired' | 'self' | 'self_target' | 'mismatch' | 'step_up'
export const DECIDE_MESSAGES: Record<DecideFailure, string> = {
  not_found: 'That request does not exist.',
  already_decided: 'That request was already decided.',
  expired: 'That request has expired (requests live 24 hours). Ask for a new one.',
  self: 'You asked for this reset, so another support person must approve or refuse it.',
  self_target: 'This request is about your own account: another support person must decide it.',
  mismatch: 'The request changed since you opened the page. Reload and check it again.',
  step_up: 'Confirm your second factor first.',
}

export type DecideOutcome = { ok: true; decision: 'approved' | 'refused'; result?: ResetResult } | { ok: false; code: DecideFailure; message: string }

/**
 * Approves or refuses one exact request. The form echoes what the approver saw (target, action,
 * reason); if the stored request differs in any of them, nothing happens.
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
  const fail = (code: DecideFailure): DecideOutcome => ({ ok: false, code, message: DECIDE_MESSAGES[code] })
  if (!isSteppedUp(input.approverSession)) return fail('step_up')
  const outcome = await db.transaction(async (tx): Promise<DecideOutcome & { emailId?: string }> => {
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
    if (req.requestedBy === input.approver.id) return fail('self')
    if (req.targetUserId === input.approver.id) return fail('self_target')
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
    if (decision === 'refused') return { ok: true as const, decision }
    const [requester] = await tx.select({ id: schema.users.id, email: schema.users.email }).from(schema.users).where(eq(schema.users.id, req.requestedBy))
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
    return { ok: true as const, decision, result: done.result, emailId: done.emailId }
  })
  if (outcome.ok && 'emailId' in outcome && outcome.emailId) {
    await enqueueNotice(outcome.emailId)
    return { ok: true, decision: outcome.decision, result: outcome.result }
  }
  return outcome
}


