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

describe('trusting the provider’s MFA (a region policy setting)', () => {
  it('asks Gatehouse’s own factor when the policy does not trust the provider, even with amr otp', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: false })
    const client = new TestClient(base)
    const first = await ssoSignIn(client, 'olga@globex-sso.test', 'u-otp')
    expect(first.res.status).toBe(302)
    const olga = await userByEmail('olga@globex-sso.test')
    await enableTotp(olga.id)
    const { res } = await ssoSignIn(new TestClient(base), 'olga@globex-sso.test', 'u-otp')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login/verify')
  })

  it('records secondFactor idp when trusted and present (amr otp), and asks its own factor when amr is only pwd', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: true })
    const olga = await userByEmail('olga@globex-sso.test')
    const { res } = await ssoSignIn(new TestClient(base), 'olga@globex-sso.test', 'u-otp')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    const [session] = await sessionsOf(olga.id)
    expect(session).toMatchObject({ level: 'mfa', secondFactorMethod: 'idp' })
    expect(session.secondFactorAt).not.toBeNull()
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, olga.id), eq(schema.auditEvents.action, 'auth.login_success_2fa'))).orderBy(desc(schema.auditEvents.createdAt)).limit(1)
    expect(event.details).toMatchObject({ method: 'idp', amr: ['pwd', 'otp'], acr: null })

    // Pat's token says only pwd: with an app of his own, Gatehouse asks for it.
    const pat = await userByEmail('pat@globex-sso.test')
    const { secret } = await enableTotp(pat.id)
    const client = new TestClient(base)
    const asked = await ssoSignIn(client, 'pat@globex-sso.test', 'u-pwd')
    expect(asked.res.headers.get('location')).toBe('/login/verify')
    const verified = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(verified.status).toBe(302)
    const [patSession] = await sessionsOf(pat.id)
    expect(patSession).toMatchObject({ level: 'mfa', secondFactorMethod: 'totp' })
  })

  it('trusts an acr value only when the policy lists it', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: true, acr: [] })
    const first = await ssoSignIn(new TestClient(base), 'ace@globex-sso.test', 'u-acr')
    expect(first.res.status).toBe(302)
    const ace = await userByEmail('ace@globex-sso.test')
    await enableTotp(ace.id)
    const notListed = await ssoSignIn(new TestClient(base), 'ace@globex-sso.test', 'u-acr')
    expect(notListed.res.headers.get('location')).toBe('/login/verify')
    await trustIdp(org.id, owner.id, 'eu', { on: true, acr: ['urn:globex:loa:mfa'] })
    const listed = await ssoSignIn(new TestClient(base), 'ace@globex-sso.test', 'u-acr')
    expect(listed.res.headers.get('location')).toBe('/')
    expect((await sessionsOf(ace.id))[0]).toMatchObject({ level: 'mfa', secondFactorMethod: 'idp' })
  })

  it('is a lowering: refused without a fresh second factor or from an API key (audited, nothing written), and says how many members it affects', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: false })
    const { setIdpTrust } = await import('#app/sso/config.server.ts')
    const input = { region: 'eu', trustIdpMfa: true, idpMfaAmr: [], idpMfaAcr: [] }
    const stale = { orgId: org.id, actor: { id: owner.id, label: 'owner' }, authority: { kind: 'session' as const, secondFactorAt: new Date(Date.now() - 10 * 60_000) } }
    await expect(setIdpTrust(stale, input)).rejects.toMatchObject({ code: 'step_up_required' })
    await expect(setIdpTrust({ ...stale, authority: { kind: 'api_key' } }, input)).rejects.toMatchObject({ code: 'person_required' })
    const [policy] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'eu')))
    expect(policy.trustIdpMfa).toBe(false)
    const refusals = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'security.change_refused'), eq(schema.auditEvents.organizationId, org.id)))
    expect(refusals.map((r) => (r.details as { code: string }).code)).toEqual(expect.arrayContaining(['step_up_required', 'person_required']))
    const [members] = await db.select({ n: count() }).from(schema.memberships).where(eq(schema.memberships.organizationId, org.id))
    const done = await trustIdp(org.id, owner.id, 'eu', { on: true })
    expect(done).toMatchObject({ changed: true, lowersProtectionFor: members.n })
    // Turning it off raises protection: a stale session may do it.
    await expect(setIdpTrust(stale, { ...input, trustIdpMfa: false })).resolves.toMatchObject({ changed: true, lowered: [] })
  })
})

