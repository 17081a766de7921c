/**
 * DNS TXT proof of single sign-on domains (issue 16, decision 080) through the real server, a
 * real OpenID provider and a real DNS server on 127.0.0.1 (dns2, UDP) that the app's resolver is
 * pointed at through its configuration (DNS_SERVERS): a new domain is unverified with its own
 * token; verify succeeds only with the exact record; a missing record, a wrong token and DNS that
 * does not answer are refused with nothing written and the reason audited; an unverified domain
 * neither routes /login nor lets the provider create accounts; a verified domain belongs to one
 * organization, and other organizations' unverified claims of it are dropped.
 */
import { and, count, desc, eq } from 'drizzle-orm'
import dns2 from 'dns2'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { config } from '#app/config/env.server.ts'
import { db, schema } from '#db/client.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { runCli } from '#tests/setup/cli.ts'
import { TestClient } from '#tests/setup/http.ts'
import { configureSso, ProviderBrowser, startAt, startTestProvider } from '#tests/setup/sso.ts'
import type { TestProvider } from '../../scripts/oidc-provider.ts'

vi.setConfig({ testTimeout: 90_000 })

/**
 * The app's resolver reads DNS_SERVERS from its configuration when it starts (the server build
 * loads its configuration in beforeAll): the test DNS server listens on a port chosen here,
 * before anything is imported. "DNS down" is that server closed.
 */
const DNS_PORT = vi.hoisted(() => {
  const port = 20_000 + (process.pid % 20_000)
  process.env.DNS_SERVERS = `127.0.0.1:${port}`
  return port
})

const { Packet } = dns2
/** The zone the test DNS server answers from: name → TXT strings. Anything else is NXDOMAIN. */
const zone = new Map<string, string[]>()
let dnsServer: ReturnType<typeof dns2.createServer>

let base: string
let idp: TestProvider
let org: Awaited<ReturnType<typeof createOrg>>
let rival: Awaited<ReturnType<typeof createOrg>>
let owner: Awaited<ReturnType<typeof createUser>>
let rivalOwner: Awaited<ReturnType<typeof createUser>>
let ownerToken: string
let rivalToken: string

const apiToken = async (userId: string) => (await createSession({ userId, level: 'mfa', secondFactorMethod: 'totp', channel: 'api', meta: { ip: '127.0.0.1', userAgent: 'test' } })).token
const claims = async (domain: string) => db.select().from(schema.ssoDomains).where(eq(schema.ssoDomains.domain, domain)).orderBy(schema.ssoDomains.organizationId)
const eventsOf = async (action: string, orgId = org.id) =>
  db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, orgId), eq(schema.auditEvents.action, action as never))).orderBy(desc(schema.auditEvents.createdAt))
const userCount = async () => (await db.select({ n: count() }).from(schema.users))[0].n
const verify = (domain: string, token = ownerToken, orgId = org.id) => apiCall(base, `/api/organizations/${orgId}/sso/domains/${domain}/verify`, { method: 'POST', token })
const stateOf = async (domain: string, orgId = org.id) => {
  const res = await apiCall(base, `/api/organizations/${orgId}/sso`, { token: ownerToken })
  expect(res.status).toBe(200)
  return (res.body.data.domainStates as { domain: string; state: string; txtName: string; txtValue: string; verifiedAt: string | null }[]).find((x) => x.domain === domain)
}

/** A real DNS server (UDP, 127.0.0.1) answering TXT questions from `zone`, NXDOMAIN otherwise. */
async function startDns() {
  const server = dns2.createServer({
    udp: true,
    handle: (request, send) => {
      const response = Packet.createResponseFromRequest(request)
      const [q] = request.questions
      const records = q.type === Packet.TYPE.TXT ? zone.get(q.name.toLowerCase()) : undefined
      if (records) for (const data of records) response.answers.push({ name: q.name, type: Packet.TYPE.TXT, class: Packet.CLASS.IN, ttl: 1, data } as never)
      else response.header.rcode = Packet.RCODE.NXDOMAIN
      send(response)
    },
  })
  await server.listen({ udp: { port: DNS_PORT, address: '127.0.0.1' } })
  return server
}

beforeAll(async () => {
  dnsServer = await startDns()
  // The configuration this file's modules loaded before DNS_SERVERS was set says the same.
  config.dnsServers = [`127.0.0.1:${DNS_PORT}`]

  base = (await startTestApp({ workers: false })).url
  idp = await startTestProvider([
    { id: 'u-proven', email: 'new@proven.test', name: 'Proven', amr: ['pwd'] },
    { id: 'u-unproven', email: 'new@unproven.test', name: 'Unproven', amr: ['pwd'] },
  ])
  org = await createOrg({ slug: 'proofco', name: 'Proofco', regions: ['eu'] })
  rival = await createOrg({ slug: 'rivalco', name: 'Rivalco', regions: ['eu'] })
  owner = await createUser({ email: 'owner@proofco-people.test', region: 'eu', org, role: 'owner' })
  rivalOwner = await createUser({ email: 'owner@rivalco-people.test', region: 'eu', org: rival, role: 'owner' })
  await enableTotp(owner.id)
  await enableTotp(rivalOwner.id)
  ownerToken = await apiToken(owner.id)
  rivalToken = await apiToken(rivalOwner.id)
  await configureSso(org.id, owner.id, { issuer: idp.issuer, domains: ['proven.test', 'unproven.test'], region: 'eu', verified: false })
  // The rival claims proven.test too, unverified: that does not block anyone (decision 080).
  await configureSso(rival.id, rivalOwner.id, { issuer: idp.issuer, domains: ['rival.test', 'proven.test'], region: 'eu', verified: false })
})
afterAll(async () => {
  await idp?.close()
  await dnsServer?.close()
})

