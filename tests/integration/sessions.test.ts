/**
 * Active sessions (ASVS 3.3.3, 3.3.4; decision 061), through the real server: the list on
 * /settings/security/sessions and GET /api/auth/sessions, signing one session out or every other
 * one, another member's session id refused, and every change to a factor or the password ending
 * the member's other sessions and API session tokens, while organization API keys keep working.
 */
import { and, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { NO_REQUEST } from '#app/audit/record.server.ts'
import { createSession, loadSession } from '#app/auth/session.server.ts'
import { issueApiKey } from '#app/orgs/api-keys.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { db, schema } from '#db/client.ts'
import { enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall, apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

const UA = {
  iphoneChrome: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/124.0.6367.88 Mobile/15E148 Safari/604.1',
  firefox: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0',
  edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.2478.67',
}
const PAGE = '/settings/security/sessions'

/** A browser signed in through /login (a member without factors: no second step). */
async function browser(email: string, ua: string) {
  const client = new TestClient(base, { 'user-agent': ua })
  const res = await signIn(client, email)
  expect(res.status).toBe(302)
  expect(client.cookies.has('gh_session')).toBe(true)
  return client
}

/** True while the client's session still opens a signed-in page; a signed-out one is sent to /login. */
async function signedIn(client: TestClient) {
  const res = await client.get('/settings/security')
  if (res.status === 200) return true
  expect(res.status).toBe(302)
  expect(res.headers.get('location')).toMatch(/^\/login/)
  return false
}

const apiAlive = async (token: string) => (await apiCall(base, '/api/me', { token })).status === 200

const sessionsOf = (userId: string) => db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))
const eventsOf = (userId: string, action: string) =>
  db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, userId), eq(schema.auditEvents.action, action as 'auth.session_revoked')))

const sessionRows = (html: string) => [...html.replaceAll('<!-- -->', '').matchAll(/<tr data-testid="session"[^>]*>([\s\S]*?)<\/tr>/g)].map((m) => m[0])
// Each row links to its sign-out confirmation (decision 072), which names the session.
const idIn = (row: string) => row.match(/sign-out=([0-9a-f-]{36})/)![1]

