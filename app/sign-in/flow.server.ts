/**
 * The sign-in flow, for every channel (decision 063): the password step, `afterPassword` (load,
 * `decideNextStep`, run the step), `verifySecondFactor` (a pending sign-in's second step),
 * `enroll` (the fresh session that replaces an enrollment-only one) and `stepUp`. Each returns
 * one channel-free result; web.server.ts turns it into a redirect with cookies, api.server.ts
 * into JSON. Every second-factor answer goes through the one verifier (app/mfa/verifier.server.ts).
 *
 * "Password accepted, second factor pending" is not a session: it is a 'login' verification (the
 * challenge) whose 256-bit token is the web's pending cookie or the API's `challengeId`, stored as
 * a keyed hash, 10 minutes, 5 wrong answers, consumed once. It carries the decided step, so the
 * verify step re-checks the method and both channels finish alike.
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { and, eq, sql } from 'drizzle-orm'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { lockRemainingSeconds, MAX_LOCK_SECONDS, recordWrongPassword } from '#app/auth/lockout.server.ts'
import { burnPasswordCheck, verifyPassword } from '#app/auth/password.server.ts'
import { accountKey, normaliseEmail, recordUnknownAccountFailure, throttleAttempt, waitInWords } from '#app/auth/rate-limit.server.ts'
import { ACCESS_CODE_METHOD, type Session, type SessionLevel, startSignInSession, type User } from '#app/auth/session.server.ts'
import { consumeVerification, createVerification, findByToken, findByTokenWithUser, type Verification } from '#app/auth/verification.server.ts'
import { safeRedirectPath } from '#app/http/request.server.ts'
import { config } from '#app/config/env.server.ts'
import { EMAIL_CODE_MESSAGES, emailResendAt, findEmailCode, sendEmailCode } from '#app/mfa/email-code.server.ts'
import { listFactors, stepUpMethods, type Method } from '#app/mfa/factors.server.ts'
import { RECOVERY_MESSAGES, recoveryCodesUsedUp } from '#app/mfa/recovery-codes.server.ts'
import { markTrustedDeviceUsed, rememberDevice } from '#app/mfa/trusted-devices.server.ts'
import { type Challenge, type FactorInput, type NotVerified, stepUpTarget, type Verified, verifyAccessCode, verifyFactor } from '#app/mfa/verifier.server.ts'
import { findPasskeyOwner, passkeyAuthenticationOptions, passkeyChallengeRegion, passkeyTarget, webauthnAuthenticationOptions } from '#app/mfa/webauthn.server.ts'
import { loadEffectivePolicy } from '#app/policy/member-status.server.ts'
import { gracePromptFrom, type GracePrompt } from '#app/policy/sign-in-step.ts'
import type { SsoRoute } from '#app/sso/config.server.ts'
import { db, schema } from '#db/client.ts'
import { decideNextStep, decidePasskey, methodAllowed, type SecondFactorStep } from './decide.ts'
import { loadPasswordStep, loadSignInContext, type SignInContext } from './load.server.ts'

export type Channel = 'web' | 'api'
export const CHALLENGE_TTL_SECONDS = 10 * 60
export const CHALLENGE_MAX_ATTEMPTS = 5
export const INVALID_CREDENTIALS = 'Email or password is incorrect'

export type RefusalCode =
  // the password step
  | 'invalid_credentials' | 'throttled' | 'locked' | 'frozen' | 'blocked'
  // the address's domain signs in through its organization's SSO (decision 075)
  | 'sso_required'
  // a second factor (sign-in or step-up)
  | 'method_unavailable' | 'invalid_code' | 'ended' | 'gone' | 'link_elsewhere' | 'too_soon' | 'mail_unavailable' | 'no_key'

export type Refused = { kind: 'refused'; code: RefusalCode; message: string; retryAfterSeconds?: number; method?: Method; attemptsLeft?: number | null }

/** A session started: `then` is where the member goes next (on, the grace prompt, or enrollment only). */
export type SignedIn = {
  kind: 'signed_in'
  user: User
  token: string
  level: SessionLevel
  then: 'continue' | 'grace_prompt' | 'enroll_only'
  grace: GracePrompt | null
  returnTo: string
  /** A remembered device's cookie, when the member asked for one (web). */
  deviceCookie?: string
}

/** A second factor is owed: `token` is the challenge (web cookie, API `challengeId`). */
export type ChallengeIssued = { kind: 'second_factor'; token: string; methods: Method[]; preferred: Method }

/** A sign-in without a region whose password matched the address's account in several regions (decision 071). */
export type RegionRequired = { kind: 'region_required'; regions: string[] }

export type SignInResult = SignedIn | ChallengeIssued | Refused

const refuse = (code: RefusalCode, message: string, extra: Partial<Refused> = {}): Refused => ({ kind: 'refused', code, message, ...extra })

// ---------------------------------------------------------------------------------------------
// The password step. Unknown email and wrong password get the same answer after about the same work.

