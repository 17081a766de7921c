/**
 * An organization's single sign-on settings (issue 16, decisions 075 and 080) through the real
 * server and a real OpenID provider: the owner's console page (step-up before the form, the
 * client secret write-only and encrypted, discovery read before anything is saved), the same
 * settings over the API and the `gatehouse sso get|set` verbs (real child processes), and
 * `gatehouse rotate-encryption-key` re-encrypting the client secrets.
 */
import { randomBytes } from 'node:crypto'
import { and, desc, eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { decryptSecret } from '#app/auth/crypto.server.ts'
import { createSession } from '#app/auth/session.server.ts'
import { config } from '#app/config/env.server.ts'
import { loadSsoConfig } from '#app/sso/config.server.ts'
import { db, schema, sql } from '#db/client.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { passedSecondFactorAtSignIn, signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { runCli } from '#tests/setup/cli.ts'
import { TestClient } from '#tests/setup/http.ts'
import { CLIENT_ID, configureSso, startTestProvider } from '#tests/setup/sso.ts'
import type { TestProvider } from '../../scripts/oidc-provider.ts'

vi.setConfig({ testTimeout: 90_000 })

const SECRET_1 = 'first-client-secret-never-shown-or-logged'
const SECRET_2 = 'second-client-secret-never-shown-or-logged'

let base: string
let idp: TestProvider
let deadIssuer: string
let org: Awaited<ReturnType<typeof createOrg>>
let owner: Awaited<ReturnType<typeof createUser>>
let admin: Awaited<ReturnType<typeof createUser>>
const here = () => `/orgs/${org.slug}/sso`

beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
  idp = await startTestProvider([])
  const closed = await startTestProvider([])
  deadIssuer = closed.issuer
  await closed.close()
  org = await createOrg({ slug: 'hooli-sso', name: 'Hooli', regions: ['us', 'eu'] })
  owner = await createUser({ email: 'owner@hooli-people.test', org, role: 'owner' })
  admin = await createUser({ email: 'admin@hooli-people.test', org, role: 'admin' })
  await enableTotp(owner.id)
  await enableTotp(admin.id)
})
afterAll(async () => {
  await idp?.close()
})

const configRow = async (orgId = org.id) => (await db.select().from(schema.ssoConfigs).where(eq(schema.ssoConfigs.organizationId, orgId)))[0]
const domainsOf = async (orgId = org.id) => (await db.select().from(schema.ssoDomains).where(eq(schema.ssoDomains.organizationId, orgId))).map((d) => d.domain).sort()
const eventsOf = async (action: string, orgId = org.id) =>
  db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, orgId), eq(schema.auditEvents.action, action as never))).orderBy(desc(schema.auditEvents.createdAt))
const form = (over: Record<string, string> = {}) => ({ intent: 'save', issuer: idp.issuer, clientId: CLIENT_ID, clientSecret: SECRET_1, domains: 'hooli.test, hooli-xyz.test', region: 'us', emailClaim: 'email', nameClaim: 'name', ...over })
/** An API session with a second factor just now (the owner and admin hold an app, so a password sign-in over the API would stop at the challenge). */
const apiToken = async (userId: string) => (await createSession({ userId, level: 'mfa', secondFactorMethod: 'totp', channel: 'api', meta: { ip: '127.0.0.1', userAgent: 'test' } })).token
const html = async (res: Response) => (await res.text()).replaceAll('<!-- -->', '')

