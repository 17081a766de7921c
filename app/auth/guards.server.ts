/**
 * Guards, in one module: the first line of every loader and action. Each throws the Response
 * the caller should get (a redirect to sign in, a 404) so routes stay straight-line.
 */
import { findMembership, orgScope, roleAtLeast, type OrgRole } from '#app/orgs/scope.server.ts'
import { isUuid } from './verification.server.ts'
import { notFound, redirectTo } from '#app/http/request.server.ts'
import { clearSessionCookie, loadSession, readSessionToken } from './session.server.ts'

export type SignedIn = NonNullable<Awaited<ReturnType<typeof loadSession>>>

/** Paths an enrollment-only session may reach. */
const ENROLLMENT_PATHS = [/^\/enroll(\/|$)/, /^\/settings\/security\/(totp|keys|recovery-codes)(\/|$)/, /^\/logout$/]

export async function getSignedIn(request: Request): Promise<SignedIn | null> {
  return loadSession(readSessionToken(request))
}

export async function requireUser(request: Request): Promise<SignedIn> {
  const signedIn = await getSignedIn(request)
  const url = new URL(request.url)
  if (!signedIn) {
    const redirectToPath = url.pathname + url.search
    throw redirectTo(`/login?redirectTo=${encodeURIComponent(redirectToPath)}`, readSessionToken(request) ? { 'Set-Cookie': clearSessionCookie() } : {})
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
  return { ...signedIn, org: found.org, membership: found.membership, scope: orgScope(found.org) }
}

/** Support staff and superadmins only, and only at the MFA level; everyone else gets 404. */
export async function requireSupport(request: Request) {
  const signedIn = await requireUser(request)
  if (signedIn.user.platformRole === 'none') throw notFound()
  if (signedIn.session.level !== 'mfa') throw redirectTo('/enroll')
  return signedIn
}
