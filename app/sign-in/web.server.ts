/**
 * The web adapter of sign-in (decision 063): turns the flow's results into redirects with cookies,
 * or into the form data the pages render. The rules live in flow.server.ts; nothing here decides.
 * The pending sign-in lives in its own cookie (COOKIE.pending), never in a session.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import type { RequestMeta } from '#app/audit/record.server.ts'
import { COOKIE, clearCookie, readCookie, setCookie } from '#app/auth/cookies.server.ts'
import { sessionCookie, type Session, type User } from '#app/auth/session.server.ts'
import { isDomainError } from '#app/errors.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { type Plain, resumePath, stepUpLocation } from '#app/http/resume.server.ts'
import { type FactorForm, type SignInFactorForm, toFactorInput } from '#app/mfa/factor-form.server.ts'
import { requireStepUp as requireFreshFactor, type Factors } from '#app/mfa/factors.server.ts'
import { linkedIdentity } from '#app/sso/sign-in.server.ts'
import {
  CHALLENGE_TTL_SECONDS,
  emailCodeResendAt,
  enroll,
  findEmailLink,
  landOnEmailStep,
  noRecoveryCodesLeft,
  hasSentEmailCode,
  loadChallenge,
  passkeySignInOptions,
  prepareSecondFactor,
  prepareStepUp,
  sendCodeWhenEmailFirst,
  signInAfterInvite,
  signInWithPasskey,
  signInWithPassword,
  signInWithSso,
  stepUp,
  landOnStepUp,
  verifyAccessCodeAtSignIn,
  verifyEmailLink,
  verifySecondFactor,
  type PendingSignIn,
  type Prepared,
  type Refused,
  type SignInResult,
  type SsoProof,
} from './flow.server.ts'

export { emailCodeResendAt, findEmailLink, hasSentEmailCode, noRecoveryCodesLeft, type PendingSignIn }

// ---------------------------------------------------------------------------------------------
// The password step: /login, and the invitation link that set the password.

export type BeginSignIn = { ok: true; response: Response } | { ok: false; message: string; status: number }

const PASSWORD_STATUS: Partial<Record<Refused['code'], number>> = { invalid_credentials: 400, gone: 400, frozen: 403, blocked: 403, method_unavailable: 403, sso_required: 403 }

export async function beginSignIn(input: { region: string; email: string; password: string; meta: RequestMeta; redirectTo: string; deviceToken?: string }): Promise<BeginSignIn> {
  const result = await signInWithPassword({ ...input, channel: 'web', returnTo: input.redirectTo })
  // Email first: the member lands on the email step with the code already on its way. A failure to
  // queue it leaves the page's "Send the code" to say why.
  if (result.kind === 'second_factor') await sendCodeWhenEmailFirst(result, 'web')
  return answer(result)
}

/** The passkey button and the email field's autofill on /login (decision 069): a one-time challenge for `region`. */
export async function passkeyOptionsForm(region: string) {
  const { options, challengeId } = await passkeySignInOptions(region)
  return { webauthnOptions: options, challengeId }
}

/** The passkey's answer: signed in (redirect with the session cookie) or refused, as the password step answers. */
export async function beginPasskeySignIn(input: { challengeId: string; response: AuthenticationResponseJSON; meta: RequestMeta; redirectTo: string }): Promise<BeginSignIn> {
  return answer(await signInWithPasskey({ ...input, channel: 'web', returnTo: input.redirectTo }))
}

/**
 * Sign-in right after an invitation link set the password (decision 050): the link proved the
 * mailbox, so where the policy asks for an email code the member goes straight on.
 */
export async function beginSignInAfterInvite(userId: string, meta: RequestMeta): Promise<BeginSignIn> {
  return answer(await signInAfterInvite(userId, meta))
}

/** Sign-in after the organization's identity provider (decision 075): the same answers as after a password. */
export async function beginSignInWithSso(userId: string, input: { meta: RequestMeta; redirectTo: string; sso: SsoProof }): Promise<BeginSignIn> {
  return answer(await signInWithSso(userId, { meta: input.meta, channel: 'web', returnTo: input.redirectTo, sso: input.sso }))
}