/** The password's answer, with where the address's domain signs in through SSO (read in the same query; unknown when throttled). */
export type PasswordCheck = ({ ok: true; user: User; context: SignInContext } | { ok: false; refusal: Refused }) & { ssoRoute?: SsoRoute | null }

export async function checkPassword(input: { region: string; email: string; password: string; meta: RequestMeta; deviceToken?: string }): Promise<PasswordCheck> {
  const email = normaliseEmail(input.email)
  const throttle = await throttleAttempt(input.meta.ip, accountKey(input.region, email))
  if (!throttle.allowed) {
    const wait = throttle.retryAfterSeconds
    return { ok: false, refusal: refuse('throttled', `Too many sign-in attempts. Try again in ${waitInWords(wait)}.`, { retryAfterSeconds: wait }) }
  }
  // The member with everything the decision after the password needs, and the domain's SSO route, in one query (decision 068).
  const { context, ssoRoute } = await loadPasswordStep({ region: input.region, email }, input.deviceToken)
  return { ...(await checkAgainst(context, email, input)), ssoRoute }
}

/** The password against the loaded member (or against a dummy hash when there is none). */
async function checkAgainst(context: SignInContext | null, email: string, input: { region: string; password: string; meta: RequestMeta }): Promise<PasswordCheck> {
  const user = context?.user
  if (!context || !user?.passwordHash) {
    await burnPasswordCheck(input.password)
    const mirroredLock = await recordUnknownAccountFailure(accountKey(input.region, email))
    await recordAudit({ action: 'auth.login_failed', actor: { id: null, label: email }, meta: input.meta, details: { region: input.region, reason: 'unknown_email' } })
    if (mirroredLock > 0) return lockedAnswer(mirroredLock)
    return { ok: false, refusal: refuse('invalid_credentials', INVALID_CREDENTIALS) }
  }
  const locked = lockRemainingSeconds(user)
  if (locked > 0) {
    await burnPasswordCheck(input.password)
    return lockedAnswer(locked)
  }
  if (!(await verifyPassword(user.passwordHash, input.password))) {
    const { lockedForSeconds } = await recordWrongPassword(user, input.meta)
    if (lockedForSeconds > 0) return lockedAnswer(lockedForSeconds)
    return { ok: false, refusal: refuse('invalid_credentials', INVALID_CREDENTIALS) }
  }
  return { ok: true, user, context }
}

function lockedAnswer(seconds: number): PasswordCheck {
  return { ok: false, refusal: lockedRefusal(seconds) }
}

function lockedRefusal(seconds: number): Refused {
  if (seconds > MAX_LOCK_SECONDS) {
    return refuse('frozen', 'This account is frozen: it was locked after its owner reported a change they did not make. Contact support to unlock it.')
  }
  const message = `This account is locked after too many failed attempts. Try again in ${waitInWords(seconds)}, or contact support to unlock it sooner.`
  return refuse('locked', message, { retryAfterSeconds: seconds })
}

type AfterPasswordInput = {
  meta: RequestMeta
  channel: Channel
  /** Where the member goes once signed in (web). */
  returnTo?: string
  /** The trusted-device cookie this browser sent (web; API clients have none). */
  deviceToken?: string
  /** The password was set through an emailed link (the invitation, decision 050). */
  proof?: 'password' | 'password_and_mailbox'
  /** Break-glass where the domain requires SSO: the member's own app or key, whatever the policy (decision 075). */
  ownFactorRequired?: boolean
  /** Signed in at the organization's identity provider instead of with a password (decision 075). */
  sso?: SsoProof
}

/** What the identity provider proved: whether its MFA counts here, and what the audit records (issuer, organization, amr, acr). */
export type SsoProof = { idpMfa: boolean; details: Record<string, unknown> }

/** The message of a password sign-in or reset refused because the address's organization signs in through SSO. */
export const ssoRequiredMessage = (route: Pick<SsoRoute, 'orgName'>) =>
  `${route.orgName} signs you in through single sign-on: use “Continue with ${route.orgName} SSO” instead of a password.`

export async function signInWithPassword(input: { region: string; email: string; password: string } & AfterPasswordInput): Promise<SignInResult> {
  const check = await checkPassword(input)
  // A throttled attempt reads no route, and answers as throttled either way.
  if (check.ssoRoute?.ssoRequired) return ssoRequiredPasswordSignIn(check.ssoRoute, check, input)
  if (!check.ok) return check.refusal
  return afterPassword(check.context, input)
}

/**
 * Sign-in without a region, as reference page 002 sends it (decision 071). The password is checked
 * against the address's account in every configured region, one check per region whether or not an
 * account is there, so the work does not tell which addresses exist or in how many regions. One
 * match signs in there through the same decision; several answer `region_required` with their
 * region codes (the caller knows the password of each); none is the same refusal as a wrong
 * password, and counts toward the lockout of every account the address has.
 */
