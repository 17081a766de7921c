/**
 * The OpenID Connect client of an organization's SSO (decision 075), over `openid-client`:
 * discovery (issuer checked), the authorization code flow with PKCE (S256), state and nonce, and
 * the ID token's validation (signature, issuer, audience, expiry, nonce, auth_time for max_age).
 * No JWT is read or checked by hand here. Every failure becomes a DomainError: `idp_unavailable`
 * (502) when the provider cannot be reached or its discovery document read, `sso_failed` (400)
 * when its answer fails a check; `reason` says which, for the audit, never a secret.
 */
import * as client from 'openid-client'
import { keyedHash } from '#app/auth/crypto.server.ts'
import { config as appConfig } from '#app/config/env.server.ts'
import { DomainError } from '#app/errors.ts'
import type { loadSsoConfig } from './config.server.ts'

type LoadedConfig = NonNullable<Awaited<ReturnType<typeof loadSsoConfig>>>

/** A failure at the provider with the reason recorded in the audit event (`auth.sso_failed`). */
export class SsoError extends DomainError {
  constructor(code: 'idp_unavailable' | 'sso_failed', readonly reason: string, message: string) {
    super(code, message)
  }
}

export const UNREACHABLE = 'Your organization’s identity provider cannot be reached right now. Try again in a few minutes, or contact your administrator.'
export const FAILED_CHECKS = 'Single sign-on did not complete: the answer from your organization’s identity provider did not pass our checks. Nothing was changed. Start again from the sign-in page.'

const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]'])
/** Plain http only to a provider on this machine (development, tests, the demo). */
export const issuerAllowed = (issuer: string) => {
  const url = new URL(issuer)
  return url.protocol === 'https:' || (url.protocol === 'http:' && LOOPBACK.has(url.hostname))
}

export const callbackUrl = () => `${appConfig.appOrigin}/sso/callback`

const cache = new Map<string, { at: number; configuration: client.Configuration }>()
const CACHE_MS = 5 * 60_000