describe('the settings page', () => {
  it('shows an admin the settings without a form and refuses their change; an owner steps up before the form, and the values come back without the secret', async () => {
    const adminClient = new TestClient(base)
    await signInAs(adminClient, admin.id)
    const seen = await adminClient.get(here())
    expect(seen.status).toBe(200)
    const seenHtml = await html(seen)
    expect(seenHtml).toContain('Single sign-on is not set up.')
    expect(seenHtml).toContain('Only an owner can change single sign-on.')
    expect(seenHtml).not.toContain('name="clientSecret"')
    expect((await adminClient.post(here(), form())).status).toBe(404)

    const ownerClient = new TestClient(base)
    await signInAs(ownerClient, owner.id)
    await passedSecondFactorAtSignIn(owner.id)
    const page = await html(await ownerClient.get(here()))
    expect(page).not.toContain('name="clientSecret"')
    expect(page).toContain(`href="/settings/security/confirm?redirectTo=${encodeURIComponent(here())}"`)
    expect(page).toContain('Set up single sign-on…')

    // A stale factor at the press (the form was opened earlier): through step-up, values carried, the secret not.
    const posted = await ownerClient.post(here(), form())
    expect(posted.status).toBe(302)
    const location = posted.headers.get('location')!
    expect(location.startsWith('/settings/security/confirm?redirectTo=')).toBe(true)
    expect(decodeURIComponent(location)).toContain('hooli-xyz.test')
    expect(decodeURIComponent(location)).not.toContain(SECRET_1)
    expect(await configRow()).toBeUndefined()
    const [refusal] = await eventsOf('security.change_refused')
    expect(refusal.details).toMatchObject({ code: 'step_up_required', attempt: 'org.sso_config_changed' })

    // Back from step-up with a fresh factor: the form, filled in with the carried values, the secret empty.
    const fresh = new TestClient(base)
    await signInAs(fresh, owner.id)
    const back = decodeURIComponent(new URL(location, base).searchParams.get('redirectTo')!)
    const resumed = await html(await fresh.get(back))
    expect(resumed).toContain('name="clientSecret"')
    expect(resumed).toMatch(/name="domains"[^>]*value="hooli-xyz.test, hooli.test"|value="hooli-xyz.test, hooli.test"[^>]*name="domains"/)
    expect(resumed).not.toContain(SECRET_1)
  })

  it('refuses an issuer whose discovery document cannot be read: a 502 page, nothing written, the refusal audited with the reason', async () => {
    const client = new TestClient(base)
    await signInAs(client, owner.id)
    for (const issuer of [deadIssuer, `${base}/nothing-here`]) {
      const res = await client.post(here(), form({ issuer }))
      expect(res.status).toBe(502)
      const page = await html(res)
      expect(page).toContain('could not read the provider’s discovery document')
      expect(page).toContain('Nothing was saved.')
      expect(page).not.toContain(SECRET_1)
      expect(await configRow()).toBeUndefined()
      expect(await domainsOf()).toEqual([])
      const [refusal] = await eventsOf('security.change_refused')
      expect(refusal.details).toMatchObject({ code: 'idp_unavailable', attempt: 'org.sso_config_changed', issuer, reason: expect.stringMatching(/^discovery_failed/) })
      expect(JSON.stringify(refusal)).not.toContain(SECRET_1)
    }
    // Plain http to another machine is refused before any request, on the field.
    const http = await client.post(here(), form({ issuer: 'http://sso.hooli.example' }))
    expect(http.status).toBe(400)
    expect(await html(http)).toContain('must start with https://')
    const bad = await client.post(here(), form({ domains: 'not a domain!' }))
    expect(bad.status).toBe(400)
    expect(await html(bad)).toContain('Enter domains like acme.com')
    expect(await configRow()).toBeUndefined()
  })

  it('saves with the real provider: the secret encrypted and shown only as set, kept when left empty, replaced when typed; audited without it', async () => {
    const client = new TestClient(base)
    await signInAs(client, owner.id)
    const saved = await client.post(here(), form())
    expect(saved.status, await saved.clone().text()).toBe(302)
    expect(saved.headers.get('location')).toBe(`${here()}?notice=saved`)
    const row = await configRow()
    expect(row).toMatchObject({ issuer: idp.issuer, clientId: CLIENT_ID, region: 'us', ssoRequired: false })
    expect(row.clientSecretCiphertext).not.toContain(SECRET_1)
    expect(await domainsOf()).toEqual(['hooli-xyz.test', 'hooli.test'])
    expect((await loadSsoConfig(org.id))!.clientSecret).toBe(SECRET_1)
    const page = await html(await client.get(`${here()}?notice=saved`))
    expect(page).toContain('Single sign-on settings saved.')
    expect(page).toContain('A secret is set.')
    expect(page).not.toContain(SECRET_1)

    // Left empty: the stored secret stays; SSO required turned on.
    expect((await client.post(here(), form({ clientSecret: '', ssoRequired: 'on' }))).status).toBe(302)
    const kept = await configRow()
    expect(kept.clientSecretCiphertext).toBe(row.clientSecretCiphertext)
    expect(kept.ssoRequired).toBe(true)
    // Typed: replaced.
    expect((await client.post(here(), form({ clientSecret: SECRET_2, ssoRequired: 'on' }))).status).toBe(302)
    expect((await loadSsoConfig(org.id))!.clientSecret).toBe(SECRET_2)

    const events = await eventsOf('org.sso_config_changed')
    expect(events.map((e) => (e.details as { clientSecretChanged: boolean }).clientSecretChanged)).toEqual([true, false, true])
    expect(events[1].details).toMatchObject({ old: { ssoRequired: false }, new: { ssoRequired: true, domains: ['hooli-xyz.test', 'hooli.test'] } })
    const everything = JSON.stringify(await db.select().from(schema.auditEvents))
    expect(everything).not.toContain(SECRET_1)
    expect(everything).not.toContain(SECRET_2)

    // A domain verified by another organization stays with it: 409, nothing changed here.
    const rival = await createOrg({ slug: 'rival-hooli', regions: ['us'] })
    const rivalOwner = await createUser({ org: rival, role: 'owner' })
    await configureSso(rival.id, rivalOwner.id, { issuer: idp.issuer, domains: ['piedpiper.test'], region: 'us' })
    const taken = await client.post(here(), form({ domains: 'hooli.test piedpiper.test', clientSecret: '' }))
    expect(taken.status).toBe(409)
    expect(await html(taken)).toContain('piedpiper.test already belongs to another organization')
    expect(await domainsOf()).toEqual(['hooli-xyz.test', 'hooli.test'])
    expect(await domainsOf(rival.id)).toEqual(['piedpiper.test'])

    // Without proof of ownership (decision 080), a domain whose addresses hold accounts outside the organization is refused.
    await createUser({ email: 'gavin@endframe.test' })
    const outside = await client.post(here(), form({ domains: 'hooli.test endframe.test', clientSecret: '' }))
    expect(outside.status).toBe(409)
    expect(await html(outside)).toContain('endframe.test: people outside this organization already sign in')
    expect(await domainsOf()).toEqual(['hooli-xyz.test', 'hooli.test'])
    const [refusal] = await eventsOf('security.change_refused')
    expect(refusal.details).toMatchObject({ reason: 'domain_has_outside_accounts', domains: ['endframe.test'] })
  })
})