export async function signInWithoutRegion(input: { email: string; password: string } & AfterPasswordInput): Promise<SignInResult | RegionRequired> {
  const email = normaliseEmail(input.email)
  // One burst count for the address across regions ('*' is never a region code).
  const anyRegion = accountKey('*', email)
  const throttle = await throttleAttempt(input.meta.ip, anyRegion)
  if (!throttle.allowed) {
    const wait = throttle.retryAfterSeconds
    return refuse('throttled', `Too many sign-in attempts. Try again in ${waitInWords(wait)}.`, { retryAfterSeconds: wait })
  }
  const contexts = (await Promise.all(config.regions.map((r) => loadSignInContext({ region: r.code, email }, input.deviceToken)))).filter(
    (c): c is SignInContext => Boolean(c?.user.passwordHash),
  )
  const checks = await Promise.all(
    config.regions.map((r) => {
      const context = contexts.find((c) => c.user.region === r.code)
      return context ? verifyPassword(context.user.passwordHash!, input.password) : burnPasswordCheck(input.password).then(() => false)
    }),
  )
  const matched = contexts.filter((c) => checks[config.regions.findIndex((r) => r.code === c.user.region)])
  if (matched.length > 1) return { kind: 'region_required', regions: matched.map((c) => c.user.region) }
  if (matched.length === 1) {
    const locked = lockRemainingSeconds(matched[0].user)
    if (locked > 0) return lockedRefusal(locked)
    return afterPassword(matched[0], input)
  }
  if (contexts.length === 0) {
    const mirroredLock = await recordUnknownAccountFailure(anyRegion)
    await recordAudit({ action: 'auth.login_failed', actor: { id: null, label: email }, meta: input.meta, details: { region: null, reason: 'unknown_email' } })
    if (mirroredLock > 0) return lockedRefusal(mirroredLock)
    return refuse('invalid_credentials', INVALID_CREDENTIALS)
  }
  // A wrong password counts toward each of the address's accounts, as at a regional sign-in.
  let lockedFor = 0
  for (const { user } of contexts) {
    const already = lockRemainingSeconds(user)
    lockedFor = Math.max(lockedFor, already > 0 ? already : (await recordWrongPassword(user, input.meta)).lockedForSeconds)
  }
  if (lockedFor > 0) return lockedRefusal(lockedFor)
  return refuse('invalid_credentials', INVALID_CREDENTIALS)
}

/**
 * A password where the domain requires SSO (decision 075). Only the break-glass path goes on: an
 * owner of that organization, or staff, with their own app or key, which is then asked whatever the
 * policy says. Everyone else gets the same pointer to SSO whether or not the password was right, so
 * the answer tells nothing about the password (a throttle or lock still answers as such).
 */
async function ssoRequiredPasswordSignIn(route: SsoRoute, check: PasswordCheck, input: AfterPasswordInput & { email: string }): Promise<SignInResult> {
  if (!check.ok && ['throttled', 'locked', 'frozen'].includes(check.refusal.code)) return check.refusal
  const refusal = refuse('sso_required', ssoRequiredMessage(route))
  if (!check.ok) return refusal
  const { user, factors } = check.context
  const [membership] = await db.select({ role: schema.memberships.role }).from(schema.memberships)
    .where(and(eq(schema.memberships.userId, user.id), eq(schema.memberships.organizationId, route.orgId)))
  const breakGlass = (membership?.role === 'owner' || user.platformRole !== 'none') && (Boolean(factors.totp) || factors.keys.length > 0)
  if (!breakGlass) {
    await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { reason: 'sso_required', organizationId: route.orgId, channel: input.channel } })
    return refusal
  }
  // Break-glass is audited on its own (decision 080); the sign-in's own events follow.
  await recordAudit({ action: 'auth.sso_break_glass', actor: { id: user.id, label: user.email }, subjectId: user.id, organizationId: route.orgId, meta: input.meta, details: { organizationId: route.orgId, role: membership?.role ?? null, platformRole: user.platformRole, channel: input.channel } })
  return afterPassword(check.context, { ...input, ownFactorRequired: true })
}

/** Sign-in after the organization's identity provider (decision 075): the same decision as after a password. */
export async function signInWithSso(userId: string, input: Omit<AfterPasswordInput, 'proof' | 'ownFactorRequired'> & { sso: SsoProof }): Promise<SignInResult> {
  const context = await loadSignInContext({ id: userId })
  if (!context) return refuse('gone', 'This account no longer exists.')
  return afterPassword(context, input)
}

/**
 * Sign-in right after an invitation link set the password (decision 050): the link came by email,
 * so it proves the mailbox as an email code would (to /enroll when held to enrollment); a member
 * who already holds an app or key is still asked for it.
 */
export async function signInAfterInvite(userId: string, meta: RequestMeta, channel: Channel = 'web'): Promise<SignInResult> {
  const context = await loadSignInContext({ id: userId })
  if (!context) return refuse('gone', 'This invitation has expired or was already used. Ask your administrator for a new one.')
  return afterPassword(context, { meta, channel, proof: 'password_and_mailbox' })
}

