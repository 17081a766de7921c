/**
 * The operator's endpoints on the web process (decision 067): /healthz and /readyz before Remix,
 * /metrics from loopback (the default METRICS_ALLOW) with the sign-in, argon2 and queue metrics,
 * the request id, and the queue dashboard at /support/queues for support with a fresh second
 * factor only, under its own script policy. The refused-address case and the log lines need
 * processes of their own: tests/integration/several-processes.test.ts.
 */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { giveFactors, signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

/** The value of one sample line of the Prometheus text, 0 when absent. */
function sample(text: string, line: RegExp): number {
  const found = text.split('\n').find((l) => line.test(l))
  return found ? Number(found.split(' ').at(-1)) : 0
}

describe('health and readiness', () => {
  it('/healthz answers 200 without touching anything; /readyz says PostgreSQL and Redis answer', async () => {
    const health = await fetch(`${base}/healthz`)
    expect(health.status).toBe(200)
    expect(await health.json()).toEqual({ status: 'ok' })
    expect(health.headers.get('cache-control')).toBe('no-store')
    // Before Remix, after the security headers: probes carry them like every answer (decision 059).
    expect(health.headers.get('content-security-policy')).toContain("default-src 'self'")
    const ready = await fetch(`${base}/readyz`)
    expect(ready.status).toBe(200)
    expect(await ready.json()).toEqual({ ready: true, postgres: 'ok', redis: 'ok' })
    // Only GET and HEAD: anything else goes on to the app as before.
    expect((await fetch(`${base}/healthz`, { method: 'HEAD' })).status).toBe(200)
  })

  it('every answer carries a request id: the caller’s when plausible, a fresh one otherwise', async () => {
    const given = await fetch(`${base}/healthz`, { headers: { 'x-request-id': 'lb-7f3a:42' } })
    expect(given.headers.get('x-request-id')).toBe('lb-7f3a:42')
    const junk = await fetch(`${base}/login`, { headers: { 'x-request-id': 'x'.repeat(300) } })
    expect(junk.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    const none = await fetch(`${base}/login`)
    expect(none.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
  })
})

describe('/metrics from an allowed address (loopback by default)', () => {
  it('counts sign-in outcomes, times sign-in steps and argon2, and reports every queue', async () => {
    const before = await (await fetch(`${base}/metrics`)).text()
    await signIn(new TestClient(base), 'member@acme.test', 'us', 'not the password')
    await signIn(new TestClient(base), 'member@acme.test', 'us', 'not the password either')
    const ok = await signIn(new TestClient(base), 'ci-bot@acme.test')
    expect(ok.status).toBe(302)
    const res = await fetch(`${base}/metrics`)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    const after = await res.text()
    const delta = (line: RegExp) => sample(after, line) - sample(before, line)
    expect(delta(/^gatehouse_sign_in_total\{outcome="failed"\}/)).toBe(2)
    expect(delta(/^gatehouse_sign_in_total\{outcome="success"\}/)).toBe(1)
    expect(delta(/^gatehouse_sign_in_duration_seconds_count\{step="password",outcome="failed"\}/)).toBe(2)
    expect(delta(/^gatehouse_sign_in_duration_seconds_count\{step="password",outcome="success"\}/)).toBe(1)
    expect(delta(/^gatehouse_argon2_duration_seconds_count\{operation="verify"\}/)).toBeGreaterThanOrEqual(3)
    for (const queue of ['mail', 'sweeps', 'policy']) {
      for (const state of ['waiting', 'active', 'delayed', 'failed']) expect(after).toMatch(new RegExp(`^gatehouse_queue_jobs\\{queue="${queue}",state="${state}"\\} \\d+$`, 'm'))
    }
    for (const name of ['gatehouse_mail_sent_total', 'gatehouse_mail_failed_total', 'gatehouse_job_failures_total', 'gatehouse_sweep_duration_seconds', 'process_cpu_seconds_total']) {
      expect(after).toContain(`# TYPE ${name}`)
    }
  })
})

describe('the queue dashboard at /support/queues', () => {
  it('support with a second factor in the last five minutes sees it, under a script policy of its own', async () => {
    const support = await findDemoUser('support@gatehouse.test')
    await giveFactors(support.id)
    const client = new TestClient(base)
    await signInAs(client, support.id, { level: 'mfa', secondFactorMethod: 'totp' })
    const page = await client.get('/support/queues')
    expect(page.status).toBe(200)
    const html = await page.text()
    expect(html).toContain('<title>Gatehouse queues</title>')
    const csp = page.headers.get('content-security-policy')!
    expect(csp).toContain("script-src 'self'")
    expect(csp).toContain("base-uri 'self'")
    expect(csp).not.toContain('strict-dynamic')
    expect(csp).toContain("object-src 'none'")
    expect(csp).toContain("frame-ancestors 'none'")
    // Its API answers the queues' state.
    const api = await client.get('/support/queues/api/queues?activeQueue=mail&page=1&jobsPerPage=10')
    expect(api.status).toBe(200)
    const body = (await api.json()) as { queues: { name: string }[] }
    expect(body.queues.map((q) => q.name).sort()).toEqual(['mail', 'policy', 'sweeps'])
    // A change through the dashboard (here: clean the mail queue's failed jobs) is audited with who did it.
    const cleaned = await client.request('/support/queues/api/queues/mail/clean/failed', { method: 'PUT' })
    expect(cleaned.status).toBe(200)
    await expect
      .poll(async () => db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'support.queue_action')))
      .toEqual([expect.objectContaining({ actorId: support.id, details: { method: 'PUT', path: '/support/queues/api/queues/mail/clean/failed', status: 200 } })])
    // Everywhere else the nonce policy is unchanged.
    expect((await client.get('/support')).headers.get('content-security-policy')).toContain("'strict-dynamic'")
  })

  it('a second factor older than five minutes is sent to confirm it first; a change without Origin is refused', async () => {
    const support = await findDemoUser('support@gatehouse.test')
    const client = new TestClient(base)
    const { session } = await signInAs(client, support.id, { level: 'mfa', secondFactorMethod: 'totp' })
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.id, session.id))
    for (const path of ['/support/queues', '/support/queues/api/queues', '/support/queues/static/js/nothing.js']) {
      const res = await client.get(path)
      expect(res.status, path).toBe(302)
      expect(res.headers.get('location')).toBe('/settings/security/confirm?redirectTo=%2Fsupport%2Fqueues')
    }
    const forged = await fetch(`${base}/support/queues/api/queues/mail/clean/failed`, { method: 'PUT', headers: { cookie: `gh_session=${client.cookies.get('gh_session')}` } })
    expect(forged.status).toBe(403)
  })

  it('members, admins and strangers never see it', async () => {
    expect((await new TestClient(base).get('/support/queues')).headers.get('location')).toMatch(/^\/login\?redirectTo=%2Fsupport%2Fqueues/)
    for (const email of ['member@acme.test', 'owner@acme.test']) {
      const client = new TestClient(base)
      await signInAs(client, (await findDemoUser(email)).id, { level: 'mfa', secondFactorMethod: 'totp' })
      for (const path of ['/support/queues', '/support/queues/api/queues']) expect((await client.get(path)).status, `${email} ${path}`).toBe(404)
    }
  })
})