describe('trust on the page', () => {
  it('sets a region’s trust in the provider’s MFA from the page (a fresh owner), saying how many members it affects', async () => {
    const client = new TestClient(base)
    await signInAs(client, owner.id)
    const page = await html(await client.get(here()))
    expect(page).toContain('Save trust for US')
    // The review comes before the change: how many members turning it on affects.
    const [{ n }] = await sql<{ n: number }[]>`select count(*)::int as n from memberships m join users u on u.id = m.user_id where m.organization_id = ${org.id} and u.region = 'us'`
    expect(page).toContain(`Turning it on lowers protection for ${n} member${n === 1 ? '' : 's'} in US`)
    const res = await client.post(here(), { intent: 'trust', region: 'us', trustIdpMfa: 'on', idpMfaAmr: 'mfa otp', idpMfaAcr: '' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(`${here()}?notice=trust-saved`)
    const [us] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    expect(us).toMatchObject({ trustIdpMfa: true, idpMfaAmr: ['mfa', 'otp'] })
    // A stale factor: through step-up, nothing written.
    await passedSecondFactorAtSignIn(owner.id)
    const stale = await client.post(here(), { intent: 'trust', region: 'eu', trustIdpMfa: 'on', idpMfaAmr: 'mfa', idpMfaAcr: '' })
    expect(stale.status).toBe(302)
    expect(stale.headers.get('location')).toMatch(/^\/settings\/security\/confirm\?redirectTo=/)
    const [eu] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'eu')))
    expect(eu.trustIdpMfa).toBe(false)
    // Back to off for the API tests below.
    await signInAs(client, owner.id)
    expect((await client.post(here(), { intent: 'trust', region: 'us', trustIdpMfa: '', idpMfaAmr: 'mfa otp', idpMfaAcr: '' })).status).toBe(302)
  })
})

