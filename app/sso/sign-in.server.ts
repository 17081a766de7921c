/**
 * Single sign-on at an organization's identity provider (decision 075): the redirect, the
 * callback, just-in-time membership, linking an existing account only after its holder proves it,
 * and step-up by re-authenticating at the provider. What follows a verified callback is the same
 * decision as after a password (`signInWithSso` in app/sign-in/flow.server.ts).
 *
 * The redirect's state lives in a 'sso' verification whose 256-bit token is the browser's gh_sso
 * cookie (stored as a keyed hash, 10 minutes, consumed once); the PKCE verifier is derived from
 * that token, so the database holds nothing that completes the flow. A failure is audited
 * (auth.sso_failed with the reason) and writes nothing else.
 */
import { and, eq, sql } from 'drizzle-orm'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { recordWrongPassword } from '#app/auth/lockout.server.ts'
import { verifyPassword } from '#app/auth/password.server.ts'
import { normaliseEmail } from '#app/auth/rate-limit.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { consumeVerification, countAttempt, createVerification, findByToken, type Verification } from '#app/auth/verification.server.ts'
import { randomToken } from '#app/auth/crypto.server.ts'
import { DomainError } from '#app/errors.ts'
import { safeRedirectPath } from '#app/http/request.server.ts'
import { verifyFactor } from '#app/mfa/verifier.server.ts'
import type { SsoProof } from '#app/sign-in/flow.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { loadSsoConfig } from './config.server.ts'
import { idpMfaCounts, type IdpClaims } from './idp-mfa.ts'
import { authorizationUrl, discover, exchangeCode, FAILED_CHECKS, SsoError, type IdTokenClaims } from './oidc.server.ts'

export const SSO_TTL_SECONDS = 10 * 60
export const LINK_MAX_ATTEMPTS = 5

type Pending = { orgId: string; state: string; nonce: string; returnTo: string; mode: 'sign_in' | 'step_up'; sessionId?: string; userId?: string }

/** A redirect to the provider: where to send the browser, and the cookie that binds the callback to it. */
export type Redirect = { location: string; cookieToken: string }

const failed = async (orgId: string | null, reason: string, meta: RequestMeta, extra: Record<string, unknown> = {}) =>
  recordAudit({ action: 'auth.sso_failed', actor: { id: null, label: 'sso' }, organizationId: orgId, meta, details: { reason, ...extra } })

/** Runs a step, auditing an SsoError with its reason before it is thrown on. */
async function audited<T>(orgId: string, stage: string, meta: RequestMeta, run: () => Promise<T>): Promise<T> {
  try {
    return await run()
  } catch (e) {
    if (e instanceof SsoError) await failed(orgId, e.reason, meta, { stage })
    throw e
  }
}

async function configOf(orgId: string) {
  const cfg = await loadSsoConfig(orgId)
  if (!cfg) throw new DomainError('not_found', 'Single sign-on is not set up for this organization.')
  return cfg
}

async function redirectToProvider(pending: Omit<Pending, 'state' | 'nonce'>, meta: RequestMeta, extra: { loginHint?: string; maxAge?: number; userId?: string }): Promise<Redirect> {
  const cfg = await configOf(pending.orgId)
  const configuration = await audited(pending.orgId, 'start', meta, () => discover(cfg))
  const state = randomToken()
  const nonce = randomToken()
  const { token } = await createVerification({ purpose: 'sso', userId: extra.userId ?? null, target: pending.orgId, payload: { ...pending, state, nonce }, ttlSeconds: SSO_TTL_SECONDS, maxAttempts: 1, withToken: true })
  const location = await authorizationUrl(configuration, { cookieToken: token!, state, nonce, loginHint: extra.loginHint, maxAge: extra.maxAge })
  return { location, cookieToken: token! }
}

/** Starts a sign-in at the organization's provider. */
export async function startSsoSignIn(input: { orgId: string; email?: string; returnTo?: string; meta: RequestMeta }): Promise<Redirect> {
  return redirectToProvider({ orgId: input.orgId, returnTo: safeRedirectPath(input.returnTo), mode: 'sign_in' }, input.meta, { loginHint: input.email })
}

/** The organization whose provider this member signed in with (their linked identity), or null. */
export async function linkedIdentity(userId: string) {
  const [row] = await db.select().from(schema.ssoIdentities).where(eq(schema.ssoIdentities.userId, userId)).limit(1)
  return row ?? null
}

