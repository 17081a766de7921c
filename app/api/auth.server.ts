/**
 * Who is calling the API. Only `Authorization: Bearer <token>` counts: cookies are ignored under
 * /api (that is why the CSRF check skips /api). A token is either an API session token (created
 * with channel 'api') or an organization API key (`ghk_...`).
 */
import { authenticateApiKey, type ApiKey, type ApiScope } from '#app/orgs/api-keys.server.ts'
import type { Organization } from '#app/orgs/scope.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { loadLiveSession } from '#app/auth/live-session.server.ts'
import type { RequestMeta } from '#app/audit/record.server.ts'
import { API_KEY_PREFIX } from '#app/orgs/api-keys.server.ts'
import { apiError } from './errors.server.ts'
import { loadPolicyInput } from '#app/policy/member-status.server.ts'
import { effectivePolicy } from '#app/policy/effective-policy.ts'

export type SessionCaller = { kind: 'session'; user: User; session: Session; token: string }
export type ApiKeyCaller = { kind: 'api_key'; user: User; apiKey: ApiKey; org: Organization; scopes: ApiScope[] }
export type Caller = SessionCaller | ApiKeyCaller

/** The id the per-token rate limit counts against. */
export const callerTokenId = (caller: Caller) => (caller.kind === 'session' ? `s:${caller.session.id}` : `k:${caller.apiKey.id}`)

export function readBearer(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (!header) return null
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header)
  if (!match) throw apiError('unauthorized', 'The Authorization header must be "Bearer <token>".')
  return match[1]
}

/**
 * The caller behind the bearer token. A session token gets the organization policy enforced on
 * it now, as the web guard does (decision 026): one the policy now blocks is ended (403
 * sign_in_blocked; afterwards the token is simply invalid), one held to enrollment becomes
 * enrollment-only (the wrapper then answers 403 enrollment_required outside enrollment).
 */
export async function authenticate(request: Request, meta?: RequestMeta): Promise<Caller> {
  const token = readBearer(request)
  if (!token) throw apiError('unauthorized', 'This endpoint needs a bearer token: Authorization: Bearer <token>. Cookies are not accepted under /api.')
  if (token.startsWith(API_KEY_PREFIX)) {
    const found = await authenticateApiKey(token)
    if (found) return { kind: 'api_key', ...found }
  }
  const live = await loadLiveSession(token, 'api', { apply: true, meta })
  if (live.kind === 'signed_in') return { kind: 'session', user: live.user, session: live.session, token }
  if (live.kind === 'blocked') throw apiError('sign_in_blocked', `${live.message} This token has been signed out.`)
  throw apiError('unauthorized', 'The token is invalid, expired or revoked. Sign in again or use a current API key.')
}

/**
 * An API key acts as its service account without a second factor, so it works only where the
 * key's organization does not require one of that account: the organization's policy in the
 * account's region is not Required, or the account is exempt there (decision 047). Decided by
 * the same pure policy function as sign-in, over this one organization (the key acts nowhere else).
 */
export async function requireKeyAllowedByPolicy(caller: ApiKeyCaller): Promise<void> {
  const input = await loadPolicyInput(caller.user.id)
  const memberships = input?.memberships.filter((m) => m.organizationId === caller.org.id) ?? []
  if (!input || memberships.length === 0) return
  const decision = effectivePolicy({ ...input, memberships, exemptions: input.exemptions.filter((e) => e.organizationId === caller.org.id) })
  if (decision.mode !== 'required') return
  throw apiError(
    'exemption_required',
    `${caller.org.name} requires two-factor authentication in region ${caller.user.region.toUpperCase()} and the service account ${caller.user.email} is not exempt, so its API keys cannot be used. An owner or admin can exempt it (POST /api/organizations/${caller.org.slug}/security with exemptions, or the Exemptions page).`,
  )
}