function answer(result: SignInResult): BeginSignIn {
  if (result.kind === 'refused') return { ok: false, message: result.message, status: PASSWORD_STATUS[result.code] ?? 429 }
  if (result.kind === 'second_factor') return { ok: true, response: redirectTo('/login/verify', { 'Set-Cookie': setCookie(COOKIE.pending, result.token, CHALLENGE_TTL_SECONDS) }) }
  return { ok: true, response: redirectTo(signedInLocation(result), signedInHeaders(result)) }
}

/** The grace prompt, then on to `next` (the prompt re-decides from the database and skips itself when not in grace). */
export function graceLocation(next: string) {
  return `/login/grace?redirectTo=${encodeURIComponent(next)}`
}

function signedInLocation(result: Extract<SignInResult, { kind: 'signed_in' }>) {
  return result.then === 'enroll_only' ? '/enroll' : result.then === 'grace_prompt' ? graceLocation(result.returnTo) : result.returnTo
}

function signedInHeaders(result: Extract<SignInResult, { kind: 'signed_in' }>, clearPending = false) {
  const headers = new Headers()
  headers.append('Set-Cookie', sessionCookie(result.token))
  if (clearPending) headers.append('Set-Cookie', clearPendingCookie())
  if (result.deviceCookie) headers.append('Set-Cookie', result.deviceCookie)
  return headers
}

// ---------------------------------------------------------------------------------------------
// The second step: /login/verify and the email link.

/** The live pending sign-in this browser holds, or null (missing, tampered, expired, used up). */
export async function loadPendingSignIn(request: Request): Promise<PendingSignIn | null> {
  return loadChallenge(readCookie(request, COOKIE.pending), 'web')
}

export const hasPendingCookie = (request: Request) => Boolean(readCookie(request, COOKIE.pending))
export const clearPendingCookie = () => clearCookie(COOKIE.pending)

type FormData = { kind: 'data'; body: Record<string, unknown>; status: number; headers?: Headers }
export type FormOutcome = { kind: 'redirect'; location: string; headers: Headers } | FormData

const formError = (form: string, status = 400, headers?: Headers): FormData => ({ kind: 'data', body: { errors: { form } }, status, headers })

/** An emailed code or a key's challenge, as the form shows it (the verify and step-up pages alike). */
function prepared(p: Prepared): FormData {
  if (p.kind === 'email_sent') return { kind: 'data', body: { emailSent: true, notice: `We sent a code to ${p.to}.` }, status: 200 }
  if (p.kind === 'webauthn_options') return { kind: 'data', body: { webauthnOptions: p.options, challengeId: p.challengeId }, status: 200 }
  if (p.code === 'too_soon') return { kind: 'data', body: { emailSent: true, errors: { form: p.message } }, status: 429 }
  return formError(p.message, p.code === 'method_unavailable' ? 403 : p.code === 'mail_unavailable' ? 503 : 400)
}

/** A wrong code goes under the code field (a key's failure under the form), with the email form kept open. */
const wrongCode = (r: Refused): FormData => ({ kind: 'data', body: { errors: { [r.method === 'webauthn' ? 'form' : 'code']: r.message }, emailSent: r.method === 'email' }, status: 400 })

export async function handleVerifyForm(pending: PendingSignIn, form: SignInFactorForm, meta: RequestMeta): Promise<FormOutcome> {
  if (form.intent === 'temporary_access') return verified(await verifyAccessCodeAtSignIn(pending, form.code, meta))
  if (form.intent === 'email_send') return prepared(await prepareSecondFactor(pending, 'email'))
  if (form.intent === 'email_step') return prepared(await landOnEmailStep(pending))
  if (form.intent === 'webauthn_options') return prepared(await prepareSecondFactor(pending, 'webauthn'))
  const remember = 'remember' in form && form.remember === 'on'
  return verified(await verifySecondFactor(pending, toFactorInput(form)!, meta, { remember }))
}

