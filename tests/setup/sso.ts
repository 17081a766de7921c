/**
 * Single sign-on in tests (decision 075): a real OpenID provider (scripts/oidc-provider.ts) on its
 * own port, an organization configured for it through the domain, and a stand-in for the
 * browser's trip through the provider (its own cookies, every redirect followed by hand).
 */
import { expect } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { and, eq, isNull } from 'drizzle-orm'
import { saveSsoConfig, setIdpTrust, ssoView } from '#app/sso/config.server.ts'
import { db, schema } from '#db/client.ts'
import { idpTrustInput, ssoConfigInput } from '#app/sso/sso.schema.ts'
import { startOidcProvider, type IdpUser, type TestProvider } from '../../scripts/oidc-provider.ts'
import { freePort } from './free-port.ts'
import type { TestClient } from './http.ts'

export const CLIENT_ID = 'gatehouse-test'
export const CLIENT_SECRET = 'a-client-secret-that-must-never-be-stored-or-logged'

export async function startTestProvider(users: IdpUser[]): Promise<TestProvider> {
  return startOidcProvider({ port: await freePort(), users, clients: [{ clientId: CLIENT_ID, clientSecret: CLIENT_SECRET, redirectUris: [`${config.appOrigin}/sso/callback`] }] })
}

export const freshOwner = (id: string) => ({ orgId: '', actor: { id, label: 'owner' }, authority: { kind: 'session' as const, secondFactorAt: new Date() } })

/**
 * Configures an organization's SSO and marks its domains verified directly (the DNS proof is
 * tested on its own, tests/integration/sso-domain-proof.test.ts); `verified: false` leaves them unverified.
 */
export async function configureSso(orgId: string, ownerId: string, input: { issuer: string; domains: string[]; region: string; ssoRequired?: boolean; clientId?: string; verified?: boolean }) {
  const view = await saveSsoConfig(
    { ...freshOwner(ownerId), orgId },
    ssoConfigInput.parse({ issuer: input.issuer, clientId: input.clientId ?? CLIENT_ID, clientSecret: CLIENT_SECRET, domains: input.domains, region: input.region, ssoRequired: input.ssoRequired ?? false }),
    // A fixture may point at a provider that is down (what the sign-in does then); the settings' own check is tested through the page and the API.
    { checkIssuer: false },
  )
  if (input.verified === false) return view
  await db.update(schema.ssoDomains).set({ verifiedAt: new Date() }).where(and(eq(schema.ssoDomains.organizationId, orgId), isNull(schema.ssoDomains.verifiedAt)))
  return ssoView(orgId)
}

export async function trustIdp(orgId: string, ownerId: string, region: string, trust: { on: boolean; amr?: string[]; acr?: string[] }) {
  return setIdpTrust({ ...freshOwner(ownerId), orgId }, idpTrustInput.parse({ region, trustIdpMfa: trust.on, idpMfaAmr: trust.amr, idpMfaAcr: trust.acr }))
}

/** The browser at the provider: keeps the provider's cookies, follows nothing by itself. */
export class ProviderBrowser {
  cookies = new Map<string, string>()
  async request(url: string, init: RequestInit = {}) {
    const headers = new Headers(init.headers)
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    const res = await fetch(url, { ...init, headers, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const i = pair.indexOf('=')
      const name = pair.slice(0, i).trim()
      const value = pair.slice(i + 1).trim()
      if (!value || attrs.some((a) => /expires=Thu, 01 Jan 1970/i.test(a) || /max-age=0/i.test(a.trim()))) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  /**
   * From the authorization URL to the redirect back to Gatehouse: the provider's sign-in page
   * (shown, `sawLogin`), choosing `login`, and its redirects. Returns the callback's path and query.
   */
  async signIn(authorizationUrl: string, login: string): Promise<{ callback: string; sawLogin: boolean }> {
    let url = authorizationUrl
    let sawLogin = false
    for (let hop = 0; hop < 10; hop++) {
      const res = await this.request(url)
      if (res.status === 200) {
        const html = await res.text()
        const action = /<form method="post" action="([^"]+)"/.exec(html)?.[1]
        expect(action, html).toBeTruthy()
        sawLogin = true
        const posted = await this.request(new URL(action!, url).href, { method: 'POST', body: new URLSearchParams({ login }), headers: { 'content-type': 'application/x-www-form-urlencoded' } })
        expect([302, 303]).toContain(posted.status)
        url = new URL(posted.headers.get('location')!, url).href
        continue
      }
      expect([302, 303], await res.clone().text()).toContain(res.status)
      const next = new URL(res.headers.get('location')!, url)
      if (next.origin === config.appOrigin) return { callback: next.pathname + next.search, sawLogin }
      url = next.href
    }
    throw new Error('too many redirects at the provider')
  }
}

/** Starts SSO from /login (an address whose domain requires SSO) or the "Continue with" link; returns the authorization URL. */
export async function startAt(client: TestClient, email: string, region = 'eu'): Promise<string> {
  const res = await client.post('/login', { region, email, password: '' })
  if (res.status === 200) {
    const html = await res.text()
    const href = /href="(\/sso\/start\?[^"]+)"/.exec(html)?.[1]
    expect(href, html).toBeTruthy()
    const started = await client.get(href!.replace(/&amp;/g, '&'))
    expect(started.status, await started.clone().text()).toBe(302)
    return started.headers.get('location')!
  }
  expect(res.status, await res.clone().text()).toBe(302)
  return res.headers.get('location')!
}

/** The whole trip: start at /login, sign in at the provider as `login`, come back. Returns the callback's answer. */
export async function ssoSignIn(client: TestClient, email: string, login: string, idp = new ProviderBrowser()) {
  const authorizationUrl = await startAt(client, email)
  const { callback } = await idp.signIn(authorizationUrl, login)
  return { res: await client.get(callback), authorizationUrl, callback, idp }
}