describe('a new domain', () => {
  it('starts unverified with its own random token, shown as the TXT record to publish', async () => {
    const rows = await claims('proven.test')
    expect(rows).toHaveLength(2)
    expect(rows.every((r) => r.verifiedAt === null)).toBe(true)
    expect(rows[0].verificationToken).toMatch(/^[0-9a-f]{40}$/)
    expect(rows[0].verificationToken).not.toBe(rows[1].verificationToken)
    const mine = rows.find((r) => r.organizationId === org.id)!
    expect(await stateOf('proven.test')).toEqual({
      domain: 'proven.test', state: 'unverified', verifiedAt: null,
      txtName: '_gatehouse-challenge.proven.test', txtValue: `gatehouse-domain-verification=${mine.verificationToken}`,
    })
  })

  it('does not route /login to SSO while unverified: the password is asked', async () => {
    const res = await new TestClient(base).post('/login', { region: 'eu', email: 'someone@unproven.test', password: '' })
    expect(res.status).toBe(400)
    const html = await res.text()
    expect(html).toContain('Enter your password')
    expect(html).not.toContain('/sso/start')
  })
})

describe('verifying a domain by DNS', () => {
  it('refuses with no record, with another token, and when DNS does not answer: nothing written, the reason audited', async () => {
    const before = await claims('proven.test')
    const noRecord = await verify('proven.test')
    expect(noRecord.status).toBe(422)
    expect(noRecord.body.error.code).toBe('domain_unverified')
    expect(noRecord.body.error.message).toContain('_gatehouse-challenge.proven.test')
    expect((await eventsOf('security.change_refused'))[0].details).toMatchObject({ code: 'domain_unverified', attempt: 'org.sso_domain_verified', reason: 'txt_record_missing', domain: 'proven.test' })

    // The rival's token published, not ours (and some unrelated TXT).
    const rivalToken_ = before.find((r) => r.organizationId === rival.id)!.verificationToken
    zone.set('_gatehouse-challenge.proven.test', [`gatehouse-domain-verification=${rivalToken_}`, 'v=spf1 -all'])
    const wrong = await verify('proven.test')
    expect(wrong.status).toBe(422)
    expect(wrong.body.error.code).toBe('domain_unverified')
    expect((await eventsOf('security.change_refused'))[0].details).toMatchObject({ reason: 'txt_record_mismatch', domain: 'proven.test' })

    // DNS down: the configured server is closed (its port answers nothing).
    const mine = before.find((r) => r.organizationId === org.id)!
    zone.set('_gatehouse-challenge.proven.test', [`gatehouse-domain-verification=${mine.verificationToken}`])
    await dnsServer.close()
    try {
      const down = await verify('proven.test')
      expect(down.status).toBe(502)
      expect(down.body.error.code).toBe('dns_unavailable')
      expect((await eventsOf('security.change_refused'))[0].details).toMatchObject({ code: 'dns_unavailable', reason: expect.stringMatching(/^dns_error: /), domain: 'proven.test' })
    } finally {
      dnsServer = await startDns()
    }
    expect(await claims('proven.test')).toEqual(before)
    expect(await eventsOf('org.sso_domain_verified')).toHaveLength(0)
    expect(await stateOf('proven.test')).toMatchObject({ state: 'unverified' })
  })

  it('refuses a stale session, and verifies with the exact record: the rival’s unverified claim is dropped', async () => {
    const stale = (await createSession({ userId: owner.id, level: 'mfa', secondFactorMethod: 'totp', channel: 'api', meta: { ip: '127.0.0.1', userAgent: 'test' } }))
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 60 * 60_000) }).where(eq(schema.sessions.id, stale.session.id))
    const staleAnswer = await verify('proven.test', stale.token)
    expect(staleAnswer.status).toBe(403)
    expect(staleAnswer.body.error.code).toBe('step_up_required')

    const ok = await verify('proven.test')
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.data).toMatchObject({ domain: 'proven.test', verified: true, alreadyVerified: false, droppedClaims: 1 })
    const rows = await claims('proven.test')
    expect(rows).toHaveLength(1)
    expect(rows[0].organizationId).toBe(org.id)
    expect(rows[0].verifiedAt).toBeInstanceOf(Date)
    expect((await eventsOf('org.sso_domain_verified'))[0].details).toMatchObject({ domain: 'proven.test', droppedClaims: 1 })
    expect((await eventsOf('org.sso_domain_claim_dropped', rival.id))[0].details).toMatchObject({ domain: 'proven.test', reason: 'verified_by_another_organization' })
    expect(await stateOf('proven.test')).toMatchObject({ state: 'verified' })

    // Now /login routes it.
    const offer = await new TestClient(base).post('/login', { region: 'eu', email: 'someone@proven.test', password: '' })
    expect(offer.status).toBe(200)
    expect(await offer.text()).toContain('/sso/start')
  })

  it('does not let another organization add a verified domain, nor verify it', async () => {
    const res = await apiCall(base, `/api/organizations/${rival.id}/sso`, { method: 'PUT', token: rivalToken, json: { issuer: idp.issuer, clientId: 'x', domains: ['rival.test', 'proven.test'], region: 'eu' } })
    expect(res.status).toBe(409)
    expect(res.body.error.code).toBe('sso_domain_taken')
    expect((await claims('proven.test')).map((r) => r.organizationId)).toEqual([org.id])
    const notTheirs = await verify('proven.test', rivalToken, rival.id)
    expect(notTheirs.status).toBe(404)
  })

  it('lets the provider create accounts only in verified domains (JIT refused for the unverified one)', async () => {
    const before = await userCount()
    const client = new TestClient(base)
    const authorizationUrl = await startAt(client, 'someone@proven.test')
    const { callback } = await new ProviderBrowser().signIn(authorizationUrl, 'u-unproven')
    const res = await client.get(callback)
    expect(res.status).toBe(400)
    expect(await userCount()).toBe(before)
    const [failure] = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'auth.sso_failed')).orderBy(desc(schema.auditEvents.createdAt)).limit(1)
    expect(failure.details).toMatchObject({ reason: 'domain_not_verified', domain: 'unproven.test' })

    const ok = new TestClient(base)
    const url2 = await startAt(ok, 'new@proven.test')
    const back = await new ProviderBrowser().signIn(url2, 'u-proven')
    expect((await ok.get(back.callback)).status).toBe(302)
    expect(await userCount()).toBe(before + 1)
  })
})