describe('the ID token’s checks, made to fail by the provider (nothing written, failure audited)', () => {
  for (const [fault, label] of [['wrong_issuer', 'a wrong issuer'], ['wrong_audience', 'a wrong audience'], ['expired', 'an expired token']] as const) {
    it(`refuses ${label}`, async () => {
      const client = new TestClient(base)
      const authorizationUrl = await startAt(client, 'pat@globex-sso.test')
      const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-pwd')
      const before = await counts()
      idp.faults.idToken = fault
      try {
        const res = await client.get(callback)
        expect(res.status).toBe(400)
        expect(await res.text()).toContain('did not pass our checks')
      } finally {
        idp.faults.idToken = null
      }
      expect(await counts()).toEqual(before)
      expect((await lastFailure()).details).toMatchObject({ reason: expect.stringMatching(/^token_invalid/) })
    })
  }

  it('refuses a replayed ID token (the previous sign-in’s nonce)', async () => {
    // A first complete sign-in gives the provider a token to replay.
    await ssoSignIn(new TestClient(base), 'pat@globex-sso.test', 'u-pwd')
    const client = new TestClient(base)
    const authorizationUrl = await startAt(client, 'pat@globex-sso.test')
    const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-pwd')
    const before = await counts()
    idp.faults.idToken = 'replay_previous'
    try {
      expect((await client.get(callback)).status).toBe(400)
    } finally {
      idp.faults.idToken = null
    }
    expect(await counts()).toEqual(before)
    expect(String((await lastFailure()).details && (await lastFailure()).details.reason)).toMatch(/^token_invalid.*nonce/)
  })

  it('answers 502 when the token endpoint fails, and when the provider is down or its discovery unreadable', async () => {
    const client = new TestClient(base)
    const authorizationUrl = await startAt(client, 'pat@globex-sso.test')
    const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-pwd')
    idp.faults.idToken = 'token_endpoint_down'
    try {
      const res = await client.get(callback)
      expect(res.status).toBe(502)
      expect(await res.text()).toContain('cannot be reached')
    } finally {
      idp.faults.idToken = null
    }

    const downOrg = await createOrg({ slug: 'down-sso', name: 'Down Co', regions: ['eu'] })
    const downOwner = await createUser({ region: 'eu', org: downOrg, role: 'owner' })
    const closed = await startTestProvider([])
    await closed.close()
    await configureSso(downOrg.id, downOwner.id, { issuer: closed.issuer, domains: ['down.test'], region: 'eu', ssoRequired: true })
    const before = await counts()
    const res = await new TestClient(base).post('/login', { region: 'eu', email: 'x@down.test', password: '' })
    expect(res.status).toBe(502)
    expect(await res.text()).toContain('cannot be reached')
    const viaLink = await new TestClient(base).get('/sso/start?email=x%40down.test')
    expect(viaLink.status).toBe(502)

    // A discovery document that is not one: the issuer points at a page that answers HTML.
    await configureSso(downOrg.id, downOwner.id, { issuer: `${base}/nothing-here`, domains: ['down.test'], region: 'eu', ssoRequired: true })
    const unreadable = await new TestClient(base).get('/sso/start?email=x%40down.test')
    expect(unreadable.status).toBe(502)
    expect(await counts()).toEqual(before)
    expect((await lastFailure()).details).toMatchObject({ reason: expect.stringMatching(/^discovery_failed/) })
  })
})