/** Everything after an accepted password: the one decision on what was loaded with the member, and what it leads to. */
export async function afterPassword({ user, factors, policy, device }: SignInContext, input: AfterPasswordInput): Promise<SignInResult> {
  const returnTo = input.returnTo ?? '/'
  const step = decideNextStep({
    user, factors, policy, proof: input.proof, trustedDevice: input.ownFactorRequired ? null : device, idpMfa: input.sso?.idpMfa, ownFactorRequired: input.ownFactorRequired,
  })
  const first: SignInMethod = input.sso ? 'sso' : 'password'
  const session = (level: SessionLevel, method: SignInMethod, then: SignedIn['then']) =>
    startSession({ user, level, meta: input.meta, method, channel: input.channel, then, grace: then === 'grace_prompt' ? gracePromptFrom(policy) : null, returnTo, details: input.sso?.details })
  switch (step.kind) {
    case 'blocked':
      await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { reason: 'policy_blocked', channel: input.channel, ...input.sso?.details } })
      return refuse('blocked', step.message)
    // The provider's trusted MFA is a second factor passed, whether or not the policy asked for one here.
    case 'none':
      return input.sso?.idpMfa ? session('mfa', 'idp', 'continue') : session('password', first, 'continue')
    case 'grace_prompt':
      return input.sso?.idpMfa ? session('mfa', 'idp', 'grace_prompt') : session('password', first, 'grace_prompt')
    case 'enroll_only':
      return session('enroll_only', first, 'enroll_only')
    case 'second_factor': {
      const { passedBy, ...owed } = step
      // The identity provider's MFA, trusted by the region policy: the session records secondFactor 'idp'.
      if (passedBy === 'idp') return session('mfa', 'idp', afterSecondFactor(owed))
      if (passedBy === 'email') {
        const signedIn = await session(owed.enrollAfter ? 'enroll_only' : 'mfa', 'email', afterSecondFactor(owed))
        await clearResetMarker(user)
        return signedIn
      }
      if (passedBy === 'trusted_device' && device) {
        await markTrustedDeviceUsed(device.id, input.deviceToken!)
        // A trusted device signs in at the MFA level but sets no second_factor_at: it never counts for step-up.
        return session('mfa', 'trusted_device', 'continue')
      }
      const { token } = await createVerification({
        purpose: 'login',
        userId: user.id,
        payload: { decision: owed, redirectTo: returnTo, channel: input.channel },
        ttlSeconds: CHALLENGE_TTL_SECONDS,
        maxAttempts: CHALLENGE_MAX_ATTEMPTS,
        withToken: true,
      })
      return { kind: 'second_factor', token: token!, methods: owed.methods, preferred: owed.preferred }
    }
  }
}

const afterSecondFactor = (step: SecondFactorStep): SignedIn['then'] => (step.enrollAfter ? 'enroll_only' : step.graceAfter ? 'grace_prompt' : 'continue')

async function clearResetMarker(user: User) {
  if (user.mfaResetAt) await db.update(schema.users).set({ mfaResetAt: null }).where(eq(schema.users.id, user.id))
}

type SignInMethod = 'password' | 'totp' | 'webauthn' | 'email' | 'recovery_code' | 'trusted_device' | 'sso' | 'idp' | typeof ACCESS_CODE_METHOD

/**
 * Starts a real session once every step the member owes is done; audited; ends the run of failures.
 * `passkey`: the password and the key came in one step (decision 069), audited as such.
 */
async function startSession(
  input: { user: User; level: SessionLevel; meta: RequestMeta; method: SignInMethod; channel: Channel; passkey?: boolean; details?: Record<string, unknown> } & Pick<SignedIn, 'then' | 'grace' | 'returnTo'>,
): Promise<SignedIn> {
  const { user, level, meta, method, channel } = input
  const secondFactor = method !== 'password' && method !== 'trusted_device' && method !== 'sso' ? method : undefined
  const action = input.passkey ? 'auth.login_success_passkey' : method === 'recovery_code' ? 'auth.login_success_backup_code' : level === 'mfa' ? 'auth.login_success_2fa' : 'auth.login_success'
  // The session, the end of the run of failures and the audit event commit together (decision 068).
  const { token } = await startSignInSession(
    { userId: user.id, level, meta, secondFactorMethod: secondFactor, channel },
    { action, actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { method, level, channel, ...(input.passkey ? { passkey: true } : {}), ...input.details } },
  )
  return { kind: 'signed_in', user, token, level, then: input.then, grace: input.grace, returnTo: input.returnTo }
}

// ---------------------------------------------------------------------------------------------
// Passkey sign-in (decision 069): the password and a key in one step, no email typed.

/** A one-time challenge for a passkey sign-in in `region` (expiring, spent by the first answer). */
export async function passkeySignInOptions(region: string) {
  return passkeyAuthenticationOptions(region)
}

