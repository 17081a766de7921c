import { eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { DEMO_PASSWORD, signIn, TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

async function auditActions(subjectId: string) {
  const rows = await db.select({ action: schema.auditEvents.action, ip: schema.auditEvents.ip, ua: schema.auditEvents.userAgent }).from(schema.auditEvents).where(eq(schema.auditEvents.subjectId, subjectId))
  return rows
}

describe('password sign-in', () => {
  it('signs in with the right password, sets a hardened cookie and a new token each time', async () => {
    const client = new TestClient(base, { 'user-agent': 'vitest-agent' })
    const res = await signIn(client, 'member@acme.test')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('gh_session='))!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Lax/)
    const first = client.cookies.get('gh_session')!
    expect(Buffer.from(decodeURIComponent(first), 'base64url').length).toBeGreaterThanOrEqual(16)
    const home = await client.text('/')
    expect(home.status).toBe(200)
    expect(home.html).toMatch(/Welcome, (<!-- -->)?Mia Member/)

    // Only a hash of the token is stored.
    const stored = await db.select({ tokenHash: schema.sessions.tokenHash }).from(schema.sessions)
    expect(stored.map((s) => s.tokenHash)).not.toContain(first)

    const again = new TestClient(base)
    await signIn(again, 'member@acme.test')
    expect(again.cookies.get('gh_session')).not.toBe(first)

    const user = await findDemoUser('member@acme.test')
    const events = await auditActions(user.id)
    expect(events).toContainEqual(expect.objectContaining({ action: 'auth.login_success', ua: 'vitest-agent' }))
    expect(events.find((e) => e.action === 'auth.login_success')?.ip).toBeTruthy()
  })

  it('gives the same answer for a wrong password and an unknown email', async () => {
    const wrong = await signIn(new TestClient(base), 'member@acme.test', 'us', 'not the password')
    const unknown = await signIn(new TestClient(base), 'nobody@acme.test', 'us', 'not the password')
    const wrongEu = await signIn(new TestClient(base), 'member@acme.test', 'eu', DEMO_PASSWORD)
    for (const res of [wrong, unknown, wrongEu]) {
      expect(res.status).toBe(400)
      expect(res.headers.getSetCookie().some((c) => c.startsWith('gh_session='))).toBe(false)
    }
    const [a, b, c] = await Promise.all([wrong.text(), unknown.text(), wrongEu.text()])
    for (const html of [a, b, c]) expect(html).toContain('Email or password is incorrect')
    const failures = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'auth.login_failed'))
    expect(failures.length).toBeGreaterThanOrEqual(3)
  })

  it('refuses bad input with a 400 and a message, never a 500', async () => {
    const client = new TestClient(base)
    const cases = [
      { region: 'us', email: 'not-an-email', password: 'x' },
      { region: 'mars', email: 'member@acme.test', password: 'x' },
      { region: 'us', email: 'member@acme.test', password: 'x'.repeat(10_000) },
      { region: 'us', email: '', password: '' },
    ]
    for (const form of cases) {
      const res = await client.post('/login', form)
      expect(res.status).toBe(400)
      expect(await res.text()).not.toContain('x'.repeat(300))
    }
  })

  it('locks the account after 100 consecutive failures, with the wait, until support lifts it', async () => {
    const user = await findDemoUser('eu.member@acme.test')
    const client = new TestClient(base)
    for (let i = 0; i < 99; i++) {
      const res = await signIn(client, 'eu.member@acme.test', 'eu', `wrong-${i}`)
      expect(res.status).toBe(400)
    }
    const hundredth = await signIn(client, 'eu.member@acme.test', 'eu', 'wrong-last')
    expect(hundredth.status).toBe(429)
    expect(await hundredth.text()).toMatch(/locked.*Try again in 60 minutes/)
    // Even the right password is refused while locked.
    const right = await signIn(client, 'eu.member@acme.test', 'eu')
    expect(right.status).toBe(429)
    const events = await auditActions(user.id)
    expect(events.filter((e) => e.action === 'auth.locked')).toHaveLength(1)

    const { unlockUser } = await import('#app/auth/lockout.server.ts')
    expect(await unlockUser(user.id)).toBe(true)
    expect((await signIn(client, 'eu.member@acme.test', 'eu')).status).toBe(302)
  })

  it('an email with no account answers the same lockout after as many failures (it does not reveal which emails exist)', async () => {
    const client = new TestClient(base)
    for (let i = 0; i < 99; i++) {
      const res = await signIn(client, 'nobody.here@acme.test', 'eu', `wrong-${i}`)
      expect(res.status).toBe(400)
    }
    const hundredth = await signIn(client, 'nobody.here@acme.test', 'eu', 'wrong-last')
    expect(hundredth.status).toBe(429)
    expect(await hundredth.text()).toMatch(/locked.*Try again in 60 minutes/)
    expect((await signIn(client, 'nobody.here@acme.test', 'eu', 'another')).status).toBe(429)
    // Only that email: another unknown one still gets the ordinary answer.
    expect((await signIn(client, 'nobody.else@acme.test', 'eu', 'x')).status).toBe(400)
  })

  it('a success resets the count of consecutive failures', async () => {
    const client = new TestClient(base)
    await signIn(client, 'owner@acme.test', 'us', 'wrong')
    await signIn(client, 'owner@acme.test', 'us', 'wrong')
    const [before] = await db.select().from(schema.users).where(eq(schema.users.email, 'owner@acme.test'))
    expect(before.failedAttempts).toBe(2)
    await signIn(client, 'owner@acme.test')
    const [after] = await db.select().from(schema.users).where(eq(schema.users.email, 'owner@acme.test'))
    expect(after.failedAttempts).toBe(0)
  })
})