describe('the sessions page', () => {
  it('lists this session marked and another with its parsed browser; signing the other out ends it at once', async () => {
    const user = await createUser()
    const phone = await browser(user.email, UA.iphoneChrome)
    const desktop = await browser(user.email, UA.firefox)

    const page = await desktop.text(PAGE)
    expect(page.status).toBe(200)
    const rows = sessionRows(page.html)
    expect(rows).toHaveLength(2)
    const mine = rows.filter((r) => r.includes('This session'))
    expect(mine).toHaveLength(1)
    expect(mine[0]).toContain('aria-current="true"')
    expect(mine[0]).toContain('Firefox 125')
    expect(mine[0]).toContain('Windows 10')
    const other = rows.find((r) => !r.includes('This session'))!
    // Chrome on an iPhone says "Safari" in its User-Agent too: bowser reads CriOS.
    expect(other).toContain('Chrome 124')
    expect(other).toContain('iOS 17.4')
    expect(other).toMatch(/127\.0\.0\.1|::1/)
    expect(page.html).toContain('Sign out everywhere else')

    const res = await desktop.post(PAGE, { intent: 'sign_out', sessionId: idIn(other) })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Session signed out.')
    // The phone's very next request is signed out; this browser is not.
    expect(await signedIn(phone)).toBe(false)
    expect(await signedIn(desktop)).toBe(true)
    expect(await sessionsOf(user.id)).toHaveLength(1)
    const [event] = await eventsOf(user.id, 'auth.session_revoked')
    expect(event.details).toMatchObject({ reason: 'signed_out', sessionId: idIn(other), channel: 'web', current: false })
    expect(event.actorId).toBe(user.id)
  })

  it('"Sign out everywhere else" ends every other browser and API session token, and keeps this one', async () => {
    const user = await createUser()
    const here = await browser(user.email, UA.edge)
    const there = await browser(user.email, UA.firefox)
    const token = await apiSignIn(base, user.email)
    expect(sessionRows((await here.text(PAGE)).html)).toHaveLength(3)

    const res = await here.post(PAGE, { intent: 'sign_out_others' })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('2 sessions signed out.')
    expect(await signedIn(there)).toBe(false)
    expect(await apiAlive(token)).toBe(false)
    expect(await signedIn(here)).toBe(true)
    const rows = sessionRows((await here.text(PAGE)).html)
    expect(rows).toHaveLength(1)
    expect(rows[0]).toContain('This session')
    const [event] = await eventsOf(user.id, 'auth.session_revoked')
    expect(event.details).toEqual({ reason: 'signed_out_elsewhere', count: 2, channels: ['api', 'web'], kept: true })
  })

  it("another member's session id: 404, that session lives on, and the attempt is audited with who tried", async () => {
    const victim = await createUser()
    const attacker = await createUser()
    const victimBrowser = await browser(victim.email, UA.firefox)
    const victimToken = await apiSignIn(base, victim.email)
    const attackerBrowser = await browser(attacker.email, UA.edge)
    const attackerToken = await apiSignIn(base, attacker.email)
    const before = await sessionsOf(victim.id)
    expect(before).toHaveLength(2)

    for (const target of before) {
      const web = await attackerBrowser.post(PAGE, { intent: 'sign_out', sessionId: target.id })
      expect(web.status).toBe(404)
      expect(await web.text()).toContain('There is no such session on your account')
      const api = await apiCall(base, `/api/auth/sessions/${target.id}`, { method: 'DELETE', token: attackerToken })
      expect(api.status).toBe(404)
      expect(api.body.error.code).toBe('not_found')
    }
    expect((await sessionsOf(victim.id)).map((s) => s.id).sort()).toEqual(before.map((s) => s.id).sort())
    expect(await signedIn(victimBrowser)).toBe(true)
    expect(await apiAlive(victimToken)).toBe(true)
    // Nothing was revoked; each try is on record, with the attacker as actor.
    expect(await eventsOf(victim.id, 'auth.session_revoked')).toEqual([])
    const refused = await eventsOf(victim.id, 'security.change_refused')
    expect(refused).toHaveLength(4)
    for (const e of refused) expect(e).toMatchObject({ actorId: attacker.id, details: { code: 'not_found', attempt: 'session.sign_out' } })

    // A made-up id and a malformed one change nothing either.
    expect((await attackerBrowser.post(PAGE, { intent: 'sign_out', sessionId: crypto.randomUUID() })).status).toBe(404)
    expect((await attackerBrowser.post(PAGE, { intent: 'sign_out', sessionId: 'not-a-session' })).status).toBe(400)
    expect((await apiCall(base, '/api/auth/sessions/not-a-session', { method: 'DELETE', token: attackerToken })).status).toBe(404)
    expect(await sessionsOf(victim.id)).toHaveLength(2)
  })

  it('signing out this session from the list signs this browser out', async () => {
    const user = await createUser()
    const client = await browser(user.email, UA.firefox)
    const [row] = sessionRows((await client.text(PAGE)).html)
    const res = await client.post(PAGE, { intent: 'sign_out', sessionId: idIn(row) })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login?notice=signed-out')
    expect(client.cookies.has('gh_session')).toBe(false)
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('the security page links to it and says that a factor change signs out everywhere else', async () => {
    const user = await createUser()
    const client = await browser(user.email, UA.firefox)
    const html = (await client.text('/settings/security')).html
    expect(html).toContain(`href="${PAGE}"`)
    expect(html).toContain('Adding or removing a factor (an app, a key, new recovery codes) signs you out everywhere else')
  })
})

describe('GET and DELETE /api/auth/sessions', () => {
  it('lists web and API sessions with the current one marked; DELETE ends another at once', async () => {
    const user = await createUser()
    const phone = await browser(user.email, UA.iphoneChrome)
    const token = await apiSignIn(base, user.email)
    const list = await apiCall(base, '/api/auth/sessions', { token })
    expect(list.status).toBe(200)
    const sessions = list.body.data.sessions
    expect(sessions).toHaveLength(2)
    const current = sessions.find((s: any) => s.current)
    expect(current).toMatchObject({ channel: 'api', current: true })
    const web = sessions.find((s: any) => !s.current)
    expect(web).toMatchObject({ channel: 'web', browser: 'Chrome 124', system: 'iOS 17.4', current: false, ip: expect.any(String) })
    expect(Date.parse(web.createdAt)).not.toBeNaN()
    expect(Date.parse(web.lastSeenAt)).not.toBeNaN()

    const del = await apiCall(base, `/api/auth/sessions/${web.id}`, { method: 'DELETE', token })
    expect(del.status).toBe(200)
    expect(del.body.data).toEqual({ signedOut: true, current: false })
    expect(await signedIn(phone)).toBe(false)
    expect(await apiAlive(token)).toBe(true)
    // Gone already: a second DELETE is 404.
    expect((await apiCall(base, `/api/auth/sessions/${web.id}`, { method: 'DELETE', token })).status).toBe(404)

    // The current token's own id signs this token out.
    const self = await apiCall(base, `/api/auth/sessions/${current.id}`, { method: 'DELETE', token })
    expect(self.body.data).toEqual({ signedOut: true, current: true })
    expect(await apiAlive(token)).toBe(false)
  })

  it('an organization API key is not a session: 403 on both, and nothing ends', async () => {
    const { key, account } = await serviceAccountWithKey()
    const token = await apiSignIn(base, account.email)
    const [row] = await sessionsOf(account.id)
    const list = await apiCall(base, '/api/auth/sessions', { token: key })
    expect(list.status).toBe(403)
    expect(list.body.error.code).toBe('forbidden')
    const del = await apiCall(base, `/api/auth/sessions/${row.id}`, { method: 'DELETE', token: key })
    expect(del.status).toBe(403)
    expect(await apiAlive(token)).toBe(true)
    // Without any token: 401.
    expect((await apiCall(base, '/api/auth/sessions')).status).toBe(401)
  })
})

/** A service account of a fresh organization (with a password, so it can sign in too) and a read key. */
async function serviceAccountWithKey() {
  const org = await createOrg()
  const admin = await createUser({ org, role: 'admin' })
  const account = await createUser({ org, kind: 'service' })
  const { key } = await issueApiKey({
    org, scope: orgScope(org), issuer: { user: admin, session: { secondFactorAt: null } }, serviceAccountId: account.id, name: 'ci', scopes: ['policy:read'], meta: NO_REQUEST,
  })
  return { org, account, key }
}

const keyWorks = async (key: string, orgId: string) => (await apiCall(base, `/api/organizations/${orgId}/security`, { token: key })).status === 200

describe('a change to a factor or the password ends the other sessions', () => {
  it('adding an app on the web ends another browser and an API session token; this browser stays; the notice says so', async () => {
    const user = await createUser()
    const here = await browser(user.email, UA.firefox)
    const there = await browser(user.email, UA.edge)
    const token = await apiSignIn(base, user.email)
    const since = Date.now()

    const secret = (await here.text('/settings/security/totp')).html.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)![1].replaceAll(' ', '')
    const done = await here.post('/settings/security/totp', { intent: 'confirm', code: await totpCode(secret) })
    expect(done.status).toBe(200)
    expect(await signedIn(here)).toBe(true)
    expect(await signedIn(there)).toBe(false)
    expect(await apiAlive(token)).toBe(false)
    expect(await sessionsOf(user.id)).toHaveLength(1)
    const [event] = await eventsOf(user.id, 'auth.session_revoked')
    expect(event.details).toEqual({ reason: 'factor_added', count: 2, channels: ['api', 'web'], kept: true })

    const mail = await smtp.waitFor(user.email, { subject: /A sign-in method was added/, since })
    expect(mail.text).toContain('Every other browser and API session token signed in to your account was signed out')
  })

  it('a service account adding an app over the API: its other token ends, this token and its organization API key keep working', async () => {
    const { org, account, key } = await serviceAccountWithKey()
    const token = await apiSignIn(base, account.email)
    const other = await apiSignIn(base, account.email)
    expect(await keyWorks(key, org.id)).toBe(true)

    const setup = await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })
    expect(setup.status).toBe(200)
    const enabled = await apiCall(base, '/api/auth/2fa/verify', { token, json: { code: await totpCode(setup.body.data.secret) } })
    expect(enabled.status).toBe(200)
    expect(await apiAlive(other)).toBe(false)
    expect(await apiAlive(token)).toBe(true)
    expect(await keyWorks(key, org.id)).toBe(true)
  })

  it('removing a key ends the other sessions (the session that removed it stays)', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const [key] = await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: crypto.randomUUID(), publicKey: 'x', label: 'Old key', deviceType: 'singleDevice' }).returning()
    // Signed in with the app just now: a fresh second factor, so the removal needs no step-up page.
    const here = new TestClient(base, { 'user-agent': UA.firefox })
    expect((await signIn(here, user.email)).headers.get('location')).toBe('/login/verify')
    expect((await here.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })).status).toBe(302)
    await forgetTotpStep(user.id)
    const { token } = await createSession({ userId: user.id, level: 'mfa', channel: 'api', secondFactorMethod: 'totp', meta: NO_REQUEST })
    const there = new TestClient(base)
    there.cookies.set('gh_session', (await createSession({ userId: user.id, level: 'mfa', secondFactorMethod: 'totp', meta: NO_REQUEST })).token)
    expect(await signedIn(there)).toBe(true)

    const res = await here.post('/settings/security/keys', { intent: 'remove', keyId: key.id })
    expect(res.status).toBe(200)
    expect(await signedIn(here)).toBe(true)
    expect(await signedIn(there)).toBe(false)
    expect(await apiAlive(token)).toBe(false)
    expect((await eventsOf(user.id, 'auth.session_revoked')).map((e) => e.details)).toEqual([{ reason: 'factor_removed', count: 2, channels: ['api', 'web'], kept: true }])
  })

  it('a password reset ends every session and API session token: there is no current one to keep', async () => {
    const account = await createUser()
    const client = await browser(account.email, UA.firefox)
    const token = await apiSignIn(base, account.email)
    const since = Date.now()
    await new TestClient(base).post('/forgot-password', { region: 'us', email: account.email })
    const mail = await smtp.waitFor(account.email, { subject: /Reset your Gatehouse password/, since })
    const link = mail.text.match(/\/reset-password\/(\S+)/)![1]
    const NEW = 'a brand new long passphrase'
    const done = await new TestClient(base).post(`/reset-password/${link}`, { password: NEW, confirm: NEW })
    expect(done.status).toBe(302)
    expect(await signedIn(client)).toBe(false)
    expect(await apiAlive(token)).toBe(false)
    expect(await sessionsOf(account.id)).toHaveLength(0)
    expect((await eventsOf(account.id, 'auth.session_revoked')).map((e) => e.details)).toEqual([{ reason: 'password_reset', count: 2, channels: ['api', 'web'], kept: false }])
  })
})