const PASSKEY_STALE = 'This passkey request has expired or was already used. Try again.'
/** One answer for a passkey that is not registered here and for one whose answer does not verify. */
const PASSKEY_REFUSED = 'That passkey could not sign you in. Try again, or sign in with your email and password.'
const PASSKEY_OTHER_REGION = 'This passkey belongs to an account in another region. Choose that region (or open its address) and try again.'

/**
 * Signs in with a passkey: the challenge names the region; the credential names the account, which
 * must be of that region. The same throttles and lockout as a password sign-in, the assertion
 * through the one verifier (user verification required, counter checked; a wrong answer counts
 * toward the lockout), then the same decision (`decideNextStep`, read by `decidePasskey`), the same
 * grace prompt and a session audited as `auth.login_success_passkey`.
 */
export async function signInWithPasskey(input: { challengeId: string; response: AuthenticationResponseJSON; meta: RequestMeta; channel: Channel; returnTo?: string }): Promise<SignInResult> {
  const { meta, channel } = input
  const returnTo = safeRedirectPath(input.returnTo)
  const region = await passkeyChallengeRegion(input.challengeId)
  if (!region) return refuse('gone', PASSKEY_STALE)
  const owner = await findPasskeyOwner(input.response)
  const throttle = await throttleAttempt(meta.ip, owner ? accountKey(owner.user.region, owner.user.email) : `passkey:${region}`)
  if (!throttle.allowed) {
    const wait = throttle.retryAfterSeconds
    return refuse('throttled', `Too many sign-in attempts. Try again in ${waitInWords(wait)}.`, { retryAfterSeconds: wait })
  }
  if (!owner || owner.user.region !== region) {
    // The challenge is spent by this answer as by any other.
    await consumeVerification(input.challengeId)
    const reason = owner ? 'passkey_other_region' : 'unknown_passkey'
    await recordAudit({ action: 'auth.login_failed', actor: { id: owner?.user.id ?? null, label: owner?.user.email ?? 'passkey' }, subjectId: owner?.user.id ?? null, meta, details: { region, reason, channel } })
    return refuse('invalid_credentials', owner ? PASSKEY_OTHER_REGION : PASSKEY_REFUSED)
  }
  const context = await loadSignInContext({ id: owner.user.id })
  if (!context) return refuse('invalid_credentials', PASSKEY_REFUSED)
  const { user } = context
  const locked = lockRemainingSeconds(user)
  if (locked > 0) {
    await consumeVerification(input.challengeId)
    const answer = lockedAnswer(locked)
    return answer.ok ? refuse('locked', '') : answer.refusal
  }
  const checked = await verifyFactor(user, { method: 'webauthn', challengeId: input.challengeId, response: input.response }, { kind: 'passkey', id: input.challengeId, target: passkeyTarget(region) }, meta)
  if (!checked.ok) {
    if (checked.code === 'expired_challenge') return refuse('gone', PASSKEY_STALE)
    const message = checked.code === 'unknown_key' || checked.code === 'not_verified' ? PASSKEY_REFUSED : checked.message
    return refuse('invalid_credentials', message, { method: 'webauthn' })
  }
  // The same decision as after a password (a passkey never stands on a remembered device: it is the factor).
  const step = decideNextStep({ user, factors: context.factors, policy: context.policy, proof: 'password' })
  const verdict = decidePasskey(step, context.policy)
  if (verdict.kind === 'refused') {
    const reason = verdict.reason === 'blocked' ? 'policy_blocked' : `passkey_${verdict.reason}`
    await recordAudit({ action: 'auth.login_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { reason, channel, passkey: true } })
    return refuse(verdict.reason === 'blocked' ? 'blocked' : 'method_unavailable', verdict.message, { method: 'webauthn' })
  }
  const signedIn = await startSession({ user, level: 'mfa', meta, method: 'webauthn', channel, passkey: true, then: verdict.then, grace: null, returnTo })
  if (signedIn.then === 'grace_prompt') signedIn.grace = gracePromptFrom(context.policy)
  return signedIn
}

// ---------------------------------------------------------------------------------------------
// The second step of a sign-in.

export type PendingSignIn = { verification: Verification; user: User; step: SecondFactorStep; returnTo: string; channel: Channel }

/**
 * The live pending sign-in behind a challenge token, on its own channel only (an API challengeId
 * cannot be replayed as a web cookie, nor the other way round); null when missing, expired, used
 * up or the account is locked.
 */
export async function loadChallenge(token: string | undefined, channel: Channel): Promise<PendingSignIn | null> {
  if (!token) return null
  const found = await findByTokenWithUser('login', token)
  if (!found) return null
  const { verification, user } = found
  const payload = verification.payload as { decision: SecondFactorStep; redirectTo?: string; channel?: Channel }
  if ((payload.channel ?? 'web') !== channel) return null
  if (lockRemainingSeconds(user) > 0) return null
  // Decided again where it is used, by the one rule for redirect targets (decision 060).
  return { verification, user, step: payload.decision, returnTo: safeRedirectPath(payload.redirectTo), channel }
}

const NOT_AVAILABLE = 'That way of verifying is not available for this account.'
const ENDED = 'Too many wrong attempts. For your safety this sign-in has ended: sign in again.'

/** What a code or a key needs first: an emailed code, or a key's challenge (both bound to `target`). */
export type Prepared = { kind: 'email_sent'; to: string } | { kind: 'webauthn_options'; options: unknown; challengeId: string } | Refused

async function prepare(user: User, target: string, method: 'email' | 'webauthn', email: { withLink: boolean; apiSignIn?: boolean }): Promise<Prepared> {
  if (method === 'email') {
    const sent = await sendEmailCode(user, target, email)
    if (sent.ok) return { kind: 'email_sent', to: user.email }
    if (sent.code === 'too_soon') return refuse('too_soon', `A code was just sent. You can ask for a new one in ${sent.retryAfterSeconds} seconds.`, { retryAfterSeconds: sent.retryAfterSeconds })
    return refuse('mail_unavailable', EMAIL_CODE_MESSAGES.unavailable)
  }
  const created = await webauthnAuthenticationOptions(user, target)
  if (!created) return refuse('no_key', 'There is no security key on this account.')
  return { kind: 'webauthn_options', options: created.options, challengeId: created.challengeId }
}

/** Sends the sign-in email code (with a link on the web) or a key's challenge, for a method the step offers. */
export async function prepareSecondFactor(pending: PendingSignIn, method: 'email' | 'webauthn'): Promise<Prepared> {
  if (!methodAllowed(pending.step, method)) return refuse('method_unavailable', NOT_AVAILABLE)
  return prepare(pending.user, pending.verification.id, method, pending.channel === 'web' ? { withLink: true } : { withLink: false, apiSignIn: true })
}

export const hasSentEmailCode = async (pending: PendingSignIn) => Boolean(await findEmailCode(pending.user.id, pending.verification.id))

/**
 * The member had recovery codes and used them all, so the prompt says "No recovery codes left"
 * with the other ways instead of leaving the link out (reference page 000).
 */
export async function noRecoveryCodesLeft(pending: PendingSignIn): Promise<boolean> {
  if (pending.step.reason !== 'factor' || pending.step.methods.includes('recovery_code')) return false
  return recoveryCodesUsedUp(pending.user.id)
}

/** When this pending sign-in may ask for a new email code (server time), or null when it may now. */
export const emailCodeResendAt = (pending: PendingSignIn) => emailResendAt(pending.verification.id)

/**
 * Landing on the email step (the password step when email comes first, or "Use email verification
 * instead", reference page 000): a code is sent, unless one went out less than a minute ago, which
 * stays the one to type (the once-a-minute limit holds; "Send a new code" says when).
 */
export async function landOnEmailStep(pending: PendingSignIn): Promise<Prepared> {
  const sent = await prepareSecondFactor(pending, 'email')
  if (sent.kind === 'refused' && sent.code === 'too_soon') return { kind: 'email_sent', to: pending.user.email }
  return sent
}

/**
 * The password step's answer when email comes first (web and API alike, decisions 071, 081): the
 * code goes out with it, so the member does not have to ask. `sent` is false when the mail could
 * not be queued (the member may ask again); `resendAt` is when a new code may be asked for.
 * Null when email is not the step's first method.
 */
export async function sendCodeWhenEmailFirst(result: ChallengeIssued, channel: Channel): Promise<{ sent: boolean; resendAt: Date | null } | null> {
  if (result.preferred !== 'email') return null
  const pending = await loadChallenge(result.token, channel)
  if (!pending) return null
  const landed = await landOnEmailStep(pending)
  return { sent: landed.kind === 'email_sent', resendAt: await emailCodeResendAt(pending) }
}

/**
 * Checks the answer through the verifier (attempt limits, consuming the challenge, audit) and
 * completes the sign-in: a fresh session at the level the step says, the reset marker cleared, and
 * the device remembered when asked.
 */
export async function verifySecondFactor(pending: PendingSignIn, input: FactorInput, meta: RequestMeta, options: { remember?: boolean } = {}): Promise<SignInResult> {
  if (!methodAllowed(pending.step, input.method)) {
    const noneLeft = input.method === 'recovery_code' && (await noRecoveryCodesLeft(pending))
    return refuse('method_unavailable', noneLeft ? RECOVERY_MESSAGES.none_left : NOT_AVAILABLE, { method: input.method })
  }
  const challenge: Challenge = { kind: 'verification', id: pending.verification.id, target: pending.verification.id }
  return finishWith(pending, await verifyFactor(pending.user, input, challenge, meta), meta, options)
}

/**
 * "Use a temporary access code" at the second step (decision 070), whatever the step offers: the
 * code was issued after support or an admin checked who the member is. It signs in once, to an
 * enrollment-only session (15 minutes, enrollment and sign-out only) whose step-up the code
 * stands for, so the member adds a new app or key straight away. Their other factors, recovery
 * codes and remembered devices stay; the reset marker stays too (the code proves no mailbox).
 */
export async function verifyAccessCodeAtSignIn(pending: PendingSignIn, code: string, meta: RequestMeta): Promise<SignInResult> {
  const checked = await verifyAccessCode(pending.user, code, { kind: 'verification', id: pending.verification.id, target: pending.verification.id }, meta)
  if (!checked.ok) {
    if (checked.code === 'consumed') return refuse('gone', ALREADY_DONE)
    if (checked.attemptsLeft === 0) return refuse('ended', ENDED, { attemptsLeft: 0 })
    return refuse('invalid_code', checked.message, { attemptsLeft: checked.attemptsLeft })
  }
  return startSession({ user: pending.user, level: 'enroll_only', meta, method: ACCESS_CODE_METHOD, channel: pending.channel, then: 'enroll_only', grace: null, returnTo: '/enroll' })
}

/** The email link: a confirm page whose POST completes only the pending sign-in this browser holds. */
export async function findEmailLink(token: string) {
  if (!token || token.length > 100) return undefined
  return findByToken('email_code', token)
}

const ALREADY_DONE = 'This sign-in was already completed or has expired. Sign in again.'
const LINK_GONE = 'This sign-in link has expired or was already used. Sign in again.'

export async function verifyEmailLink(pending: PendingSignIn | null, token: string, meta: RequestMeta): Promise<SignInResult> {
  const link = await findEmailLink(token)
  if (!link) return refuse('gone', LINK_GONE)
  if (!pending || link.target !== pending.verification.id || link.userId !== pending.user.id) {
    return refuse('link_elsewhere', 'Open this link in the browser where you started signing in. For your safety it only works there.')
  }
  if (!methodAllowed(pending.step, 'email')) return refuse('method_unavailable', NOT_AVAILABLE)
  // The link is the code: spending it spends the pending sign-in too, in one transaction.
  const used = await verifyFactor(pending.user, { method: 'email', code: '' }, { kind: 'email_link', id: link.id, spends: pending.verification.id }, meta)
  if (!used.ok) return refuse('gone', used.code === 'consumed' ? ALREADY_DONE : LINK_GONE)
  return finishWith(pending, used, meta, {})
}

async function finishWith(pending: PendingSignIn, checked: Verified | NotVerified, meta: RequestMeta, options: { remember?: boolean }): Promise<SignInResult> {
  if (!checked.ok) return wrongAnswer(checked)
  const { user, step } = pending
  const level = step.enrollAfter ? 'enroll_only' : 'mfa'
  const signedIn = await startSession({ user, level, meta, method: checked.method, channel: pending.channel, then: afterSecondFactor(step), grace: null, returnTo: pending.returnTo })
  await clearResetMarker(user)
  if (signedIn.then === 'grace_prompt') signedIn.grace = gracePromptFrom(await loadEffectivePolicy(user.id))
  if (options.remember && checked.method !== 'recovery_code' && level === 'mfa' && step.rememberDays > 0) {
    signedIn.deviceCookie = await rememberDevice(user, checked.method, meta, step.rememberDays)
  }
  return signedIn
}

function wrongAnswer(checked: NotVerified): Refused {
  if (checked.code === 'consumed') return refuse('gone', ALREADY_DONE)
  if (checked.attemptsLeft === 0) return refuse('ended', ENDED, { method: checked.method, attemptsLeft: 0 })
  return refuse('invalid_code', checked.message, { method: checked.method, attemptsLeft: checked.attemptsLeft })
}

/** The grace prompt for a member right now, or null when they are not in grace (decided again on every visit). */
export async function loadGracePrompt(userId: string, now = new Date()): Promise<GracePrompt | null> {
  return gracePromptFrom(await loadEffectivePolicy(userId, now), now)
}

// ---------------------------------------------------------------------------------------------
// Enrollment: an enrollment-only session is replaced by a fresh MFA session once the member holds a
// factor their policy allows (the factor just proven counts as the second factor).

/**
 * The fresh session on the same channel, or null when the session was not enrollment-only or the
 * policy still holds the member to enrollment. The old session ends within a minute rather than at
 * once: the page that shows the recovery codes is rendered with the cookie the request came with.
 */
export async function enroll(session: Session, userId: string, method: 'totp' | 'webauthn', meta: RequestMeta, channel: Channel): Promise<SignedIn | null> {
  if (session.level !== 'enroll_only') return null
  const policy = await loadEffectivePolicy(userId)
  if (policy.signIn.kind === 'enroll_only' || policy.signIn.kind === 'blocked') return null
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, userId))
  const signedIn = await startSession({ user, level: 'mfa', meta, method, channel, then: 'continue', grace: null, returnTo: '/' })
  await db
    .update(schema.sessions)
    .set({ absoluteExpiresAt: sql`least(${schema.sessions.absoluteExpiresAt}, now() + interval '1 minute')`, idleExpiresAt: sql`least(${schema.sessions.idleExpiresAt}, now() + interval '1 minute')` })
    .where(eq(schema.sessions.id, session.id))
  return signedIn
}