describe('state and PKCE', () => {
  it('refuses a callback with a wrong state, a missing state, or no cookie (CSRF), writing nothing', async () => {
    const client = new TestClient(base)
    const authorizationUrl = await startAt(client, 'pat@globex-sso.test')
    const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-pwd')
    const before = await counts()
    // Another browser (the attacker's link) has no cookie.
    const noCookie = await new TestClient(base).get(callback)
    expect(noCookie.status).toBe(400)
    const wrong = new URL(callback, base)
    wrong.searchParams.set('state', 'not-the-state')
    const res = await client.get(wrong.pathname + wrong.search)
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('Start again')
    expect((await lastFailure()).details).toMatchObject({ reason: 'state_mismatch' })
    // The attempt is used up: the right state now finds nothing either.
    expect((await client.get(callback)).status).toBe(400)
    const missing = await new TestClient(base).get('/sso/callback?code=abc')
    expect(missing.status).toBe(400)
    expect(await counts()).toEqual(before)
  })

  it('refuses a code obtained for another browser’s PKCE challenge (the provider rejects the verifier)', async () => {
    const victim = new TestClient(base)
    const attacker = new TestClient(base)
    const victimUrl = await startAt(victim, 'pat@globex-sso.test')
    const attackerUrl = await startAt(attacker, 'pat@globex-sso.test')
    const { callback } = await new ProviderBrowser().signIn(victimUrl, 'u-pwd')
    // The victim's code delivered with the attacker's own state and cookie.
    const injected = new URL(callback, base)
    injected.searchParams.set('state', new URL(attackerUrl).searchParams.get('state')!)
    const before = await counts()
    const res = await attacker.get(injected.pathname + injected.search)
    expect(res.status).toBe(400)
    expect(await counts()).toEqual(before)
    expect((await lastFailure()).details).toMatchObject({ reason: expect.stringMatching(/^token_refused: invalid_grant/) })
  })
})

describe('step-up after an SSO sign-in: re-authentication at the provider with max_age=0', () => {
  it('forces a fresh login at the provider and checks the MFA claim again', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: true })
    const client = new TestClient(base)
    const browser = new ProviderBrowser()
    await ssoSignIn(client, 'olga@globex-sso.test', 'u-otp', browser)
    const olga = await userByEmail('olga@globex-sso.test')
    const [session] = await sessionsOf(olga.id)
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 30 * 60_000) }).where(eq(schema.sessions.id, session.id))
    const start = await client.get('/sso/step-up?redirectTo=%2Fsettings%2Fsecurity')
    expect(start.status).toBe(302)
    const url = new URL(start.headers.get('location')!)
    expect(url.searchParams.get('max_age')).toBe('0')
    // The provider already has a session for this browser, yet asks again (max_age=0).
    const { callback, sawLogin } = await browser.signIn(url.href, 'u-otp')
    expect(sawLogin).toBe(true)
    const back = await client.get(callback)
    expect(back.status).toBe(302)
    expect(back.headers.get('location')).toBe('/settings/security')
    const [after] = await sessionsOf(olga.id)
    expect(after.id).toBe(session.id)
    expect(after.secondFactorMethod).toBe('idp')
    expect(after.secondFactorAt!.getTime()).toBeGreaterThan(Date.now() - 60_000)
  })

  it('refuses the step-up when the provider’s new token has no MFA claim, or is someone else', async () => {
    await trustIdp(org.id, owner.id, 'eu', { on: true })
    const client = new TestClient(base)
    const browser = new ProviderBrowser()
    await ssoSignIn(client, 'olga@globex-sso.test', 'u-otp', browser)
    const olga = await userByEmail('olga@globex-sso.test')
    const [session] = await sessionsOf(olga.id)
    const old = new Date(Date.now() - 30 * 60_000)
    await db.update(schema.sessions).set({ secondFactorAt: old }).where(eq(schema.sessions.id, session.id))
    const start = await client.get('/sso/step-up')
    // Someone else signs in at the provider (in a browser without the provider's session for Olga).
    const { callback } = await new ProviderBrowser().signIn(start.headers.get('location')!, 'u-pwd')
    const res = await client.get(callback)
    expect(res.status).toBe(400)
    expect((await lastFailure()).details).toMatchObject({ reason: 'subject_mismatch' })
    expect((await sessionsOf(olga.id))[0].secondFactorAt!.getTime()).toBe(old.getTime())

    // Trust turned off: the same person's otp no longer counts for a step-up.
    await trustIdp(org.id, owner.id, 'eu', { on: false })
    const again = await client.get('/sso/step-up')
    const back = await browser.signIn(again.headers.get('location')!, 'u-otp')
    expect((await client.get(back.callback)).status).toBe(400)
    expect((await lastFailure()).details).toMatchObject({ reason: 'mfa_claim_missing' })
    expect((await sessionsOf(olga.id))[0].secondFactorAt!.getTime()).toBe(old.getTime())
  })
})

