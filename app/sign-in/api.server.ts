/**
 * The JSON API adapter of sign-in (decision 063): turns the flow's results into the answers of
 * POST /api/auth/signin, /api/auth/2fa/verify and /2fa/email, and the typed step-up (decision 046)
 * into an ApiError. The rules live in flow.server.ts; the wire values are the API's own
 * (`requires2FA`, `challengeId`, `enrollmentOnly`, `grace`, error codes) and do not change with it.
 */
import type { RequestMeta } from '#app/audit/record.server.ts'
import { ACCESS_CODE_METHOD, type Session, type User } from '#app/auth/session.server.ts'
import { EMAIL_CODE_TTL_SECONDS } from '#app/mfa/email-code.server.ts'
import type { Method } from '#app/mfa/factors.server.ts'
import { ApiError, rateLimited } from '#app/api/errors.server.ts'
import { userView } from '#app/api/endpoints/views.server.ts'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { WEBAUTHN_CHALLENGE_SECONDS } from '#app/mfa/webauthn.server.ts'
import {
  CHALLENGE_TTL_SECONDS, emailCodeResendAt, loadChallenge, noRecoveryCodesLeft, passkeySignInOptions, prepareSecondFactor, sendCodeWhenEmailFirst, signInWithPasskey, signInWithPassword, signInWithoutRegion, stepUpWithCode, verifyAccessCodeAtSignIn, verifySecondFactor, type PendingSignIn, type SignInResult,
} from './flow.server.ts'

const challengeGone = () => new ApiError(401, 'invalid_challenge', 'This sign-in has expired, was already completed or had too many wrong codes. Sign in again.')

export async function apiSignIn(body: { region?: string; email: string; password: string }, meta: RequestMeta) {
  const { region, ...credentials } = body
  // Without a region (as reference page 002 sends it): the address's one matching account (decision 071).
  const result = region ? await signInWithPassword({ ...credentials, region, meta, channel: 'api' }) : await signInWithoutRegion({ ...credentials, meta, channel: 'api' })
  if (result.kind === 'region_required') {
    throw new ApiError(409, 'region_required', `This email and password match accounts in several regions. Send "region" with one of: ${result.regions.join(', ')}.`, { regions: result.regions })
  }
  if (result.kind === 'second_factor') {
    // Email first: the code is on its way with this answer (decision 081), as on the web.
    const email = await sendCodeWhenEmailFirst(result, 'api')
    return {
      requires2FA: true as const,
      method: result.preferred,
      methods: result.methods,
      challengeId: result.token,
      ...(email ? { emailCodeSent: email.sent, resendAfter: email.resendAt?.toISOString() ?? null } : {}),
    }
  }
  return signedIn(result)
}

/** POST /api/auth/passkey/options: a one-time challenge for a passkey sign-in in `region` (decision 069). */
export async function apiPasskeyOptions(body: { region: string }) {
  const { challengeId, options } = await passkeySignInOptions(body.region)
  return { challengeId, options, expiresInSeconds: WEBAUTHN_CHALLENGE_SECONDS }
}

/** POST /api/auth/passkey/verify: the passkey's answer; a session token as POST /api/auth/signin gives one. */
export async function apiPasskeySignIn(body: { challengeId: string; response: AuthenticationResponseJSON }, meta: RequestMeta) {
  const result = await signInWithPasskey({ ...body, meta, channel: 'api' })
  if (result.kind === 'refused' && result.code === 'gone') throw new ApiError(400, 'invalid_challenge', result.message)
  if (result.kind === 'refused' && result.code === 'method_unavailable') throw new ApiError(403, 'method_unavailable', result.message)
  return signedIn(result)
}

/** A session token, or the refusal as the API says it. */
function signedIn(result: SignInResult) {
  if (result.kind === 'signed_in') {
    return { token: result.token, user: userView(result.user), enrollmentOnly: result.level === 'enroll_only', ...(result.grace ? { grace: result.grace } : {}) }
  }
  if (result.kind === 'second_factor') throw challengeGone()
  switch (result.code) {
    case 'invalid_credentials':
      throw new ApiError(401, 'invalid_credentials', result.message)
    case 'frozen':
      throw new ApiError(403, 'account_locked', result.message)
    case 'locked':
    case 'throttled':
      throw rateLimited(result.retryAfterSeconds ?? 60, result.message, result.code === 'locked' ? 'account_locked' : 'rate_limited')
    case 'blocked':
      throw new ApiError(403, 'sign_in_blocked', result.message)
    case 'sso_required':
      throw new ApiError(403, 'sso_required', result.message)
    case 'ended':
      throw new ApiError(401, 'invalid_challenge', result.message)
    case 'invalid_code':
      throw new ApiError(400, 'invalid_code', result.message, { fields: { code: result.message } })
    default:
      throw challengeGone()
  }
}

