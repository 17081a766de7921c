/**
 * Several web processes and several workers over one PostgreSQL and one Redis (decision 067), as
 * real processes (tests/setup/processes.ts): two web processes behind a small load balancer on
 * the app's origin (TRUST_PROXY=loopback), and workers beside them. Checks that sessions and rate limits are
 * shared, that a killed worker's job is finished by another, that the log lines carry the request
 * id and the user while secrets stay out, that /metrics answers only the configured range, and
 * that SIGTERM stops each kind of process gracefully (a second signal at once).
 */
import { request as httpRequest, type IncomingMessage } from 'node:http'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createUser, PASSWORD } from '#tests/factories/users.ts'
import { signInAs } from '#tests/factories/security.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import { freePort } from '#tests/setup/free-port.ts'
import { killPrograms, startBalancer, startProgram, waitUntilServing, type LogLine, type Program } from '#tests/setup/processes.ts'
import { testSmtp } from '#tests/setup/app.ts'
import { issueApiKey } from '#app/orgs/api-keys.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { NO_REQUEST } from '#app/audit/record.server.ts'

const ACCOUNT_LIMIT = 4
const origin = process.env.APP_ORIGIN!
const smtpUrl = process.env.SMTP_URL!
let urlA: string
let urlB: string
let balancer: { close: () => Promise<void> }
let webA: Program
let webB: Program
let worker1: Program
let workerMetricsPort: number
const workerEnv = { JOB_LOCK_SECONDS: '2' }

beforeAll(async () => {
  await seedDemo()
  const portA = await freePort()
  const portB = await freePort()
  workerMetricsPort = await freePort()
  // Each web process directly (probes, scrapes), and both behind the balancer on the origin's port.
  urlA = `http://127.0.0.1:${portA}`
  urlB = `http://127.0.0.1:${portB}`
  const shared = { RATE_LIMIT_ACCOUNT_PER_MINUTE: String(ACCOUNT_LIMIT), TRUST_PROXY: 'loopback' }
  // B lets no loopback address read /metrics.
  webA = startProgram('server.ts', { ...shared, PORT: String(portA) })
  webB = startProgram('server.ts', { ...shared, PORT: String(portB), METRICS_ALLOW: '10.0.0.0/8' })
  worker1 = startProgram('workers/index.ts', { ...workerEnv, WORKER_METRICS_PORT: String(workerMetricsPort) })
  await Promise.all([waitUntilServing(urlA, webA), waitUntilServing(urlB, webB), worker1.waitForLog((l) => l.msg === 'workers started')])
  balancer = await startBalancer(Number(process.env.PORT), { a: portA, b: portB })
}, 90_000)
afterAll(async () => {
  killPrograms()
  await balancer?.close()
})

/** A browser at the app's origin, whose requests the balancer sends to web process `a` or `b`. */
const browser = (backend: 'a' | 'b') => new TestClient(origin, { 'x-backend': backend })

/** The log line of one request (by its X-Request-ID), once written. */
function requestLine(program: Program, requestId: string) {
  return program.waitForLog((l) => (l.req as { id?: string } | undefined)?.id === requestId, 5000)
}

describe('two web processes share one database and one Redis', () => {
  it('a session made on one process works on the other, and signing out on one ends it on both', async () => {
    const user = await createUser()
    const a = browser('a')
    const signedIn = await signIn(a, user.email)
    expect(signedIn.status).toBe(302)
    expect(a.cookies.get('gh_session')).toBeTruthy()
    const b = browser('b')
    b.cookies = a.cookies
    expect((await b.get('/settings/security')).status).toBe(200)
    expect((await b.post('/logout', {})).status).toBe(302)
    const after = await a.get('/settings/security')
    expect(after.status).toBe(302)
    expect(after.headers.get('location')).toMatch(/^\/login/)
  })

  it(`the per-account sign-in limit (${ACCOUNT_LIMIT} a minute) counts attempts on both processes together`, async () => {
    const user = await createUser()
    const statuses: number[] = []
    for (const backend of ['a', 'b', 'a', 'b', 'a', 'b'] as const) statuses.push((await signIn(browser(backend), user.email, 'us', 'not the password')).status)
    expect(statuses).toEqual([400, 400, 400, 400, 429, 429])
  })
})