describe('routing by domain, linking, and where SSO is required', () => {
  it('offers "Continue with … SSO" when SSO is optional, goes straight to the provider when required, and leaves other domains to the password', async () => {
    const offer = await new TestClient(base).post('/login', { region: 'eu', email: 'anyone@globex-sso.test', password: '' })
    expect(offer.status).toBe(200)
    expect((await offer.text()).replaceAll('<!-- -->', '')).toContain('Continue with Globex SSO SSO')
    const other = await new TestClient(base).post('/login', { region: 'eu', email: 'anyone@unrelated.test', password: '' })
    expect(other.status).toBe(400)
    expect(await other.text()).toContain('Enter your password')

    await configureSso(org.id, owner.id, { issuer: idp.issuer, domains: ['globex-sso.test'], region: 'eu', ssoRequired: true })
    try {
      const straight = await new TestClient(base).post('/login', { region: 'eu', email: 'anyone@globex-sso.test', password: '' })
      expect(straight.status).toBe(302)
      expect(straight.headers.get('location')!.startsWith(`${idp.issuer}/auth?`)).toBe(true)
      expect(new URL(straight.headers.get('location')!).searchParams.get('login_hint')).toBe('anyone@globex-sso.test')
    } finally {
      await configureSso(org.id, owner.id, { issuer: idp.issuer, domains: ['globex-sso.test'], region: 'eu', ssoRequired: false })
    }
  })

  it('never links an existing account silently: its holder proves the password first', async () => {
    const existing = await createUser({ email: 'existing@globex-sso.test', region: 'eu' })
    const client = new TestClient(base)
    const before = await counts()
    const { res } = await ssoSignIn(client, 'existing@globex-sso.test', 'u-exists')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/sso/link')
    expect(await counts()).toEqual(before)
    expect(client.cookies.get('gh_session')).toBeUndefined()
    const page = await client.text('/sso/link')
    expect(page.html).toContain('existing@globex-sso.test')

    // Another browser cannot finish it; a wrong password is refused and counted.
    expect((await new TestClient(base).post('/sso/link', { intent: 'password', password: PASSWORD })).status).toBe(400)
    const wrong = await client.post('/sso/link', { intent: 'password', password: 'not the password' })
    expect(wrong.status).toBe(400)
    expect(await counts()).toEqual(before)
    const refused = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, existing.id), eq(schema.auditEvents.action, 'auth.sso_link_refused')))
    expect(refused).toHaveLength(1)

    const right = await client.post('/sso/link', { intent: 'password', password: PASSWORD })
    expect(right.status).toBe(302)
    const [identity] = await db.select().from(schema.ssoIdentities).where(eq(schema.ssoIdentities.userId, existing.id))
    expect(identity).toMatchObject({ organizationId: org.id, subject: 'u-exists' })
    const [membership] = await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, existing.id), eq(schema.memberships.organizationId, org.id)))
    expect(membership).toBeTruthy()
    const linked = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, existing.id), eq(schema.auditEvents.action, 'auth.sso_linked')))
    expect(linked).toHaveLength(1)
    expect((await sessionsOf(existing.id)).length).toBe(1)
    // The link is spent: the same cookie does nothing more.
    expect((await client.post('/sso/link', { intent: 'password', password: PASSWORD })).status).toBe(400)
  })

  it('refuses password sign-in and password reset where SSO is required, with the same answer for a right and a wrong password', async () => {
    const reqOrg = await createOrg({ slug: 'initech-sso', name: 'Initech', regions: ['eu'] })
    const reqOwner = await createUser({ email: 'boss@initech.test', region: 'eu', org: reqOrg, role: 'owner' })
    const member = await createUser({ email: 'peter@initech.test', region: 'eu', org: reqOrg, role: 'member' })
    await enableTotp(member.id)
    await configureSso(reqOrg.id, reqOwner.id, { issuer: idp.issuer, domains: ['initech.test'], region: 'eu', ssoRequired: true })
    const right = await new TestClient(base).post('/login', { region: 'eu', email: 'peter@initech.test', password: PASSWORD })
    const wrong = await new TestClient(base).post('/login', { region: 'eu', email: 'peter@initech.test', password: 'wrong password' })
    const unknown = await new TestClient(base).post('/login', { region: 'eu', email: 'nobody@initech.test', password: 'wrong password' })
    for (const res of [right, wrong, unknown]) {
      expect(res.status).toBe(403)
      const html = (await res.text()).replaceAll('<!-- -->', '')
      expect(html).toContain('Initech signs you in through single sign-on')
      expect(html).toContain('Continue with Initech SSO')
    }
    expect((await sessionsOf(member.id)).length).toBe(0)

    const reset = await new TestClient(base).post('/forgot-password', { region: 'eu', email: 'peter@initech.test' })
    expect(reset.status).toBe(403)
    expect(await reset.text()).toContain('no Gatehouse password to reset')
    const queued = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.toAddress, 'peter@initech.test'))
    expect(queued.filter((q) => q.template === 'password_reset')).toHaveLength(0)
  })

  it('keeps a break-glass path for an owner with their own factor, who must use it whatever the policy', async () => {
    const bgOrg = await createOrg({ slug: 'umbrella-sso', name: 'Umbrella', regions: ['eu'] })
    const bgOwner = await createUser({ email: 'alice@umbrella.test', region: 'eu', org: bgOrg, role: 'owner' })
    const noFactorOwner = await createUser({ email: 'bob@umbrella.test', region: 'eu', org: bgOrg, role: 'owner' })
    const plainMember = await createUser({ email: 'carol@umbrella.test', region: 'eu', org: bgOrg, role: 'member' })
    const { secret } = await enableTotp(bgOwner.id)
    await enableTotp(plainMember.id)
    await configureSso(bgOrg.id, bgOwner.id, { issuer: idp.issuer, domains: ['umbrella.test'], region: 'eu', ssoRequired: true })
    // Even with the region Disabled, the break-glass owner is asked for their own factor.
    await db.update(schema.regionPolicies).set({ mode: 'disabled' }).where(eq(schema.regionPolicies.organizationId, bgOrg.id))

    const client = new TestClient(base)
    const res = await client.post('/login', { region: 'eu', email: 'alice@umbrella.test', password: PASSWORD })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login/verify')
    const verified = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(verified.status).toBe(302)
    expect((await sessionsOf(bgOwner.id))[0]).toMatchObject({ level: 'mfa', secondFactorMethod: 'totp' })

    for (const email of ['bob@umbrella.test', 'carol@umbrella.test']) {
      const refused = await new TestClient(base).post('/login', { region: 'eu', email, password: PASSWORD })
      expect(refused.status).toBe(403)
    }
    expect((await sessionsOf(noFactorOwner.id)).length + (await sessionsOf(plainMember.id)).length).toBe(0)
  })
})