describe('the API', () => {
  let ownerToken: string
  let adminToken: string
  let readKey: string
  let writeKey: string
  beforeAll(async () => {
    ownerToken = await apiToken(owner.id)
    adminToken = await apiToken(admin.id)
    const bot = await createUser({ org, kind: 'service', email: 'bot@hooli-people.test' })
    const issue = async (scopes: string[]) => {
      const res = await apiCall(base, `/api/organizations/${org.id}/api-keys`, { json: { serviceAccountId: bot.id, name: scopes.join(' '), scopes }, token: ownerToken })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body.data.key as string
    }
    readKey = await issue(['policy:read'])
    writeKey = await issue(['policy:read', 'policy:write'])
  })

  it('reads the settings (admins, keys with policy:read) and never the secret', async () => {
    for (const token of [ownerToken, adminToken, readKey]) {
      const res = await apiCall(base, `/api/organizations/${org.slug}/sso`, { token })
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      expect(res.body.data).toMatchObject({ configured: true, issuer: idp.issuer, clientId: CLIENT_ID, clientSecretSet: true, domains: ['hooli-xyz.test', 'hooli.test'], ssoRequired: true })
      expect(JSON.stringify(res.body)).not.toContain(SECRET_2)
      expect(Object.keys(res.body.data)).not.toContain('clientSecret')
    }
    const doc = await apiCall(base, '/api/openapi.json')
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/organizations/{orgId}/sso', '/api/organizations/{orgId}/sso/trust/{region}']))
    expect(JSON.stringify(doc.body.paths['/api/organizations/{orgId}/sso'].get.responses)).not.toContain('clientSecret"')
  })

  it('changes them only for an owner with a fresh second factor: keys get person_required, admins 403, a stale owner step_up_required; discovery is read first', async () => {
    const body = { issuer: idp.issuer, clientId: CLIENT_ID, domains: ['hooli.test'], region: 'eu', ssoRequired: false }
    const before = await configRow()
    const byKey = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: body, token: writeKey })
    expect(byKey).toMatchObject({ status: 403, body: { error: { code: 'person_required' } } })
    const byAdmin = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: body, token: adminToken })
    expect(byAdmin.status).toBe(403)
    const down = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: { ...body, issuer: deadIssuer }, token: ownerToken })
    expect(down).toMatchObject({ status: 502, body: { error: { code: 'idp_unavailable', message: expect.stringContaining('discovery document') } } })
    const unknownField = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: { ...body, clientSecretCiphertext: 'x' }, token: ownerToken })
    expect(unknownField.status).toBe(400)
    const badDomain = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: { ...body, domains: ['nope'] }, token: ownerToken })
    expect(badDomain).toMatchObject({ status: 400, body: { error: { code: 'invalid_request', fields: { 'domains.0': expect.stringContaining('Enter domains like') } } } })
    expect(await configRow()).toEqual(before)

    const ok = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: body, token: ownerToken })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.data).toMatchObject({ region: 'eu', domains: ['hooli.test'], ssoRequired: false, clientSecretSet: true })
    const after = await configRow()
    expect(after.clientSecretCiphertext).toBe(before.clientSecretCiphertext)
    expect(await domainsOf()).toEqual(['hooli.test'])

    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.userId, owner.id))
    const stale = await apiCall(base, `/api/organizations/${org.id}/sso`, { method: 'PUT', json: { ...body, ssoRequired: true }, token: ownerToken })
    expect(stale).toMatchObject({ status: 403, body: { error: { code: 'step_up_required' } } })
    await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.userId, owner.id))
  })

  it('sets a region’s trust in the provider’s MFA, saying whom it affects (a lowering: never from a key)', async () => {
    const byKey = await apiCall(base, `/api/organizations/${org.id}/sso/trust/us`, { method: 'PUT', json: { trustIdpMfa: true }, token: writeKey })
    expect(byKey).toMatchObject({ status: 403, body: { error: { code: 'person_required' } } })
    const res = await apiCall(base, `/api/organizations/${org.id}/sso/trust/us`, { method: 'PUT', json: { trustIdpMfa: true, idpMfaAmr: ['otp'] }, token: ownerToken })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.data).toMatchObject({ changed: true, lowered: [expect.any(String)], lowersProtectionFor: expect.any(Number) })
    expect(res.body.data.settings.trust.find((t: { region: string }) => t.region === 'us')).toMatchObject({ trustIdpMfa: true, idpMfaAmr: ['otp'] })
    const missing = await apiCall(base, `/api/organizations/${org.id}/sso/trust/apac`, { method: 'PUT', json: { trustIdpMfa: true }, token: ownerToken })
    expect(missing.status).toBe(404)
  })
})

