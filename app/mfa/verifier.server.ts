/**
 * THE verifier: every second-factor answer goes through `verifyFactor` — a sign-in's second step,
 * the email sign-in link, step-up, the factor a password reset asks for, and the code that confirms
 * a replacement authenticator app (decision 063). In one place it
 *   1. checks the answer with the factor module (totp, webauthn, email code, recovery code),
 *   2. on a wrong answer: writes `auth.mfa_failed`, counts it toward the account lockout (the member
 *      is emailed at 10 in an hour) and against the challenge's own limit (a pending sign-in or
 *      reset link ends after 5, a session after 5 wrong step-up answers),
 *   3. on a right one: consumes the challenge once (a conditional update, so two racing requests
 *      cannot both win) and runs the caller's `complete` in the same transaction, which writes
 *      what the success means (the reset's new password and `auth.password_reset`); a replaced
 *      app's `auth.totp_replaced` is written here, a step-up marks the session, and a sign-in's
 *      success event comes with the session the flow starts next.
 * No Request or cookie here: `challenge` says what the answer is bound to and spends.
 */
import { and, count, eq, gt, gte, sql } from 'drizzle-orm'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { recordFailure } from '#app/auth/lockout.server.ts'
import { endSessionById, markSecondFactor, type Session, type User } from '#app/auth/session.server.ts'
import { consumeVerification, countAttempt } from '#app/auth/verification.server.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { EMAIL_CODE_MESSAGES, verifyEmailCode } from './email-code.server.ts'
import { noticeRecoveryCodeUsed, type Method } from './factors.server.ts'
import { RECOVERY_MESSAGES, verifyRecoveryCode } from './recovery-codes.server.ts'
import { ACCESS_CODE_MESSAGES, spendAccessCode } from './temporary-access.server.ts'
import { confirmTotpReplacement, TOTP_MESSAGES, TOTP_REPLACEMENT_MESSAGES, verifyTotp } from './totp.server.ts'
import { verifyWebauthnAuthentication, WEBAUTHN_MESSAGES } from './webauthn.server.ts'

export const FAILURE_NOTICE_THRESHOLD = 10
/** Wrong step-up answers one session may give; the last one ends the session (as 5 end a pending sign-in). */
export const STEP_UP_MAX_WRONG = 5

export type FactorInput =
  | { method: 'totp'; code: string }
  | { method: 'recovery_code'; code: string }
  | { method: 'email'; code: string }
  | { method: 'webauthn'; challengeId: string; response: AuthenticationResponseJSON }

/**
 * What an answer is bound to and spends:
 * - `verification`: a one-time record (pending sign-in, reset link). Codes and key challenges are
 *   bound to `target`; wrong answers count on the record; success consumes it.
 * - `email_link`: the emailed sign-in link (itself the code); success consumes it and the pending
 *   sign-in it belongs to (`spends`), together.
 * - `step_up`: a session's step-up; wrong answers are counted per session (the `auth.mfa_failed`
 *   events carrying its id: durable, no column of its own) and the fifth ends it; success records
 *   the fresh second factor on the session.
 * - `totp_replacement`: the code from a new authenticator app, checked against the pending secret
 *   (its wrong answers count on that row, the last drops it); success swaps the secret, audited.
 * - `passkey`: a passkey sign-in's one-time challenge (decision 069), made for the account's region
 *   (`target`) and spent by the first answer, right or wrong; a wrong answer counts toward the
 *   account lockout like any other, and a new challenge is needed to try again.
 */
export type Challenge =
  | { kind: 'verification'; id: string; target: string }
  | { kind: 'email_link'; id: string; spends: string }
  | { kind: 'step_up'; session: Session }
  | { kind: 'totp_replacement' }
  | { kind: 'passkey'; id: string; target: string }

export const stepUpTarget = (session: Pick<Session, 'id'>) => `step_up:${session.id}`

export type Verified = { ok: true; method: Method; recoveryCodesLeft?: number }
export type NotVerified = {
  ok: false
  method: Method
  code: string
  message: string
  /** Whether the answer counted (a malformed code or an expired key challenge does not). */
  counted: boolean
  /** Wrong answers the challenge still takes; 0: it has ended (null when this one did not count). */
  attemptsLeft: number | null
}

type Options<T> = {
  /** Runs in the transaction that consumes the challenge (a verification, a replacement). */
  complete?: (tx: Tx) => Promise<T>
}