export async function completeEmailLink(pending: PendingSignIn | null, token: string, meta: RequestMeta): Promise<FormOutcome> {
  return verified(await verifyEmailLink(pending, token, meta))
}

function verified(result: SignInResult): FormOutcome {
  if (result.kind === 'signed_in') return { kind: 'redirect', location: signedInLocation(result), headers: signedInHeaders(result, true) }
  if (result.kind === 'second_factor') return formError('This sign-in has expired. Sign in again.')
  if (result.code === 'invalid_code') return wrongCode(result)
  if (result.code === 'ended') {
    return { kind: 'data', body: { ended: true, errors: { form: result.message } }, status: 400, headers: new Headers({ 'Set-Cookie': clearPendingCookie() }) }
  }
  return formError(result.message, result.code === 'method_unavailable' || result.code === 'link_elsewhere' ? 403 : 400)
}

// ---------------------------------------------------------------------------------------------
// Step-up: the confirm page, and the guard's web mapping.

/**
 * The step-up guard on the web: `step_up_required` (thrown by the one guard in app/mfa) becomes a
 * redirect to the confirm page, which comes back to `returnTo`. With `resume`, the change being
 * made comes back with it (its intent and plain values, never a secret) and the page offers to
 * finish it (decision 072). Returns the member's factors.
 */
export async function requireStepUp(userId: string, session: Session, returnTo: string, resume?: { intent: string; values?: Record<string, Plain> }, options: { evenWithoutFactor?: boolean } = {}): Promise<Factors> {
  try {
    return await requireFreshFactor(userId, session, undefined, options)
  } catch (e) {
    if (isDomainError(e) && e.code === 'step_up_required') throw redirectTo(stepUpLocation(resume ? resumePath(returnTo, resume.intent, resume.values ?? {}) : returnTo))
    throw e
  }
}

export async function stepUpPageData(user: User, session: Session, asked: string | null, redirectTo: string) {
  // A member who signs in through SSO may also confirm at the provider (decision 075).
  const sso = await linkedIdentity(user.id)
  const ssoHref = sso ? `/sso/step-up?${new URLSearchParams({ redirectTo })}` : null
  // Landing on the email method sends its code (decision 081).
  return { ...(await landOnStepUp(user, session, asked)), email: user.email, redirectTo, ssoHref }
}

/** done: stepped up; ended: too many wrong answers, the session is over (sign in again); data: the form again. */
export type StepUpOutcome = { kind: 'done' } | { kind: 'ended' } | FormData

export async function handleStepUpForm(user: User, session: Session, form: FactorForm, meta: RequestMeta): Promise<StepUpOutcome> {
  if (form.intent === 'email_send' || form.intent === 'email_step' || form.intent === 'webauthn_options') {
    const sent = await prepareStepUp(user, session, form.intent === 'webauthn_options' ? 'webauthn' : 'email')
    // Landing on the email step keeps a code sent less than a minute ago (as at sign-in).
    return prepared(form.intent === 'email_step' && sent.kind === 'refused' && sent.code === 'too_soon' ? { kind: 'email_sent', to: user.email } : sent)
  }
  const result = await stepUp(user, session, toFactorInput(form)!, meta)
  if (result.kind === 'stepped_up') return { kind: 'done' }
  if (result.code === 'ended') return { kind: 'ended' }
  if (result.code === 'invalid_code') return wrongCode(result)
  return formError(result.message, 403)
}

// ---------------------------------------------------------------------------------------------
// Enrollment.

/** The Set-Cookie of the fresh session replacing an enrollment-only one, or null. */
export async function upgradeEnrollOnlySession(session: Session, userId: string, method: 'totp' | 'webauthn', meta: RequestMeta): Promise<string | null> {
  const signedIn = await enroll(session, userId, method, meta, 'web')
  return signedIn ? sessionCookie(signedIn.token) : null
}
