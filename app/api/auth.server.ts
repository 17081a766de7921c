/**
 * Who is calling the API. Only `Authorization: Bearer <token>` counts: cookies are ignored under
 * /api (that is why the CSRF check skips /api). A token is either an API session token (created
 * with channel 'api') or an organization API key (`ghk_...`).
 */
import { authenticateApiKey, type ApiKey, type ApiScope } from '#app/orgs/api-keys.server.ts'
import type { Organization } from '#app/orgs/scope.server.ts'
import { loadSession, type Session, type User } from '#app/auth/session.server.ts'
import { API_KEY_PREFIX } from '#app/orgs/api-keys.server.ts'
import { ApiError } from './errors.server.ts'

export type SessionCaller = { kind: 'session'; user: User; session: Session; token: string }
export type ApiKeyCaller = { kind: 'api_key'; user: User; apiKey: ApiKey; org: Organization; scopes: ApiScope[] }
export type Caller = SessionCaller | ApiKeyCaller

/** The id the per-token rate limit counts against. */
export const callerTokenId = (caller: Caller) => (caller.kind === 'session' ? `s:${caller.session.id}` : `k:${caller.apiKey.id}`)

export function readBearer(request: Request): string | null {
  const header = request.headers.get('authorization')
  if (!header) return null
  const match = /^Bearer[ ]+([A-Za-z0-9._~+/=-]+)\s*$/i.exec(header)
  if (!match) throw new ApiError(401, 'unauthorized', 'The Authorization header must be "Bearer <token>".')
  return match[1]
}

export async function authenticate(request: Request): Promise<Caller> {
  const token = readBearer(request)
  if (!token) throw new ApiError(401, 'unauthorized', 'This endpoint needs a bearer token: Authorization: Bearer <token>. Cookies are not accepted under /api.')
  if (token.startsWith(API_KEY_PREFIX)) {
    const found = await authenticateApiKey(token)
    if (found) return { kind: 'api_key', ...found }
  }
  const signedIn = await loadSession(token, 'api')
  if (signedIn) return { kind: 'session', ...signedIn, token }
  throw new ApiError(401, 'unauthorized', 'The token is invalid, expired or revoked. Sign in again or use a current API key.')
}
