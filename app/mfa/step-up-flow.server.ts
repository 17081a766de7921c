/** The step-up page's logic: which methods, dispatch, and marking the session on success. */
import { and, count, eq, gte, sql } from 'drizzle-orm'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { endSessionById, markSecondFactor, type Session, type User } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { checkSecondFactor, type FactorInput } from './check.server.ts'
import { EMAIL_CODE_MESSAGES, findEmailCode, sendEmailCode } from './email-code.server.ts'
import { toFactorInput, type FactorForm } from './factor-form.server.ts'
import { listFactors, type Method } from './factors.server.ts'
import { stepUpMethods } from './step-up.server.ts'
import { webauthnAuthenticationOptions } from './webauthn.server.ts'

const stepUpTarget = (session: Session) => `step_up:${session.id}`

/** Wrong step-up answers one session may give; the last one ends the session (as 5 end a pending sign-in). */
export const STEP_UP_MAX_WRONG = 5
export const TOO_MANY_STEP_UP_CODES = 'Too many wrong codes: you have been signed out.'

/** Checks a step-up answer; every counted wrong answer is audited with this session's id. */
const checkStepUp = (user: User, session: Session, input: FactorInput, meta: RequestMeta) =>
  checkSecondFactor(user, input, stepUpTarget(session), meta, { stepUpSession: session.id })

/**
 * After a counted wrong step-up answer: the wrong answers on this session are the
 * `auth.mfa_failed` events carrying its id (no column of its own, no Redis: the audit trail
 * already holds them, durably). At the limit the session ends, audited. Returns how many wrong
 * answers are left (0: the session has ended).
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

/** The wrong answer's message, warning when the session is about to end (an email code's message already counts its tries). */
const withTriesLeft = (message: string, left: number, method: Method) =>
  left <= 2 && method !== 'email' ? `${message} ${left} ${left === 1 ? 'try' : 'tries'} left before you are signed out.` : message

export async function stepUpPageData(user: User, session: Session, asked: string | null, redirectTo: string) {
  const methods = stepUpMethods(await listFactors(user.id))
  const preferred = (user.preferredMethod && methods.includes(user.preferredMethod) ? user.preferredMethod : methods[0]) as Method
  const method = (asked && methods.includes(asked as Method) ? asked : preferred) as Method
  return { method, methods, email: user.email, redirectTo, emailSent: method === 'email' ? Boolean(await findEmailCode(user.id, stepUpTarget(session))) : false }
}

/** done: stepped up; ended: too many wrong answers, the session is over (sign in again); data: the form again. */
export type StepUpOutcome = { kind: 'done' } | { kind: 'ended' } | { kind: 'data'; body: Record<string, unknown>; status: number }

export async function handleStepUpForm(user: User, session: Session, form: FactorForm, meta: RequestMeta): Promise<StepUpOutcome> {
  const methods = stepUpMethods(await listFactors(user.id))
  const method: Method = form.intent === 'email_send' ? 'email' : form.intent === 'webauthn_options' ? 'webauthn' : form.intent
  // Server-side: an email code is refused when the member has an app or key; a trusted device never counts.
  if (!methods.includes(method)) return { kind: 'data', body: { errors: { form: 'That way of confirming is not available for this account.' } }, status: 403 }
  const target = stepUpTarget(session)
  if (form.intent === 'email_send') {
    const sent = await sendEmailCode(user, target, { withLink: false })
    if (sent.ok) return { kind: 'data', body: { emailSent: true, notice: `We sent a code to ${user.email}.` }, status: 200 }
    if (sent.code === 'too_soon') return { kind: 'data', body: { emailSent: true, errors: { form: `A code was just sent. You can ask for a new one in ${sent.retryAfterSeconds} seconds.` } }, status: 429 }
    return { kind: 'data', body: { errors: { form: EMAIL_CODE_MESSAGES.unavailable } }, status: 503 }
  }
  if (form.intent === 'webauthn_options') {
    const created = await webauthnAuthenticationOptions(user, target)
    if (!created) return { kind: 'data', body: { errors: { form: 'There is no security key on this account.' } }, status: 400 }
    return { kind: 'data', body: { webauthnOptions: created.options, challengeId: created.challengeId }, status: 200 }
  }
  const input = toFactorInput(form)!
  const result = await checkStepUp(user, session, input, meta)
  if (!result.ok) {
    const left = result.counted ? await countWrongStepUp(user, session, meta) : STEP_UP_MAX_WRONG
    if (left === 0) return { kind: 'ended' }
    return { kind: 'data', body: { errors: { [input.method === 'webauthn' ? 'form' : 'code']: withTriesLeft(result.message, left, input.method) }, emailSent: input.method === 'email' }, status: 400 }
  }
  await markSecondFactor(session.id, result.method)
  return { kind: 'done' }
}

export type CodeStepUp = { ok: true; method: Method } | { ok: false; reason: 'no_method' | 'invalid' | 'ended'; message: string }

/**
 * Step-up from one typed code (the JSON API and CLI, which have no step-up page): a current app
 * code or a recovery code; an email code only for a member with no app or key (the same
 * `stepUpMethods` as the page). A wrong code is counted like any failed second factor, and the
 * fifth on one session ends it (reason 'ended'). On success the session records the fresh second
 * factor, as the page does.
 */
export async function stepUpWithCode(user: User, session: Session, code: string, meta: RequestMeta): Promise<CodeStepUp> {
  const methods = stepUpMethods(await listFactors(user.id))
  const digits = code.replace(/\s+/g, '')
  const method: Method | undefined = /^\d{6}$/.test(digits)
    ? methods.includes('totp') ? 'totp' : methods.includes('email') ? 'email' : undefined
    : methods.includes('recovery_code') ? 'recovery_code' : undefined
  if (!method) {
    const what = methods.includes('totp') ? 'the 6-digit code from your authenticator app or a recovery code' : methods.includes('email') ? 'the 6-digit code we email you' : 'a recovery code'
    return { ok: false, reason: 'no_method', message: `Confirm with ${what}.` }
  }
  const result = await checkStepUp(user, session, { method, code } as { method: 'totp' | 'email' | 'recovery_code'; code: string }, meta)
  if (!result.ok) {
    const left = result.counted ? await countWrongStepUp(user, session, meta) : STEP_UP_MAX_WRONG
    if (left === 0) return { ok: false, reason: 'ended', message: TOO_MANY_STEP_UP_CODES }
    return { ok: false, reason: 'invalid', message: withTriesLeft(result.message, left, method) }
  }
  await markSecondFactor(session.id, result.method)
  return { ok: true, method: result.method }
}