describe('the page and the CLI', () => {
  it('shows the TXT record on the page, and verifies from the Verify button', async () => {
    const mine = (await claims('unproven.test'))[0]
    const client = new TestClient(base)
    await signInAs(client, owner.id)
    const page = (await (await client.get('/orgs/proofco/sso')).text()).replaceAll('<!-- -->', '')
    expect(page).toContain('_gatehouse-challenge.unproven.test')
    expect(page).toContain(`gatehouse-domain-verification=${mine.verificationToken}`)
    expect(page).toContain('Verify unproven.test')
    const refused = await client.post('/orgs/proofco/sso', { intent: 'verify', domain: 'unproven.test' })
    expect(refused.status).toBe(422)
    expect(await refused.text()).toContain('No TXT record')
    zone.set('_gatehouse-challenge.unproven.test', [`gatehouse-domain-verification=${mine.verificationToken}`])
    const done = await client.post('/orgs/proofco/sso', { intent: 'verify', domain: 'unproven.test' })
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe('/orgs/proofco/sso?notice=domain-verified#domains')
    expect((await claims('unproven.test'))[0].verifiedAt).toBeInstanceOf(Date)
  })

  it('`gatehouse sso get` shows the state and the record; `gatehouse sso verify-domain` verifies or exits 1 with the reason', async () => {
    await apiCall(base, `/api/organizations/${rival.id}/sso`, { method: 'PUT', token: rivalToken, json: { issuer: idp.issuer, clientId: 'x', domains: ['rival.test', 'rival2.test'], region: 'eu' } })
    const [r2] = await claims('rival2.test')
    const shown = await gatehouse(['sso', 'get', 'rivalco'], rivalToken)
    expect(shown.code, shown.stderr).toBe(0)
    expect(shown.stdout).toContain(`rival2.test: NOT verified (not used for sign-in). Publish TXT _gatehouse-challenge.rival2.test "gatehouse-domain-verification=${r2.verificationToken}"`)
    const refused = await gatehouse(['sso', 'verify-domain', 'rival2.test', '--org', 'rivalco'], rivalToken)
    expect(refused.code).toBe(1)
    expect(refused.stderr).toContain('No TXT record')
    zone.set('_gatehouse-challenge.rival2.test', [`gatehouse-domain-verification=${r2.verificationToken}`])
    const ok = await gatehouse(['sso', 'verify-domain', 'rival2.test', '--org', 'rivalco'], rivalToken)
    expect(ok.code, ok.stderr).toBe(0)
    expect(ok.stdout).toContain('rival2.test verified')
    expect((await gatehouse(['sso', 'get', 'rivalco'], rivalToken)).stdout).toMatch(/rival2\.test: verified/)
  })
})

const gatehouse = (args: string[], token: string) => runCli(args, { GATEHOUSE_URL: base, GATEHOUSE_TOKEN: token })