/** Step-up at the provider: `max_age=0` forces a fresh authentication, and the MFA claim is checked again at the callback. */
export async function startSsoStepUp(input: { user: User; session: Session; returnTo?: string; meta: RequestMeta }): Promise<Redirect> {
  const identity = await linkedIdentity(input.user.id)
  if (!identity) throw new DomainError('method_unavailable', 'This account does not sign in through single sign-on.')
  return redirectToProvider(
    { orgId: identity.organizationId, returnTo: safeRedirectPath(input.returnTo), mode: 'step_up', sessionId: input.session.id, userId: input.user.id },
    input.meta,
    { maxAge: 0, userId: input.user.id, loginHint: input.user.email },
  )
}

export type SsoOutcome =
  /** Verified: sign in this member through the one sign-in decision. */
  | { kind: 'sign_in'; userId: string; sso: SsoProof; returnTo: string }
  /** An account with this address exists and is not linked: its holder must prove it first (the cookie is the link's token). */
  | { kind: 'link'; cookieToken: string }
  | { kind: 'stepped_up'; returnTo: string }

const STATE_LOST = 'This single sign-on attempt is unknown or has expired, or was started in another browser. Start again from the sign-in page.'

/**
 * The provider's callback. `cookieToken` is this browser's gh_sso cookie; `session` the session
 * the browser holds (for a step-up). Throws SsoError/DomainError (audited); writes nothing else on failure.
 */
export async function completeSso(input: { url: URL; cookieToken: string | undefined; session: Session | null; meta: RequestMeta }): Promise<SsoOutcome> {
  const { url, cookieToken, meta } = input
  const stateParam = url.searchParams.get('state')
  if (!cookieToken) {
    await failed(null, stateParam ? 'no_cookie' : 'missing_state', meta)
    throw new SsoError('sso_failed', 'missing_state', STATE_LOST)
  }
  const pendingRow = await findByToken('sso', cookieToken)
  if (!pendingRow) {
    await failed(null, 'unknown_or_expired', meta)
    throw new SsoError('sso_failed', 'unknown_or_expired', STATE_LOST)
  }
  const pending = pendingRow.payload as Pending
  // Used once, whatever comes next: a replayed callback or a second tab finds nothing.
  if (!(await consumeVerification(pendingRow.id))) {
    await failed(pending.orgId, 'already_used', meta)
    throw new SsoError('sso_failed', 'already_used', STATE_LOST)
  }
  if (!stateParam || stateParam !== pending.state) {
    const reason = stateParam ? 'state_mismatch' : 'missing_state'
    await failed(pending.orgId, reason, meta)
    throw new SsoError('sso_failed', reason, STATE_LOST)
  }
  const cfg = await configOf(pending.orgId)
  const claims = await audited(pending.orgId, pending.mode, meta, async () => {
    const configuration = await discover(cfg)
    return exchangeCode(configuration, url, { cookieToken, state: pending.state, nonce: pending.nonce, maxAge: pending.mode === 'step_up' ? 0 : undefined })
  })
  const issuer = String(claims.iss)
  const details = { organizationId: pending.orgId, issuer, amr: Array.isArray(claims.amr) ? claims.amr : null, acr: typeof claims.acr === 'string' ? claims.acr : null }

  if (pending.mode === 'step_up') return stepUpAtProvider(pending, claims, input.session, details, meta)

  const [identity] = await db.select().from(schema.ssoIdentities)
    .where(and(eq(schema.ssoIdentities.organizationId, pending.orgId), eq(schema.ssoIdentities.issuer, issuer), eq(schema.ssoIdentities.subject, claims.sub)))
  if (identity) return signIn(identity.userId, pending, claims, details)

  const email = typeof claims[cfg.emailClaim] === 'string' ? normaliseEmail(claims[cfg.emailClaim] as string) : ''
  const domain = email.split('@')[1] ?? ''
  if (!email || claims.email_verified === false || !cfg.verifiedDomains.includes(domain)) {
    const reason = !email ? 'no_email_claim' : claims.email_verified === false ? 'email_not_verified' : 'domain_not_verified'
    await failed(pending.orgId, reason, meta, { domain: domain || null })
    throw new SsoError('sso_failed', reason, `Single sign-on did not complete: the identity provider did not give an address in one of ${cfg.verifiedDomains.join(', ')}${reason === 'email_not_verified' ? ' that it has verified' : ''}. Contact your administrator.`)
  }
  const [existing] = await db.select().from(schema.users).where(and(eq(schema.users.region, cfg.region), eq(schema.users.email, email)))
  if (existing) {
    // No silent linking: the account holder proves their password or current factor first.
    const { token } = await createVerification({
      purpose: 'sso_link', userId: existing.id, target: pending.orgId,
      payload: { orgId: pending.orgId, issuer, subject: claims.sub, amr: details.amr, acr: details.acr, returnTo: pending.returnTo },
      ttlSeconds: SSO_TTL_SECONDS, maxAttempts: LINK_MAX_ATTEMPTS, withToken: true,
    })
    return { kind: 'link', cookieToken: token! }
  }
  const name = typeof claims[cfg.nameClaim] === 'string' ? (claims[cfg.nameClaim] as string).slice(0, 200) : email.split('@')[0]
  const userId = await createFromSso({ orgId: pending.orgId, region: cfg.region, email, name, issuer, subject: claims.sub, meta })
  return signIn(userId, pending, claims, details)
}