async function loadApiChallenge(id: string): Promise<PendingSignIn> {
  const pending = await loadChallenge(id, 'api')
  if (!pending) throw challengeGone()
  return pending
}

/**
 * POST /api/auth/2fa/verify `{code}` with the challengeId as the bearer token (reference page 002,
 * decision 071): the same second step; `notAChallenge` is thrown when the token is no live challenge.
 */
export async function apiVerifyBearerChallenge(token: string, body: { code: string; method?: ApiSecondStepMethod }, meta: RequestMeta, notAChallenge: unknown) {
  const pending = await loadChallenge(token, 'api')
  if (!pending) throw notAChallenge
  return verifyPending(pending, body, meta)
}

/** POST /api/auth/2fa/verify with a challengeId: the second step of an API sign-in. */
export async function apiVerifySignIn(body: { challengeId: string; code: string; method?: ApiSecondStepMethod }, meta: RequestMeta) {
  return verifyPending(await loadApiChallenge(body.challengeId), body, meta)
}

/** What the second step takes over the API: a factor, or a temporary access code (decision 081). */
export type ApiSecondStepMethod = Method | typeof ACCESS_CODE_METHOD

async function verifyPending(pending: PendingSignIn, body: { code: string; method?: ApiSecondStepMethod }, meta: RequestMeta) {
  // A temporary access code is taken whatever the step offers, as on the web (decisions 070, 081):
  // it signs in once, to an enrollment-only token.
  if (body.method === ACCESS_CODE_METHOD) return signedIn(await verifyAccessCodeAtSignIn(pending, body.code, meta))
  const method = body.method ?? pending.step.preferred
  if (!pending.step.methods.includes(method)) {
    const why = method === 'recovery_code' && (await noRecoveryCodesLeft(pending)) ? 'No recovery codes left.' : 'That way of verifying is not available for this account.'
    throw new ApiError(403, 'method_unavailable', `${why} Use one of: ${pending.step.methods.join(', ')}.`)
  }
  if (method === 'webauthn') throw new ApiError(400, 'method_unavailable', 'Security keys need a browser. Use another method (a recovery code works wherever a key does), or sign in on the web.')
  return signedIn(await verifySecondFactor(pending, { method, code: body.code }, meta))
}

/** POST /api/auth/2fa/email: emails the code of a pending API sign-in. */
export async function apiSendSignInCode(body: { challengeId: string }) {
  const pending = await loadApiChallenge(body.challengeId)
  const sent = await prepareSecondFactor(pending, 'email')
  if (sent.kind === 'email_sent') {
    return { sent: true as const, to: sent.to, expiresInSeconds: Math.min(EMAIL_CODE_TTL_SECONDS, CHALLENGE_TTL_SECONDS), resendAfter: (await emailCodeResendAt(pending))?.toISOString() ?? null }
  }
  if (sent.kind !== 'refused') throw challengeGone()
  if (sent.code === 'method_unavailable') throw new ApiError(403, 'method_unavailable', 'Email codes are not available for this sign-in.')
  if (sent.code === 'too_soon') throw rateLimited(sent.retryAfterSeconds ?? 60, sent.message)
  throw new ApiError(503, 'mail_unavailable', sent.message)
}

/** The typed step-up every sensitive change needs over the API (decision 046). */
export async function requireCodeStepUp(user: User, session: Session, typed: string, meta: RequestMeta) {
  const result = await stepUpWithCode(user, session, typed, meta)
  if (result.kind === 'stepped_up') return
  // The fifth wrong code on this token signed it out (as five end a pending sign-in).
  if (result.code === 'ended') throw new ApiError(401, 'unauthorized', `${result.message} Sign in again.`)
  throw new ApiError(400, 'invalid_code', result.message, { fields: { code: result.message } })
}