describe('sessions', () => {
  it('sign-out ends the session on the server: the old cookie no longer works', async () => {
    const client = new TestClient(base)
    await signIn(client, 'member@acme.test')
    const token = client.cookies.get('gh_session')!
    const out = await client.post('/logout', {})
    expect(out.status).toBe(302)
    expect(out.headers.get('location')).toContain('/login')
    const replay = new TestClient(base)
    replay.cookies.set('gh_session', token)
    const res = await replay.get('/')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toMatch(/^\/login/)
  })

  it('expires after 30 idle minutes and after 12 hours in all', async () => {
    const idle = new TestClient(base)
    await signIn(idle, 'member@acme.test')
    const user = await findDemoUser('member@acme.test')
    expect((await idle.get('/')).status).toBe(200)
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id)).orderBy(sql`created_at desc`).limit(1)
    const idleMinutes = (session.idleExpiresAt.getTime() - session.lastSeenAt.getTime()) / 60_000
    expect(Math.round(idleMinutes)).toBe(30)
    expect(Math.round((session.absoluteExpiresAt.getTime() - session.createdAt.getTime()) / 3_600_000)).toBe(12)

    await db.update(schema.sessions).set({ idleExpiresAt: sql`now() - interval '1 second'` }).where(eq(schema.sessions.id, session.id))
    expect((await idle.get('/')).status).toBe(302)

    const absolute = new TestClient(base)
    await signIn(absolute, 'member@acme.test')
    await db.update(schema.sessions).set({ absoluteExpiresAt: sql`now() - interval '1 second'` }).where(sql`${schema.sessions.userId} = ${user.id} and ${schema.sessions.idleExpiresAt} > now()`)
    expect((await absolute.get('/')).status).toBe(302)
  })

  it('refuses a cross-site POST (CSRF) and a POST without an Origin', async () => {
    const client = new TestClient(base)
    await signIn(client, 'member@acme.test')
    const evil = await client.request('/logout', { method: 'POST', headers: { origin: 'https://evil.example' } })
    expect(evil.status).toBe(403)
    const crossSite = await client.request('/logout', { method: 'POST', headers: { origin: base, 'sec-fetch-site': 'cross-site' } })
    expect(crossSite.status).toBe(403)
    const noOrigin = await fetch(`${base}/login`, { method: 'POST', body: new URLSearchParams({ region: 'us', email: 'member@acme.test', password: DEMO_PASSWORD }), redirect: 'manual' })
    expect(noOrigin.status).toBe(403)
    // The session survived the forged requests.
    expect((await client.get('/')).status).toBe(200)
  })
})

describe('tenant scoping', () => {
  it('an admin of acme sees acme and gets 404 for globex; a plain member gets 404 for acme', async () => {
    const admin = new TestClient(base)
    await signIn(admin, 'admin@acme.test')
    expect((await admin.get('/orgs/acme')).status).toBe(200)
    expect((await admin.get('/orgs/globex')).status).toBe(404)
    expect((await admin.get('/orgs/does-not-exist')).status).toBe(404)
    const member = new TestClient(base)
    await signIn(member, 'member@acme.test')
    expect((await member.get('/orgs/acme')).status).toBe(404)
  })

  it('sends anonymous visitors to sign in, keeping where they were going', async () => {
    const res = await new TestClient(base).get('/orgs/acme')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login?redirectTo=%2Forgs%2Facme')
  })
})