/** Just-in-time membership: a new account in the organization's region, a member, linked to the provider's subject. */
async function createFromSso(input: { orgId: string; region: string; email: string; name: string; issuer: string; subject: string; meta: RequestMeta }): Promise<string> {
  return db.transaction(async (tx) => {
    const [user] = await tx.insert(schema.users).values({ email: input.email, name: input.name, region: input.region, passwordHash: null }).returning()
    await tx.insert(schema.memberships).values({ userId: user.id, organizationId: input.orgId, role: 'member' })
    await tx.insert(schema.ssoIdentities).values({ organizationId: input.orgId, issuer: input.issuer, subject: input.subject, userId: user.id })
    await recordAudit({ action: 'org.sso_member_created', actor: { id: user.id, label: user.email }, subjectId: user.id, organizationId: input.orgId, meta: input.meta, details: { region: input.region, issuer: input.issuer } }, tx)
    return user.id
  })
}

async function signIn(userId: string, pending: Pick<Pending, 'orgId' | 'returnTo'>, claims: IdpClaims, details: Record<string, unknown>): Promise<SsoOutcome> {
  return { kind: 'sign_in', userId, returnTo: pending.returnTo, sso: { idpMfa: await idpMfaFor(pending.orgId, userId, claims), details } }
}

/**
 * Whether the provider's MFA counts for this member now (app/sso/idp-mfa.ts): the SSO
 * organization's policy in the member's region trusts it, the token says so, and no other
 * organization of theirs in that region asks for a second factor.
 */
export async function idpMfaFor(orgId: string, userId: string, claims: IdpClaims, tx: Tx = db): Promise<boolean> {
  const rp = schema.regionPolicies
  const [user] = await tx.select({ region: schema.users.region, platformRole: schema.users.platformRole }).from(schema.users).where(eq(schema.users.id, userId))
  if (!user) return false
  const rows = await tx
    .select({ orgId: rp.organizationId, mode: rp.mode, trustIdpMfa: rp.trustIdpMfa, idpMfaAmr: rp.idpMfaAmr, idpMfaAcr: rp.idpMfaAcr })
    .from(schema.memberships)
    .innerJoin(rp, and(eq(rp.organizationId, schema.memberships.organizationId), eq(rp.region, user.region)))
    .where(eq(schema.memberships.userId, userId))
  const own = rows.find((r) => r.orgId === orgId) ?? null
  const otherAskingOrganizations = rows.filter((r) => r.orgId !== orgId && r.mode !== 'disabled').length
  return idpMfaCounts({ trust: own, platformRole: user.platformRole, otherAskingOrganizations, claims })
}

async function stepUpAtProvider(pending: Pending, claims: IdTokenClaims, session: Session | null, details: Record<string, unknown>, meta: RequestMeta): Promise<SsoOutcome> {
  const refuse = async (reason: string, message: string): Promise<never> => {
    await failed(pending.orgId, reason, meta, { stage: 'step_up', userId: pending.userId })
    throw new SsoError('sso_failed', reason, message)
  }
  if (!session || session.id !== pending.sessionId || session.userId !== pending.userId) return refuse('session_mismatch', 'This confirmation was started in another session. Start it again.')
  const [identity] = await db.select().from(schema.ssoIdentities)
    .where(and(eq(schema.ssoIdentities.organizationId, pending.orgId), eq(schema.ssoIdentities.issuer, String(claims.iss)), eq(schema.ssoIdentities.subject, claims.sub)))
  if (!identity || identity.userId !== pending.userId) return refuse('subject_mismatch', 'You signed in at the identity provider as someone else. Sign in there as yourself and try again.')
  if (!(await idpMfaFor(pending.orgId, pending.userId!, claims))) {
    return refuse('mfa_claim_missing', 'Your identity provider did not confirm a second factor (or your organization does not trust it for this). Confirm with your own Gatehouse factor instead.')
  }
  await db.transaction(async (tx) => {
    await tx.update(schema.sessions).set({ secondFactorAt: sql`now()`, secondFactorMethod: 'idp' }).where(and(eq(schema.sessions.id, session.id), eq(schema.sessions.userId, session.userId)))
    await recordAudit({ action: 'auth.sso_step_up', actor: { id: session.userId, label: 'sso' }, subjectId: session.userId, meta, details }, tx)
  })
  return { kind: 'stepped_up', returnTo: pending.returnTo }
}