// ---------------------------------------------------------------------------------------------
// Step-up: a fresh second factor on this session (the guard is `requireStepUp` in app/mfa).

export type SteppedUp = { kind: 'stepped_up'; method: Method }
export type StepUpResult = SteppedUp | Refused

const CANNOT_CONFIRM = 'That way of confirming is not available for this account.'

/** The step-up page: which methods (an email code only without an app or key), the one to show, whether a code was sent. */
export async function stepUpOptions(user: User, session: Session, asked: string | null) {
  const methods = stepUpMethods(await listFactors(user.id))
  const preferred = (user.preferredMethod && methods.includes(user.preferredMethod) ? user.preferredMethod : methods[0]) as Method
  const method = (asked && methods.includes(asked as Method) ? asked : preferred) as Method
  return { method, methods, emailSent: method === 'email' ? Boolean(await findEmailCode(user.id, stepUpTarget(session))) : false }
}

/**
 * Landing on the step-up page (decision 081): when the method shown is the email code, it is sent
 * now, as at sign-in (reference page 000), unless this session already has a live one (a reload, or
 * the page again after a wrong code, sends nothing). The once-a-minute limit holds; `resendAt` is
 * when "Send a new code" may be used (server time). A code that could not be queued leaves the
 * page's "Send the code" button to say why.
 */
