/**
 * The client address behind one trusted proxy (decision 060). The real server runs as its own
 * process with TRUST_PROXY=1, as production does behind one load balancer; this test plays the
 * proxy (it connects from 127.0.0.1 and appends the address it "saw" to X-Forwarded-For), and
 * the client forges whatever it likes to the left of that. The forged part must change neither
 * the sign-in limiter's key (the budget runs out although every attempt claims a new address)
 * nor the address written in the audit log.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { and, eq, inArray } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { workerConnection } from '#app/infra/redis.server.ts'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { TestClient } from '#tests/setup/http.ts'
import { freePort } from '#tests/setup/free-port.ts'

const ROOT = process.cwd()
const IP_LIMIT = 4
/** The address the (trusted) proxy saw: the real client. */
const CLIENT = '203.0.113.7'
const PREFIX = `${process.env.REDIS_PREFIX}:proxy`


let child: ChildProcess
let base: string
beforeAll(async () => {
  await seedDemo()
  const port = await freePort()
  base = `http://localhost:${port}`
  child = spawn(join(ROOT, 'node_modules/.bin/tsx'), [join(ROOT, 'server.ts')], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? ROOT,
      NODE_ENV: 'test',
      PORT: String(port),
      APP_ORIGIN: base,
      DATABASE_URL: process.env.DATABASE_URL!,
      REDIS_URL: process.env.REDIS_URL!,
      REDIS_PREFIX: PREFIX,
      SESSION_SECRET: process.env.SESSION_SECRET!,
      GATEHOUSE_ENCRYPTION_KEYS: process.env.GATEHOUSE_ENCRYPTION_KEYS!,
      SMTP_URL: process.env.SMTP_URL!,
      GATEHOUSE_FAST_HASH: '1',
      RATE_LIMIT_IP_PER_MINUTE: String(IP_LIMIT),
      RATE_LIMIT_ACCOUNT_PER_MINUTE: '100000',
      API_RATE_LIMIT_IP_PER_MINUTE: '100000',
      TRUST_PROXY: '1',
    } as unknown as NodeJS.ProcessEnv,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr!.on('data', (d) => (stderr += d))
  await new Promise<void>((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d) => {
      out += d
      if (out.includes('Gatehouse is listening on')) resolve()
    })
    child.on('close', (code) => reject(new Error(`the server ended (${code}): ${stderr}`)))
  })
}, 60_000)

afterAll(async () => {
  if (!child || child.exitCode !== null) return
  const closed = new Promise((resolve) => child.on('close', resolve))
  child.kill('SIGTERM')
  await closed
})

/** A sign-in attempt through the proxy: the client's own X-Forwarded-For, then what the proxy saw. */
async function attempt(email: string, forged: string) {
  const client = new TestClient(base, { 'x-forwarded-for': `${forged}, ${CLIENT}` })
  const res = await client.post('/login', { region: 'us', email, password: 'not the password' })
  await res.text()
  return res.status
}

it('a forged leftmost X-Forwarded-For changes neither the rate-limit key nor the audited address', async () => {
  const forged = Array.from({ length: IP_LIMIT + 1 }, (_, i) => `198.51.100.${i + 1}`)
  const emails = forged.map((_, i) => `nobody${i}@acme.test`)
  emails[0] = 'member@acme.test'
  const statuses: number[] = []
  for (let i = 0; i < forged.length; i++) statuses.push(await attempt(emails[i], forged[i]))
  // Each attempt claimed a new address and a new account, yet they share one address budget.
  expect(statuses).toEqual([...Array(IP_LIMIT).fill(400), 429])

  const redis = workerConnection()
  try {
    const keys = await redis.keys(`${PREFIX}:rl:ip:*`)
    expect(keys).toEqual([`${PREFIX}:rl:ip:${CLIENT}`])
  } finally {
    redis.disconnect()
  }

  const rows = await db
    .select({ ip: schema.auditEvents.ip, label: schema.auditEvents.actorLabel })
    .from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.action, 'auth.login_failed'), inArray(schema.auditEvents.actorLabel, emails)))
  expect(rows.length).toBe(IP_LIMIT)
  expect(new Set(rows.map((r) => r.ip))).toEqual(new Set([CLIENT]))
})

it('the JSON API takes its address the same way (its own limiter and audit entry)', async () => {
  // Another client behind the same proxy: the first test spent CLIENT's sign-in budget.
  const other = '203.0.113.8'
  const res = await fetch(`${base}/api/auth/signin`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-forwarded-for': `10.9.9.9, ${other}` },
    body: JSON.stringify({ region: 'us', email: 'api-nobody@acme.test', password: 'not the password' }),
  })
  expect(res.status).toBe(401)
  const rows = await db.select({ ip: schema.auditEvents.ip }).from(schema.auditEvents).where(eq(schema.auditEvents.actorLabel, 'api-nobody@acme.test'))
  expect(rows.map((r) => r.ip)).toEqual([other])
  const redis = workerConnection()
  try {
    expect(await redis.keys(`${PREFIX}:rl:api:*10.9.9.9*`)).toEqual([])
    expect((await redis.keys(`${PREFIX}:rl:api:*`)).some((k) => k.endsWith(other))).toBe(true)
  } finally {
    redis.disconnect()
  }
})