const gatehouse = (args: string[], env: Record<string, string> = {}, stdin = '') => runCli(args, { GATEHOUSE_URL: base, GATEHOUSE_TOKEN: '', ...env }, stdin)

describe('gatehouse sso get|set', () => {
  let token: string
  beforeAll(async () => {
    token = await apiToken(owner.id)
  })

  it('has --help, shows the settings (text and --json) without the secret, and changes them with the secret read from stdin', async () => {
    for (const verb of [['sso', 'get'], ['sso', 'set']]) {
      const help = await gatehouse([...verb, '--help'])
      expect(help.code).toBe(0)
      expect(help.stdout).toContain(`Usage: gatehouse ${verb.join(' ')}`)
      expect(help.stdout).toContain('--json')
    }
    const shown = await gatehouse(['sso', 'get', org.slug], { GATEHOUSE_TOKEN: token })
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(`Issuer: ${idp.issuer}`)
    expect(shown.stdout).toContain('Client secret: set (never shown)')

    const set = await gatehouse(['sso', 'set', org.slug, '--client-secret-stdin', '--domains', 'hooli.test,hooli.example', '--required', '--json'], { GATEHOUSE_TOKEN: token }, `${SECRET_1}\n`)
    expect(set.code, set.stderr).toBe(0)
    const saved = JSON.parse(set.stdout)
    expect(saved).toMatchObject({ domains: ['hooli.example', 'hooli.test'], ssoRequired: true, region: 'eu', clientSecretSet: true })
    expect(set.stdout + set.stderr).not.toContain(SECRET_1)
    expect((await loadSsoConfig(org.id))!.clientSecret).toBe(SECRET_1)

    const json = await gatehouse(['sso', 'get', org.slug, '--json'], { GATEHOUSE_TOKEN: token })
    expect(JSON.parse(json.stdout)).toMatchObject({ ssoRequired: true, domains: ['hooli.example', 'hooli.test'] })
  })

  it('exits 2 on bad arguments, 1 when the provider cannot be read (nothing written), 3 for an organization it cannot see', async () => {
    const before = await configRow()
    const usage = await gatehouse(['sso', 'set', org.slug], { GATEHOUSE_TOKEN: token })
    expect(usage.code).toBe(2)
    expect(usage.stderr).toContain('nothing to change')
    const both = await gatehouse(['sso', 'set', org.slug, '--trust-region', 'us', '--required'], { GATEHOUSE_TOKEN: token })
    expect(both.code).toBe(2)
    const down = await gatehouse(['sso', 'set', org.slug, '--issuer', deadIssuer], { GATEHOUSE_TOKEN: token })
    expect(down.code).toBe(1)
    expect(down.stderr).toContain('discovery document')
    expect(await configRow()).toEqual(before)
    const other = await createOrg({ slug: 'not-mine-sso', regions: ['us'] })
    const missing = await gatehouse(['sso', 'get', other.slug], { GATEHOUSE_TOKEN: token })
    expect(missing.code).toBe(3)
    const trust = await gatehouse(['sso', 'set', org.slug, '--trust-region', 'us', '--no-trust', '--json'], { GATEHOUSE_TOKEN: token })
    expect(trust.code, trust.stderr).toBe(0)
    expect(JSON.parse(trust.stdout)).toMatchObject({ changed: true, lowered: [] })
  })
})