export async function landOnStepUp(user: User, session: Session, asked: string | null) {
  const options = await stepUpOptions(user, session, asked)
  if (options.method !== 'email') return { ...options, resendAt: null }
  if (!options.emailSent) {
    const sent = await prepareStepUp(user, session, 'email')
    options.emailSent = sent.kind === 'email_sent' || (sent.kind === 'refused' && sent.code === 'too_soon')
  }
  return { ...options, resendAt: (await emailResendAt(stepUpTarget(session)))?.toISOString() ?? null }
}

export async function prepareStepUp(user: User, session: Session, method: 'email' | 'webauthn'): Promise<Prepared> {
  if (!stepUpMethods(await listFactors(user.id)).includes(method)) return refuse('method_unavailable', CANNOT_CONFIRM)
  return prepare(user, stepUpTarget(session), method, { withLink: false })
}

/** The wrong answer's message, warning when the session is about to end (an email code's message already counts its tries). */
const withTriesLeft = (message: string, left: number, method: Method) =>
  left <= 2 && method !== 'email' ? `${message} ${left} ${left === 1 ? 'try' : 'tries'} left before you are signed out.` : message

export const TOO_MANY_STEP_UP_CODES = 'Too many wrong codes: you have been signed out.'

/**
 * Checks a step-up answer through the verifier: an email code is refused when the member has an
 * app or key, a trusted device never counts; the fifth wrong answer on this session ends it
 * ('ended'); success records the fresh second factor on the session.
 */