/** The provider's configuration from its discovery document (cached a few minutes per saved settings). */
export async function discover(cfg: LoadedConfig): Promise<client.Configuration> {
  if (!cfg.clientSecret) throw new SsoError('sso_failed', 'client_secret_unreadable', 'Single sign-on is not set up correctly for your organization. Contact your administrator.')
  const key = `${cfg.organizationId}:${cfg.updatedAt.getTime()}`
  const hit = cache.get(key)
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.configuration
  if (!issuerAllowed(cfg.issuer)) throw new SsoError('idp_unavailable', 'issuer_not_https', UNREACHABLE)
  let configuration: client.Configuration
  try {
    configuration = await client.discovery(new URL(cfg.issuer), cfg.clientId, cfg.clientSecret, client.ClientSecretPost(cfg.clientSecret), {
      timeout: 10,
      execute: new URL(cfg.issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    })
  } catch (e) {
    throw new SsoError('idp_unavailable', `discovery_failed: ${describe(e)}`, UNREACHABLE)
  }
  for (const k of cache.keys()) if (k.startsWith(`${cfg.organizationId}:`)) cache.delete(k)
  cache.set(key, { at: Date.now(), configuration })
  return configuration
}

/**
 * Saving the settings reads the issuer's discovery document first (decision 080): an issuer that
 * cannot be reached, answers no discovery document, or names another issuer is refused with
 * `idp_unavailable` (502) and the reason, before anything is written. Plain http only on this machine.
 */
export async function checkIssuer(issuer: string, clientId: string, clientSecret: string): Promise<void> {
  if (!issuerAllowed(issuer)) throw new DomainError('invalid_request', 'The issuer URL must start with https:// (plain http only for a provider on this machine).', 'issuer')
  try {
    await client.discovery(new URL(issuer), clientId, clientSecret, client.ClientSecretPost(clientSecret), {
      timeout: 10,
      execute: new URL(issuer).protocol === 'http:' ? [client.allowInsecureRequests] : [],
    })
  } catch (e) {
    throw new SsoError(
      'idp_unavailable',
      `discovery_failed: ${describe(e)}`,
      `Gatehouse could not read the provider’s discovery document at ${issuer.replace(/\/$/, '')}/.well-known/openid-configuration (${describe(e)}). Check the issuer URL and that the provider is up. Nothing was saved.`,
    )
  }
}

/** The PKCE verifier is derived from the browser's cookie token, so the database never holds it (decision 075). */
export const pkceVerifier = (cookieToken: string) => keyedHash('sso-pkce', cookieToken)

export async function authorizationUrl(
  configuration: client.Configuration,
  input: { cookieToken: string; state: string; nonce: string; loginHint?: string; maxAge?: number },
): Promise<string> {
  const params: Record<string, string> = {
    redirect_uri: callbackUrl(),
    scope: 'openid email profile',
    code_challenge: await client.calculatePKCECodeChallenge(pkceVerifier(input.cookieToken)),
    code_challenge_method: 'S256',
    state: input.state,
    nonce: input.nonce,
  }
  if (input.loginHint) params.login_hint = input.loginHint
  if (input.maxAge !== undefined) {
    params.max_age = String(input.maxAge)
    params.prompt = 'login'
  }
  return client.buildAuthorizationUrl(configuration, params).href
}

export type IdTokenClaims = client.IDToken

/** The code exchange and every check of the ID token; the claims, or an SsoError. */
export async function exchangeCode(
  configuration: client.Configuration,
  currentUrl: URL,
  input: { cookieToken: string; state: string; nonce: string; maxAge?: number },
): Promise<IdTokenClaims> {
  // The callback's own URL, on our origin (a proxy may have rewritten the host the request saw).
  const url = new URL(callbackUrl())
  url.search = currentUrl.search
  let tokens: Awaited<ReturnType<typeof client.authorizationCodeGrant>>
  try {
    tokens = await client.authorizationCodeGrant(configuration, url, {
      pkceCodeVerifier: pkceVerifier(input.cookieToken),
      expectedState: input.state,
      expectedNonce: input.nonce,
      idTokenExpected: true,
      ...(input.maxAge !== undefined ? { maxAge: input.maxAge } : {}),
    })
  } catch (e) {
    throw classify(e)
  }
  const claims = tokens.claims()
  if (!claims) throw new SsoError('sso_failed', 'no_id_token', FAILED_CHECKS)
  return claims
}

function classify(e: unknown): SsoError {
  if (e instanceof client.AuthorizationResponseError) return new SsoError('sso_failed', `provider_error: ${e.error}`, FAILED_CHECKS)
  if (e instanceof client.ResponseBodyError) {
    if (e.status >= 500) return new SsoError('idp_unavailable', `token_endpoint_${e.status}`, UNREACHABLE)
    return new SsoError('sso_failed', `token_refused: ${e.error}`, FAILED_CHECKS)
  }
  if (isNetworkError(e)) return new SsoError('idp_unavailable', `unreachable: ${describe(e)}`, UNREACHABLE)
  if (e instanceof client.ClientError && e.code === 'OAUTH_RESPONSE_IS_NOT_CONFORM') return new SsoError('idp_unavailable', `bad_response: ${describe(e)}`, UNREACHABLE)
  return new SsoError('sso_failed', `token_invalid: ${describe(e)}`, FAILED_CHECKS)
}

function isNetworkError(e: unknown): boolean {
  if (e instanceof TypeError) return true
  const name = (e as { name?: string })?.name
  return name === 'TimeoutError' || name === 'AbortError'
}

/** A short, secret-free description of a failure: the library's code and message (never a token, code or secret). */
function describe(e: unknown): string {
  type Described = { code?: string; message?: string; cause?: Described & { claim?: string } }
  const err = e as Described
  // Which claim failed (nonce, iss, aud, exp, auth_time...): the library puts it on the cause.
  const claim = err?.cause?.claim ?? err?.cause?.cause?.claim
  const parts = [err?.code, err?.message?.slice(0, 160), claim && `(claim ${claim})`].filter(Boolean)
  return parts.join(' ') || 'unknown'
}