describe('the idle expiry slides at most once a minute (decision 083)', () => {
  const row = async (id: string) => (await db.select().from(schema.sessions).where(eq(schema.sessions.id, id)))[0]

  it('a session seen within the minute is read, not written; one seen longer ago slides; an expired one stays out', async () => {
    const user = await createUser()
    const { token, session } = await createSession({ userId: user.id, level: 'mfa', meta: NO_REQUEST, secondFactorMethod: 'totp' })
    const created = await row(session.id)
    const loaded = await loadSession(token, 'web')
    expect(loaded?.session.id).toBe(session.id)
    expect(loaded?.user.id).toBe(user.id)
    expect(await row(session.id)).toEqual(created)

    // Seen two minutes ago, idle expiry near: the next request moves both.
    await db.update(schema.sessions).set({ lastSeenAt: sql`now() - interval '2 minutes'`, idleExpiresAt: sql`now() + interval '5 minutes'` }).where(eq(schema.sessions.id, session.id))
    const slid = await loadSession(token, 'web')
    const after = await row(session.id)
    expect(slid?.session.lastSeenAt).toEqual(after.lastSeenAt)
    expect(after.lastSeenAt.getTime()).toBeGreaterThan(Date.now() - 60_000)
    expect(Math.round((after.idleExpiresAt.getTime() - after.lastSeenAt.getTime()) / 60_000)).toBe(30)

    // The checks still run on every request, touched or not.
    await db.update(schema.sessions).set({ idleExpiresAt: sql`now() - interval '1 second'` }).where(eq(schema.sessions.id, session.id))
    expect(await loadSession(token, 'web')).toBeNull()
    expect(await loadSession(token, 'api')).toBeNull()
  })
})