// ---------------------------------------------------------------------------------------------
// Linking an existing account: only after its holder proves their password or current factor.

export type PendingLink = { verification: Verification; user: User; orgId: string; orgName: string; payload: LinkPayload }
type LinkPayload = { orgId: string; issuer: string; subject: string; amr: unknown; acr: unknown; returnTo: string }

export async function loadPendingLink(cookieToken: string | undefined): Promise<PendingLink | null> {
  if (!cookieToken) return null
  const verification = await findByToken('sso_link', cookieToken)
  if (!verification?.userId) return null
  const payload = verification.payload as LinkPayload
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  const [org] = await db.select().from(schema.organizations).where(eq(schema.organizations.id, payload.orgId))
  if (!user || !org) return null
  return { verification, user, orgId: org.id, orgName: org.name, payload }
}

export type LinkResult = { kind: 'linked'; userId: string; sso: SsoProof; returnTo: string } | { kind: 'refused'; message: string; attemptsLeft: number; field: 'password' | 'code' }

const WRONG_PROOF = 'That is not right.'

/**
 * Links the provider's identity to the account once its holder proves it: the account's password,
 * or a current code from its authenticator app (or a recovery code). Wrong answers count on the
 * link (5, then it ends) and, for the password, toward the account's lockout. Audited either way.
 */
export async function proveAndLink(link: PendingLink, proof: { password: string } | { code: string }, meta: RequestMeta): Promise<LinkResult> {
  const { user, payload } = link
  const audit = (action: 'auth.sso_linked' | 'auth.sso_link_refused', tx: Tx = db, extra: Record<string, unknown> = {}) =>
    recordAudit({ action, actor: { id: user.id, label: user.email }, subjectId: user.id, organizationId: link.orgId, meta, details: { issuer: payload.issuer, ...extra } }, tx)
  const complete = async (tx: Tx) => {
    await tx.insert(schema.ssoIdentities).values({ organizationId: link.orgId, issuer: payload.issuer, subject: payload.subject, userId: user.id })
    await tx.insert(schema.memberships).values({ userId: user.id, organizationId: link.orgId, role: 'member' }).onConflictDoNothing()
    await audit('auth.sso_linked', tx, { proof: 'password' in proof ? 'password' : 'factor' })
  }
  if ('password' in proof) {
    const right = Boolean(user.passwordHash) && (await verifyPassword(user.passwordHash!, proof.password))
    if (!right) {
      const attempts = await countAttempt(link.verification.id)
      await recordWrongPassword(user, meta, 'sso_link')
      await audit('auth.sso_link_refused', db, { reason: 'wrong_password' })
      return { kind: 'refused', message: WRONG_PROOF + ' Enter the password of this account.', attemptsLeft: Math.max(0, link.verification.maxAttempts - attempts), field: 'password' }
    }
    const won = await db.transaction(async (tx) => {
      if (!(await consumeVerification(link.verification.id, tx))) return false
      await complete(tx)
      return true
    })
    if (!won) return { kind: 'refused', message: 'This link was already completed or has expired. Start again from the sign-in page.', attemptsLeft: 0, field: 'password' }
  } else {
    const digits = proof.code.replace(/\s+/g, '')
    const input = /^\d{6}$/.test(digits) ? ({ method: 'totp', code: digits } as const) : ({ method: 'recovery_code', code: proof.code } as const)
    const checked = await verifyFactor(user, input, { kind: 'verification', id: link.verification.id, target: link.verification.id }, meta, { complete })
    if (!checked.ok) {
      await audit('auth.sso_link_refused', db, { reason: 'wrong_factor' })
      return { kind: 'refused', message: checked.message, attemptsLeft: checked.attemptsLeft ?? LINK_MAX_ATTEMPTS, field: 'code' }
    }
  }
  const details = { organizationId: link.orgId, issuer: payload.issuer, amr: payload.amr, acr: payload.acr }
  return { kind: 'linked', userId: user.id, returnTo: payload.returnTo, sso: { idpMfa: await idpMfaFor(link.orgId, user.id, { amr: payload.amr, acr: payload.acr }), details } }
}

export { FAILED_CHECKS }