export async function verifyFactor<T = void>(user: User, input: FactorInput, challenge: Challenge, meta: RequestMeta, options: Options<T> = {}): Promise<Verified | NotVerified> {
  if (challenge.kind === 'totp_replacement') return verifyReplacement(user, input, meta, options)
  if (challenge.kind === 'passkey' && input.method !== 'webauthn') throw new Error('A passkey challenge takes a WebAuthn answer only')
  if (challenge.kind === 'email_link') {
    const used = await db.transaction(async (tx) => {
      if (!(await consumeVerification(challenge.id, tx))) return 'expired'
      if (!(await consumeVerification(challenge.spends, tx))) return 'consumed'
      return 'ok'
    })
    if (used === 'ok') return { ok: true, method: 'email' }
    return { ok: false, method: 'email', code: used, message: EMAIL_CODE_MESSAGES.expired, counted: false, attemptsLeft: null }
  }
  const target = challenge.kind === 'step_up' ? stepUpTarget(challenge.session) : challenge.target
  const answer = await checkAnswer(user, input, target, meta, challenge.kind === 'passkey')
  if (!answer.ok) {
    const failure = { code: answer.code, message: answer.message, counted: answer.counted }
    if (!failure.counted) return { ok: false, method: input.method, ...failure, attemptsLeft: null }
    const details = challenge.kind === 'step_up' ? { stepUpSession: challenge.session.id } : challenge.kind === 'passkey' ? { passkey: true } : {}
    await countSecondFactorFailure(user, input.method, failure.code, meta, details)
    if (challenge.kind === 'passkey') return { ok: false, method: input.method, ...failure, attemptsLeft: 0 }
    const attemptsLeft = challenge.kind === 'step_up' ? await countWrongStepUp(user, challenge.session, meta) : await countAttempt(challenge.id)
    return { ok: false, method: input.method, ...failure, attemptsLeft }
  }
  const { recoveryCodesLeft } = answer
  if (input.method === 'recovery_code') await noticeRecoveryCodeUsed(user, recoveryCodesLeft ?? 0)
  if (challenge.kind === 'step_up') {
    await markSecondFactor(challenge.session.id, input.method)
    return { ok: true, method: input.method, recoveryCodesLeft }
  }
  // The passkey's challenge was spent by the check itself; the session the flow starts next records the success.
  if (challenge.kind === 'passkey') return { ok: true, method: input.method }
  // One statement needs no transaction; with `complete`, both commit together or not at all.
  const { complete } = options
  const consumed = complete
    ? await db.transaction(async (tx) => {
        if (!(await consumeVerification(challenge.id, tx))) return false
        await complete(tx)
        return true
      })
    : Boolean(await consumeVerification(challenge.id))
  if (!consumed) return { ok: false, method: input.method, code: 'consumed', message: 'This was already completed or has expired.', counted: false, attemptsLeft: 0 }
  return { ok: true, method: input.method, recoveryCodesLeft }
}

/** Spending a code and its pending sign-in commit together or not at all. */
class ChallengeGone extends Error {}

export type AccessCodeVerified = { ok: true; method: 'temporary_access' }
export type AccessCodeNotVerified = Omit<NotVerified, 'method'> & { method: 'temporary_access' }

/**
 * A temporary access code at a sign-in's second step, the only place it is taken (decision 070):
 * the code and the pending sign-in (`challenge`) are spent in one transaction; a wrong, used,
 * expired or revoked code is a wrong answer counted like any other (auth.mfa_failed, the account
 * lockout, the pending sign-in's 5 tries). Never a step-up answer.
 */
export async function verifyAccessCode(user: User, code: string, challenge: Extract<Challenge, { kind: 'verification' }>, meta: RequestMeta): Promise<AccessCodeVerified | AccessCodeNotVerified> {
  const method = 'temporary_access' as const
  let spent: Awaited<ReturnType<typeof spendAccessCode>>
  try {
    spent = await db.transaction(async (tx) => {
      const result = await spendAccessCode(user, code, { meta, pendingSignIn: challenge.id }, tx)
      if (result.ok && !(await consumeVerification(challenge.id, tx))) throw new ChallengeGone()
      return result
    })
  } catch (e) {
    if (!(e instanceof ChallengeGone)) throw e
    return { ok: false, method, code: 'consumed', message: 'This was already completed or has expired.', counted: false, attemptsLeft: 0 }
  }
  if (spent.ok) return { ok: true, method }
  const message = ACCESS_CODE_MESSAGES[spent.code]
  if (spent.code === 'malformed') return { ok: false, method, code: spent.code, message, counted: false, attemptsLeft: null }
  await countSecondFactorFailure(user, method, spent.code, meta, {})
  return { ok: false, method, code: spent.code, message, counted: true, attemptsLeft: await countAttempt(challenge.id) }
}