export async function stepUp(user: User, session: Session, input: FactorInput, meta: RequestMeta): Promise<StepUpResult> {
  if (!stepUpMethods(await listFactors(user.id)).includes(input.method)) return refuse('method_unavailable', CANNOT_CONFIRM)
  const checked = await verifyFactor(user, input, { kind: 'step_up', session }, meta)
  if (checked.ok) return { kind: 'stepped_up', method: checked.method }
  if (checked.attemptsLeft === 0) return refuse('ended', TOO_MANY_STEP_UP_CODES, { method: input.method, attemptsLeft: 0 })
  return refuse('invalid_code', withTriesLeft(checked.message, checked.attemptsLeft ?? Infinity, input.method), { method: input.method, attemptsLeft: checked.attemptsLeft })
}

/**
 * Step-up from one typed code (the JSON API and CLI, which have no step-up page; decision 046): a
 * current app code or a recovery code; an email code only for a member with no app or key.
 */
export async function stepUpWithCode(user: User, session: Session, code: string, meta: RequestMeta): Promise<StepUpResult> {
  const methods = stepUpMethods(await listFactors(user.id))
  const digits = code.replace(/\s+/g, '')
  const method = /^\d{6}$/.test(digits)
    ? methods.includes('totp') ? 'totp' : methods.includes('email') ? 'email' : undefined
    : methods.includes('recovery_code') ? 'recovery_code' : undefined
  if (!method) {
    const what = methods.includes('totp') ? 'the 6-digit code from your authenticator app or a recovery code' : methods.includes('email') ? 'the 6-digit code we email you' : 'a recovery code'
    return refuse('method_unavailable', `Confirm with ${what}.`)
  }
  return stepUp(user, session, { method, code }, meta)
}
