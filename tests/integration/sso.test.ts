/**
 * Single sign-on per organization (issue 16, decision 075), through the real server and a real
 * OpenID provider (oidc-provider with its own signing key): the code flow with PKCE, state and
 * nonce; every check of the ID token (issuer, audience, expiry, nonce replay) made to fail by the
 * provider itself; trusting the provider's MFA (amr, acr) under the region policy; step-up by
 * re-authenticating at the provider (max_age=0); routing by domain, just-in-time membership, no
 * silent linking, password sign-in and reset refused where SSO is required, and the break-glass owner.
 */
import { and, count, desc, eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { db, schema } from '#db/client.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import { CLIENT_SECRET, configureSso, ProviderBrowser, ssoSignIn, startAt, startTestProvider, trustIdp } from '#tests/setup/sso.ts'
import type { TestProvider } from '../../scripts/oidc-provider.ts'

let base: string
let idp: TestProvider
let org: { id: string; name: string }
let owner: { id: string }

const IDP_USERS = [
  { id: 'u-pwd', email: 'pat@globex-sso.test', name: 'Pat Password', amr: ['pwd'] },
  { id: 'u-otp', email: 'olga@globex-sso.test', name: 'Olga Otp', amr: ['pwd', 'otp'] },
  { id: 'u-acr', email: 'ace@globex-sso.test', name: 'Ace Acr', amr: ['pwd'], acr: 'urn:globex:loa:mfa' },
  { id: 'u-exists', email: 'existing@globex-sso.test', name: 'Existing Person', amr: ['pwd', 'otp'] },
  { id: 'u-owner', email: 'owner@globex-sso.test', name: 'Owner', amr: ['pwd'] },
  { id: 'u-other', email: 'someone@elsewhere.test', name: 'Elsewhere', amr: ['pwd'] },
  { id: 'u-unverified', email: 'unv@globex-sso.test', name: 'Unverified', amr: ['pwd'], emailVerified: false },
]

beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
  idp = await startTestProvider(IDP_USERS)
  org = await createOrg({ slug: 'globex-sso', name: 'Globex SSO', regions: ['eu'] })
  owner = await createUser({ email: 'owner@globex-sso.test', region: 'eu', org, role: 'owner' })
  await configureSso(org.id, owner.id, { issuer: idp.issuer, domains: ['globex-sso.test'], region: 'eu' })
})
afterAll(async () => {
  await idp?.close()
})

const userByEmail = async (email: string, region = 'eu') => (await db.select().from(schema.users).where(and(eq(schema.users.email, email), eq(schema.users.region, region))))[0]
const sessionsOf = async (userId: string) => db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId)).orderBy(desc(schema.sessions.createdAt))
const counts = async () => {
  const [u] = await db.select({ n: count() }).from(schema.users)
  const [s] = await db.select({ n: count() }).from(schema.sessions)
  const [i] = await db.select({ n: count() }).from(schema.ssoIdentities)
  const [m] = await db.select({ n: count() }).from(schema.memberships)
  return { users: u.n, sessions: s.n, identities: i.n, memberships: m.n }
}
const lastFailure = async () => (await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'auth.sso_failed')).orderBy(desc(schema.auditEvents.createdAt)).limit(1))[0]

describe('the code flow with PKCE, state and nonce, and just-in-time membership', () => {
  it('sends the browser to the provider with S256 PKCE, state and nonce, and creates the member on the way back', async () => {
    const client = new TestClient(base)
    const { res, authorizationUrl } = await ssoSignIn(client, 'pat@globex-sso.test', 'u-pwd')
    const params = new URL(authorizationUrl).searchParams
    expect(authorizationUrl.startsWith(`${idp.issuer}/`)).toBe(true)
    expect(params.get('code_challenge_method')).toBe('S256')
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/)
    expect(params.get('state')!.length).toBeGreaterThanOrEqual(32)
    expect(params.get('nonce')!.length).toBeGreaterThanOrEqual(32)
    expect(params.get('redirect_uri')).toBe(`${config.appOrigin}/sso/callback`)
    expect(res.status, await res.clone().text()).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    const user = await userByEmail('pat@globex-sso.test')
    expect(user).toMatchObject({ name: 'Pat Password', region: 'eu', passwordHash: null })
    const [membership] = await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, user.id), eq(schema.memberships.organizationId, org.id)))
    expect(membership.role).toBe('member')
    const [session] = await sessionsOf(user.id)
    // No trust: the provider's sign-in is the first factor; the default optional policy asks nothing more of a member without factors.
    expect(session).toMatchObject({ level: 'password', secondFactorMethod: null })
    const events = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.subjectId, user.id))
    expect(events.map((e) => e.action)).toEqual(expect.arrayContaining(['org.sso_member_created', 'auth.login_success']))
    expect(events.find((e) => e.action === 'auth.login_success')!.details).toMatchObject({ method: 'sso', amr: ['pwd'], issuer: idp.issuer, organizationId: org.id })
    const home = await client.text('/')
    expect(home.status).toBe(200)
  })

  it('signs the same person in again through the linked identity, without a second account', async () => {
    const before = await counts()
    const { res } = await ssoSignIn(new TestClient(base), 'pat@globex-sso.test', 'u-pwd')
    expect(res.status).toBe(302)
    const after = await counts()
    expect(after.users).toBe(before.users)
    expect(after.identities).toBe(before.identities)
    expect(after.sessions).toBe(before.sessions + 1)
  })

  it('refuses an address outside the organization’s domains, and one the provider has not verified', async () => {
    const idpOther = await startTestProvider([])
    await idpOther.close()
    // The provider says someone@elsewhere.test: not one of the organization's domains.
    const client = new TestClient(base)
    const authorizationUrl = await startAt(client, 'pat@globex-sso.test')
    const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-other')
    const before = await counts()
    const res = await client.get(callback)
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('globex-sso.test')
    expect(await counts()).toEqual(before)
    expect((await lastFailure()).details).toMatchObject({ reason: 'domain_not_verified' })

    const again = new TestClient(base)
    const url2 = await startAt(again, 'unv@globex-sso.test')
    const back = await new ProviderBrowser().signIn(url2, 'u-unverified')
    expect((await again.get(back.callback)).status).toBe(400)
    expect((await lastFailure()).details).toMatchObject({ reason: 'email_not_verified' })
    expect(await userByEmail('unv@globex-sso.test')).toBeUndefined()
  })
})