describe('the settings', () => {
  it('keeps the client secret encrypted at rest and out of the audit log, and gives a domain to one organization only', async () => {
    const [row] = await db.select().from(schema.ssoConfigs).where(eq(schema.ssoConfigs.organizationId, org.id))
    expect(row.clientSecretCiphertext).not.toContain(CLIENT_SECRET)
    expect(row.clientSecretCiphertext.startsWith('v2.')).toBe(true)
    const events = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.sso_config_changed'))
    expect(events.length).toBeGreaterThan(0)
    expect(JSON.stringify(events)).not.toContain(CLIENT_SECRET)

    const rival = await createOrg({ slug: 'rival-sso', regions: ['eu'] })
    const rivalOwner = await createUser({ region: 'eu', org: rival, role: 'owner' })
    await expect(configureSso(rival.id, rivalOwner.id, { issuer: idp.issuer, domains: ['rival.test', 'globex-sso.test'], region: 'eu' })).rejects.toMatchObject({ code: 'sso_domain_taken' })
    expect(await db.select().from(schema.ssoConfigs).where(eq(schema.ssoConfigs.organizationId, rival.id))).toHaveLength(0)
    expect(await db.select().from(schema.ssoDomains).where(eq(schema.ssoDomains.organizationId, rival.id))).toHaveLength(0)

    const { saveSsoConfig } = await import('#app/sso/config.server.ts')
    const { ssoConfigInput } = await import('#app/sso/sso.schema.ts')
    const input = ssoConfigInput.parse({ issuer: idp.issuer, clientId: 'x', clientSecret: 'y', domains: 'rival.test', region: 'eu' })
    await expect(saveSsoConfig({ orgId: rival.id, actor: { id: rivalOwner.id, label: 'o' }, authority: { kind: 'session', secondFactorAt: new Date(Date.now() - 3_600_000) } }, input)).rejects.toMatchObject({ code: 'step_up_required' })
    await expect(saveSsoConfig({ orgId: rival.id, actor: { id: rivalOwner.id, label: 'o' }, authority: { kind: 'api_key' } }, input)).rejects.toMatchObject({ code: 'person_required' })
  })
})