describe('break-glass where SSO is required', () => {
  it('lets an owner and support staff with their own factor sign in with a password (their factor still asked), audited; a member is pointed to SSO', async () => {
    expect((await configRow()).ssoRequired).toBe(true)
    // Only verified domains route sign-in (decision 080): the domains saved above are marked verified
    // directly here (their DNS proof is tested in sso-domain-proof.test.ts).
    await db.update(schema.ssoDomains).set({ verifiedAt: new Date() }).where(eq(schema.ssoDomains.organizationId, org.id))
    const ceo = await createUser({ email: 'ceo@hooli.test', org, role: 'owner' })
    const staff = await createUser({ email: 'ops@hooli.test', platformRole: 'support' })
    const member = await createUser({ email: 'dinesh@hooli.test', org, role: 'member' })
    for (const u of [ceo, staff, member]) await enableTotp(u.id)
    for (const u of [ceo, staff]) {
      const res = await new TestClient(base).post('/login', { region: 'us', email: u.email, password: 'correct horse battery staple' })
      expect(res.status, u.email).toBe(302)
      expect(res.headers.get('location')).toBe('/login/verify')
      const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, u.id), eq(schema.auditEvents.action, 'auth.sso_break_glass' as never)))
      expect(event.details).toMatchObject({ organizationId: org.id })
      expect(event.organizationId).toBe(org.id)
    }
    const refused = await new TestClient(base).post('/login', { region: 'us', email: member.email, password: 'correct horse battery staple' })
    expect(refused.status).toBe(403)
    expect(await html(refused)).toContain('Continue with Hooli SSO')
    expect(await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, member.id), eq(schema.auditEvents.action, 'auth.sso_break_glass' as never)))).toHaveLength(0)
    const reset = await new TestClient(base).post('/forgot-password', { region: 'us', email: member.email })
    expect(reset.status).toBe(403)
    expect(await html(reset)).toContain('no Gatehouse password to reset')
  })
})

describe('gatehouse rotate-encryption-key', () => {
  it('re-encrypts each organization’s SSO client secret under the new first key, bound to its organization; reruns skip it', async () => {
    const before = await configRow()
    expect(before.keyId).toBe('t1')
    const newKey = randomBytes(32)
    const ring = `t2:${newKey.toString('base64')},${process.env.GATEHOUSE_ENCRYPTION_KEYS}`
    const run = await gatehouse(['rotate-encryption-key', '--json'], { GATEHOUSE_ENCRYPTION_KEYS: ring })
    expect(run.code, run.stderr).toBe(0)
    const report = JSON.parse(run.stdout)
    expect(report).toMatchObject({ keyId: 't2', ok: true, sso: { total: 2, rotated: 2, alreadyCurrent: 0, failed: [] } })
    const after = await configRow()
    expect(after.keyId).toBe('t2')
    expect(after.clientSecretCiphertext).not.toBe(before.clientSecretCiphertext)
    expect(run.stdout).not.toContain(SECRET_1)
    config.encryptionKeys.unshift({ id: 't2', key: newKey })
    try {
      expect(decryptSecret(after.clientSecretCiphertext, after.keyId, { column: 'sso_configs.client_secret_ciphertext', userId: org.id })).toBe(SECRET_1)
      // Bound to its organization: the same ciphertext does not open as another organization's.
      expect(() => decryptSecret(after.clientSecretCiphertext, after.keyId, { column: 'sso_configs.client_secret_ciphertext', userId: owner.id })).toThrow()
    } finally {
      config.encryptionKeys.shift()
    }
    const rerun = await gatehouse(['rotate-encryption-key'], { GATEHOUSE_ENCRYPTION_KEYS: ring })
    expect(rerun.code).toBe(0)
    expect(rerun.stdout).toContain('2 SSO client secret(s); 0 re-encrypted, 2 already under it')
  })
})