describe('logs', () => {
  it('one JSON line per request with its id, the user and the organization; no password, cookie or token', async () => {
    const user = await createUser()
    const a = browser('a')
    const res = await signIn(a, user.email, 'us', PASSWORD)
    const token = a.cookies.get('gh_session')!
    const requestId = res.headers.get('x-request-id')!
    const line = await requestLine(webA, requestId)
    expect(line).toMatchObject({ level: 'info', req: { method: 'POST', url: '/login' }, res: { statusCode: 302 } })
    expect((line.res as { headers: Record<string, unknown> }).headers['set-cookie']).toBe('[Redacted]')

    // Signed in, on the other process: the user is on the line, the cookie is not.
    const page = await browser('b').request('/settings/security', { headers: { cookie: `gh_session=${token}`, 'x-request-id': 'probe-1' } })
    expect(page.status).toBe(200)
    const second = await requestLine(webB, 'probe-1')
    expect(second.userId).toBe(user.id)
    expect((second.req as { headers: Record<string, unknown> }).headers.cookie).toBe('[Redacted]')

    // An admin on an organization page: the organization too.
    const admin = await findDemoUser('admin@acme.test')
    const [acme] = await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme'))
    const c = browser('a')
    await signInAs(c, admin.id)
    const orgPage = await c.request('/orgs/acme', { headers: { 'x-request-id': 'probe-2' } })
    expect(orgPage.status).toBe(200)
    expect(await requestLine(webA, 'probe-2')).toMatchObject({ userId: admin.id, organizationId: acme.id })

    // An API key: its service account and organization, and never the key.
    const ciBot = await findDemoUser('ci-bot@acme.test')
    const { key } = await issueApiKey({
      org: acme, scope: orgScope(acme), issuer: { user: admin, session: { secondFactorAt: null } }, serviceAccountId: ciBot.id, name: 'log probe', scopes: ['policy:read'], meta: NO_REQUEST,
    })
    const keyed = await browser('a').request(`/api/organizations/${acme.id}/security`, { headers: { authorization: `Bearer ${key}`, 'x-request-id': 'probe-4' } })
    expect(keyed.status).toBe(200)
    expect(await requestLine(webA, 'probe-4')).toMatchObject({ userId: ciBot.id, organizationId: acme.id })

    // A reset link's token is masked in the URL.
    await browser('a').request('/reset-password/SECRETRESETTOKEN123', { headers: { 'x-request-id': 'probe-3' } })
    expect((await requestLine(webA, 'probe-3')).req).toMatchObject({ url: '/reset-password/[Redacted]' })

    const everything = [...webA.output, ...webB.output].join('\n')
    for (const secret of [PASSWORD, token, c.cookies.get('gh_session')!, 'SECRETRESETTOKEN123', key]) expect(everything).not.toContain(secret)
  })
})

describe('health, readiness and metrics on every process', () => {
  it('/healthz and /readyz on both; /metrics from loopback on A, 404 on B whose METRICS_ALLOW leaves loopback out', async () => {
    for (const base of [urlA, urlB]) {
      expect((await fetch(`${base}/healthz`)).status).toBe(200)
      expect(await (await fetch(`${base}/readyz`)).json()).toEqual({ ready: true, postgres: 'ok', redis: 'ok' })
    }
    const allowed = await fetch(`${urlA}/metrics`)
    expect(allowed.status).toBe(200)
    expect(await allowed.text()).toContain('# TYPE gatehouse_sign_in_total counter')
    const refused = await fetch(`${urlB}/metrics`)
    expect(refused.status).toBe(404)
    expect(await refused.text()).not.toContain('gatehouse_')
    // A forwarded address changes nothing: the TCP peer decides.
    expect((await fetch(`${urlB}/metrics`, { headers: { 'x-forwarded-for': '10.1.2.3' } })).status).toBe(404)
  })

  it('a worker answers /healthz, /readyz and /metrics on WORKER_METRICS_PORT', async () => {
    const base = `http://127.0.0.1:${workerMetricsPort}`
    expect((await fetch(`${base}/healthz`)).status).toBe(200)
    expect((await fetch(`${base}/readyz`)).status).toBe(200)
    const metrics = await (await fetch(`${base}/metrics`)).text()
    expect(metrics).toContain('# TYPE gatehouse_mail_sent_total counter')
    expect(metrics).toMatch(/^gatehouse_queue_jobs\{queue="mail",state="waiting"\} \d+$/m)
  })
})

/** The outbox status of the one email to `to`, once it is no longer queued (the worker records it after the SMTP answer). */
async function emailStatus(to: string) {
  for (let i = 0; ; i++) {
    const [email] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.toAddress, to))
    if ((email && email.status !== 'queued') || i === 50) return email?.status
    await new Promise((r) => setTimeout(r, 100))
  }
}

