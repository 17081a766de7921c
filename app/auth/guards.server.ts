/**
 * Guards, in one module: the first line of every loader and action. Each throws the Response
 * the caller should get (a redirect to sign in, a 404) so routes stay straight-line.
 */
import { findMembership, orgScope, roleAtLeast, type OrgRole } from '#app/orgs/scope.server.ts'
import { isUuid } from './verification.server.ts'
import { notFound, redirectTo, requestMeta } from '#app/http/request.server.ts'
import { stepUpLocation } from '#app/http/resume.server.ts'
import { refuseChange } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { hasAppOrKey, listFactors } from '#app/mfa/factors.server.ts'
import { loadLiveSession } from './live-session.server.ts'
import { clearSessionCookie, readSessionToken, sessionPassedSecondFactor, type Session, type User } from './session.server.ts'
import { noteRequestOrganization } from '#app/observability/request-context.server.ts'

export type SignedIn = { session: Session; user: User }

/** Paths an enrollment-only session may reach. */
const ENROLLMENT_PATHS = [/^\/enroll(\/|$)/, /^\/settings\/security\/(totp|keys|recovery-codes)(\/|$)/, /^\/logout$/]

/**
 * Who is signed in, for pages that only read it (the layout, the sign-in page). The policy is
 * decided on a password-level session as in `requireUser`, but nothing is written: a session the
 * policy now blocks reads as signed out, one held to enrollment as enrollment-only.
 */
export async function getSignedIn(request: Request): Promise<SignedIn | null> {
  const live = await loadLiveSession(readSessionToken(request), 'web', { apply: false })
  return live.kind === 'signed_in' ? { session: live.session, user: live.user } : null
}

/**
 * A signed-in member, with the organization policy enforced on the session now (decision 026):
 * a session the policy blocks ends here (to /login with the reason), one held to enrollment
 * reaches only the enrollment pages.
 */
export async function requireUser(request: Request): Promise<SignedIn> {
  const token = readSessionToken(request)
  const live = await loadLiveSession(token, 'web', { apply: true, meta: { ip: null, userAgent: request.headers.get('user-agent') } })
  const url = new URL(request.url)
  if (live.kind === 'blocked') throw redirectTo('/login?notice=blocked', { 'Set-Cookie': clearSessionCookie() })
  const signedIn = live.kind === 'signed_in' ? { session: live.session, user: live.user } : null
  if (!signedIn) {
    const redirectToPath = url.pathname + url.search
    throw redirectTo(`/login?redirectTo=${encodeURIComponent(redirectToPath)}`, token ? { 'Set-Cookie': clearSessionCookie() } : {})
  }
  if (signedIn.session.level === 'enroll_only' && !ENROLLMENT_PATHS.some((p) => p.test(url.pathname))) {
    throw redirectTo('/enroll')
  }
  return signedIn
}

/** The caller's organization (by slug or id) if they hold at least `role` in it; 404 otherwise. */
export async function requireOrgRole(request: Request, orgRef: string, role: OrgRole = 'admin') {
  const signedIn = await requireUser(request)
  const found = await findMembership(signedIn.user.id, isUuid(orgRef) ? { id: orgRef } : { slug: orgRef })
  if (!found || !roleAtLeast(found.membership.role, role)) throw notFound()
  noteRequestOrganization(found.org.id)
  return { ...signedIn, org: found.org, membership: found.membership, scope: orgScope(found.org) }
}

/**
 * The first line of every organization ACTION (loaders use requireOrgRole): the role, and a session
 * that passed a second factor (decision 056; ASVS 4.3.1). With a password-only session an owner or
 * admin may look but not change: one without an app or key is sent to set one up, one with a factor
 * goes through step-up and comes back to the page. The refusal is recorded with who tried it.
 */
export async function requireOrgChange(request: Request, orgRef: string, role: OrgRole = 'admin', context?: { ip?: string | null }) {
  const found = await requireOrgRole(request, orgRef, role)
  if (sessionPassedSecondFactor(found.session)) return found
  const url = new URL(request.url)
  const error = new DomainError('mfa_required', 'Owners and admins change nothing without a second factor: confirm it’s you, then try again.')
  await refuseChange(error, {
    actor: { id: found.user.id, label: found.user.email }, attempt: `${request.method} ${url.pathname}`, organizationId: found.org.id, meta: requestMeta(request, context),
  }).catch((e) => {
    if (e !== error) throw e
  })
  if (!hasAppOrKey(await listFactors(found.user.id))) throw redirectTo('/settings/security?notice=mfa-required')
  throw redirectTo(stepUpLocation(url.pathname + url.search))
}

/** Support staff and superadmins only, and only at the MFA level; everyone else gets 404. */
export async function requireSupport(request: Request) {
  const signedIn = await requireUser(request)
  if (signedIn.user.platformRole === 'none') throw notFound()
  if (signedIn.session.level !== 'mfa') throw redirectTo('/enroll')
  return signedIn
}
