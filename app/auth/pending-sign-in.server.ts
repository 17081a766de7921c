/**
 * "Password accepted, second factor pending" — not a session. A verification with purpose
 * 'login': 256-bit token in its own cookie (COOKIE.pending), stored as a keyed hash, 10 minutes,
 * 5 wrong answers end it, consumed once when the sign-in completes. It remembers the decision
 * (methods offered) so the verify step re-checks the method on the server.
 */
import { eq } from 'drizzle-orm'
import type { RequestMeta } from '#app/audit/record.server.ts'
import { safeRedirectPath } from '#app/http/request.server.ts'
import { db, schema } from '#db/client.ts'
import { lockRemainingSeconds } from './lockout.server.ts'
import { COOKIE, clearCookie, readCookie, setCookie } from './cookies.server.ts'
import type { SecondStep } from './second-step.server.ts'
import { sessionCookie, type User } from './session.server.ts'
import { completeSignIn } from './sign-in.server.ts'
import { consumeVerification, countAttempt, createVerification, findByToken, type Verification } from './verification.server.ts'
import { rememberDevice } from '#app/mfa/trusted-devices.server.ts'
import type { Method } from '#app/mfa/factors.server.ts'

export const PENDING_TTL_SECONDS = 10 * 60
export const PENDING_MAX_ATTEMPTS = 5

export type SecondFactorDecision = Extract<SecondStep, { kind: 'second_factor' }>
/** Which channel the pending sign-in belongs to: a web one lives in a cookie, an API one is the `challengeId`. */
export type PendingChannel = 'web' | 'api'
export type PendingSignIn = { verification: Verification; user: User; decision: SecondFactorDecision; redirectTo: string; channel: PendingChannel }

/**
 * Creates the pending record ('login' verification) for either channel: the token (256 bits,
 * stored as a keyed hash) is the web cookie's value or the API's `challengeId`. It carries the
 * whole decision (methods, reason, enrollAfter, rememberDays), so both channels finish alike.
 */
export async function createLoginChallenge(user: User, decision: SecondFactorDecision, options: { channel: PendingChannel; redirectTo?: string }) {
  const { verification, token } = await createVerification({
    purpose: 'login',
    userId: user.id,
    payload: { decision, redirectTo: options.redirectTo ?? '/', channel: options.channel },
    ttlSeconds: PENDING_TTL_SECONDS,
    maxAttempts: PENDING_MAX_ATTEMPTS,
    withToken: true,
  })
  return { verification, token: token! }
}

export async function createPendingSignIn(user: User, decision: SecondFactorDecision, redirectTo: string) {
  const { verification, token } = await createLoginChallenge(user, decision, { channel: 'web', redirectTo })
  return { verification, cookie: setCookie(COOKIE.pending, token, PENDING_TTL_SECONDS) }
}

/**
 * The live pending sign-in behind a token, on its own channel only (an API challengeId cannot be
 * replayed as a web cookie, nor the other way round); null when missing, expired, used up or locked.
 */
export async function loadLoginChallenge(token: string | undefined, channel: PendingChannel): Promise<PendingSignIn | null> {
  if (!token) return null
  const verification = await findByToken('login', token)
  if (!verification?.userId) return null
  const payload = verification.payload as { decision: SecondFactorDecision; redirectTo?: string; channel?: PendingChannel }
  if ((payload.channel ?? 'web') !== channel) return null
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  if (!user || lockRemainingSeconds(user) > 0) return null
  // Decided again where it is used, by the one rule for redirect targets (decision 060).
  return { verification, user, decision: payload.decision, redirectTo: safeRedirectPath(payload.redirectTo), channel }
}

/** The live pending sign-in this browser holds, or null (missing, tampered, expired, used up). */
export async function loadPendingSignIn(request: Request): Promise<PendingSignIn | null> {
  return loadLoginChallenge(readCookie(request, COOKIE.pending), 'web')
}

export const hasPendingCookie = (request: Request) => Boolean(readCookie(request, COOKIE.pending))
export const clearPendingCookie = () => clearCookie(COOKIE.pending)

/** Counts a wrong answer against the pending sign-in; true when it has ended (5 wrong). */
export async function failPendingAttempt(pending: PendingSignIn): Promise<{ ended: boolean; attemptsLeft: number }> {
  const attemptsLeft = await countAttempt(pending.verification.id)
  return { ended: attemptsLeft === 0, attemptsLeft }
}

/**
 * Completes the sign-in after a second factor: consumes the pending record (once: a racing
 * second request gets null), starts a fresh session (MFA level, or enrollment-only when the
 * decision says so), clears a reset marker, and remembers the device when asked.
 */
/**
 * The channel-neutral part: consumes the pending record once (a racing second request gets null),
 * starts the session at the level the decision says (MFA, or enrollment-only for an overdue
 * member who just proved the mailbox) and clears a reset marker.
 */
export async function completePendingSignIn(pending: PendingSignIn, method: Method, meta: RequestMeta) {
  if (!(await consumeVerification(pending.verification.id))) return null
  const { user, decision } = pending
  const level = decision.enrollAfter ? ('enroll_only' as const) : ('mfa' as const)
  const { token } = await completeSignIn({ user, level, meta, method, channel: pending.channel })
  if (decision.reason === 'reset' || user.mfaResetAt) {
    await db.update(schema.users).set({ mfaResetAt: null }).where(eq(schema.users.id, user.id))
  }
  return { token, level }
}

export async function finishPendingSignIn(
  pending: PendingSignIn,
  method: Method,
  meta: RequestMeta,
  options: { remember?: boolean } = {},
): Promise<{ headers: Headers; location: string } | null> {
  const done = await completePendingSignIn(pending, method, meta)
  if (!done) return null
  const { user, decision } = pending
  const { token, level } = done
  const headers = new Headers()
  headers.append('Set-Cookie', sessionCookie(token))
  headers.append('Set-Cookie', clearPendingCookie())
  if (options.remember && method !== 'recovery_code' && level === 'mfa' && decision.rememberDays > 0) {
    const cookie = await rememberDevice(user, method as 'totp' | 'webauthn' | 'email', meta, decision.rememberDays)
    if (cookie) headers.append('Set-Cookie', cookie)
  }
  return { headers, location: level === 'enroll_only' ? '/enroll' : decision.graceAfter ? graceLocation(pending.redirectTo) : pending.redirectTo }
}

/** The grace prompt, then on to `next` (the prompt re-decides from the database and skips itself when not in grace). */
export function graceLocation(next: string) {
  return `/login/grace?redirectTo=${encodeURIComponent(next)}`
}