describe('workers', () => {
  it('a job of a worker killed mid-send (SIGKILL) is finished by another worker', async () => {
    const smtp = testSmtp()
    const user = await createUser()
    const hold = smtp.hold(user.email)
    const since = Date.now()
    expect((await browser('a').post('/forgot-password', { region: 'us', email: user.email })).status).toBeLessThan(400)
    await hold.held // worker 1 sent the message and waits for the server's answer
    const worker2 = startProgram('workers/index.ts', { ...workerEnv, SMTP_URL: smtpUrl })
    await worker2.waitForLog((l) => l.msg === 'workers started')
    worker1.child.kill('SIGKILL')
    expect((await worker1.exited).signal).toBe('SIGKILL')
    await hold.dropped // its message was never accepted
    hold.release()
    const mail = await smtp.waitFor(user.email, { since, timeoutMs: 30_000 })
    expect(mail.subject).toMatch(/reset/i)
    expect(await emailStatus(user.email)).toBe('sent')
    expect(smtp.received.filter((m) => m.to === user.email)).toHaveLength(1)

    // SIGTERM: the running job finishes, then the worker exits 0, within 30 s.
    const other = await createUser()
    const hold2 = smtp.hold(other.email)
    await browser('b').post('/forgot-password', { region: 'us', email: other.email })
    await hold2.held
    const signalledAt = Date.now()
    worker2.child.kill('SIGTERM')
    await worker2.waitForLog((l) => l.msg === 'shutting down')
    await new Promise((r) => setTimeout(r, 500))
    expect(worker2.child.exitCode).toBeNull() // still finishing its job
    hold2.release()
    const exit = await worker2.exited
    expect(exit.code).toBe(0)
    expect(exit.at - signalledAt).toBeLessThan(30_000)
    expect(await emailStatus(other.email)).toBe('sent')
  }, 90_000)
})

/** Starts a sign-in POST whose body is sent only when `finish` is called: a request in flight. */
function requestInFlight(port: number) {
  const body = new URLSearchParams({ region: 'us', email: 'nobody@example.test', password: 'not the password' }).toString()
  let settle: (r: { status?: number; connection?: string; error?: string }) => void
  const answered = new Promise<{ status?: number; connection?: string; error?: string }>((resolve) => (settle = resolve))
  const req = httpRequest({ host: '127.0.0.1', port, method: 'POST', path: '/login', headers: { host: new URL(origin).host, origin, 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body) } })
  req.on('response', (res: IncomingMessage) => {
    res.resume()
    res.on('end', () => settle({ status: res.statusCode, connection: res.headers.connection }))
  })
  req.on('error', (e) => settle({ error: e.message }))
  req.write(body.slice(0, 10))
  return { answered, finish: () => req.end(body.slice(10)) }
}

const shutdownLine = (l: LogLine) => l.msg === 'shutting down'

describe('web process shutdown', () => {
  it('SIGTERM: stops accepting, finishes the request in flight, exits 0 within 10 s', async () => {
    const port = Number(new URL(urlB).port)
    const inFlight = requestInFlight(port)
    await new Promise((r) => setTimeout(r, 500)) // the request has reached the app
    const signalledAt = Date.now()
    webB.child.kill('SIGTERM')
    await webB.waitForLog(shutdownLine)
    await expect(fetch(`${urlB}/healthz`)).rejects.toThrow()
    inFlight.finish()
    const answer = await inFlight.answered
    expect(answer).toEqual({ status: 400, connection: 'close' })
    const exit = await webB.exited
    expect(exit.code).toBe(0)
    expect(exit.at - signalledAt).toBeLessThan(10_000)
    // The other process serves on.
    expect((await fetch(`${urlA}/healthz`)).status).toBe(200)
  }, 30_000)

  it('a second signal exits at once, with status 1', async () => {
    const port = await freePort()
    const web = startProgram('server.ts', { PORT: String(port) })
    await waitUntilServing(`http://127.0.0.1:${port}`, web)
    const inFlight = requestInFlight(port)
    await new Promise((r) => setTimeout(r, 500))
    web.child.kill('SIGTERM')
    await web.waitForLog(shutdownLine)
    const secondAt = Date.now()
    web.child.kill('SIGTERM')
    const exit = await web.exited
    expect(exit.code).toBe(1)
    expect(exit.at - secondAt).toBeLessThan(2000)
    expect((await inFlight.answered).error).toBeTruthy()
    expect(web.logs().some((l) => l.msg === 'second signal: exiting now')).toBe(true)
  }, 60_000)
})