type Answer = { ok: true; recoveryCodesLeft?: number } | { ok: false; code: string; message: string; counted: boolean }

/** Dispatches to the factor module. */
async function checkAnswer(user: User, input: FactorInput, target: string, meta: RequestMeta, passkey = false): Promise<Answer> {
  switch (input.method) {
    case 'totp': {
      const r = await verifyTotp(user, input.code, meta)
      return r.ok ? r : { ok: false, code: r.code, message: TOTP_MESSAGES[r.code], counted: r.code !== 'malformed' }
    }
    case 'recovery_code': {
      const r = await verifyRecoveryCode(user.id, input.code)
      return r.ok ? { ok: true, recoveryCodesLeft: r.remaining } : { ok: false, code: r.code, message: RECOVERY_MESSAGES[r.code], counted: r.code !== 'malformed' }
    }
    case 'email': {
      const r = await verifyEmailCode(user, target, input.code)
      if (r.ok) return r
      const left = r.code === 'invalid' && r.attemptsLeft > 0 ? ` ${r.attemptsLeft} ${r.attemptsLeft === 1 ? 'try' : 'tries'} left.` : ''
      return { ok: false, code: r.code, message: EMAIL_CODE_MESSAGES[r.code] + left, counted: r.code === 'invalid' }
    }
    case 'webauthn': {
      const r = await verifyWebauthnAuthentication(user, { challengeId: input.challengeId, target, response: input.response, passkey }, meta)
      // An expired challenge and a second-step key offered as a passkey are mistakes, not wrong answers.
      return r.ok ? { ok: true } : { ok: false, code: r.code, message: WEBAUTHN_MESSAGES[r.code], counted: r.code !== 'expired_challenge' && r.code !== 'not_a_passkey' }
    }
  }
}

/** The new app's code: its own tries on the pending secret (not the account lockout: the member proved step-up already). */
async function verifyReplacement<T>(user: User, input: FactorInput, meta: RequestMeta, options: Options<T>): Promise<Verified | NotVerified> {
  const code = input.method === 'totp' ? input.code : ''
  return db.transaction(async (tx): Promise<Verified | NotVerified> => {
    const check = await confirmTotpReplacement(user, code, tx)
    if (!check.ok) return { ok: false, method: 'totp', code: check.code, message: TOTP_REPLACEMENT_MESSAGES[check.code], counted: check.code === 'invalid', attemptsLeft: check.code === 'too_many' ? 0 : null }
    await recordAudit({ action: 'auth.totp_replaced', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { timeStep: check.timeStep } }, tx)
    if (options.complete) await options.complete(tx)
    return { ok: true, method: 'totp' }
  })
}

/** A failed second factor: audited, toward the lockout, and at 10 in an hour the member is told. */
async function countSecondFactorFailure(user: User, method: Method | 'temporary_access', reason: string, meta: RequestMeta, auditDetails: Record<string, unknown>) {
  await recordAudit({ action: 'auth.mfa_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { ...auditDetails, method, reason } })
  await recordFailure(user.id, meta)
  const [row] = await db
    .select({ n: count() })
    .from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.mfa_failed'), gt(schema.auditEvents.createdAt, sql`now() - interval '1 hour'`)))
  // Exactly at the threshold, so one burst sends one email, not one per further attempt.
  if ((row?.n ?? 0) === FAILURE_NOTICE_THRESHOLD) {
    await queueNotice({ to: user.email, userId: user.id, template: 'mfa_failures', params: { count: FAILURE_NOTICE_THRESHOLD, at: new Date().toISOString(), ip: meta.ip } })
  }
}

/**
 * After a counted wrong step-up answer: the wrong answers on this session are the `auth.mfa_failed`
 * events carrying its id. At the limit the session ends, audited. Returns how many are left.
 */
async function countWrongStepUp(user: User, session: Session, meta: RequestMeta): Promise<number> {
  const a = schema.auditEvents
  const [row] = await db
    .select({ n: count() })
    .from(a)
    .where(and(eq(a.subjectId, user.id), eq(a.action, 'auth.mfa_failed'), gte(a.createdAt, session.createdAt), sql`${a.details}->>'stepUpSession' = ${session.id}`))
  const wrong = row?.n ?? 0
  if (wrong < STEP_UP_MAX_WRONG) return STEP_UP_MAX_WRONG - wrong
  // Racing wrong answers may all get here; the one that ends the session records it.
  if (await endSessionById(session.id)) {
    await recordAudit({ action: 'auth.session_ended', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { reason: 'step_up_attempts', sessionId: session.id, wrong } })
  }
  return 0
}
