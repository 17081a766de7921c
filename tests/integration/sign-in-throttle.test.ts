/**
 * The Redis burst limits on sign-in, per account and per address. The harness raises every limit
 * to 100000; this file runs the server with small ones (the environment is read when the server
 * build loads, in startTestApp). Before each test the limiter's keys in Redis are removed, so each
 * test starts with full budgets (changing data, not the clock).
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { workerConnection } from '#app/infra/redis.server.ts'
import { seedDemo } from '#db/seed.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { DEMO_PASSWORD, signIn, TestClient } from '#tests/setup/http.ts'

const ACCOUNT_LIMIT = 3
const IP_LIMIT = 8
process.env.RATE_LIMIT_ACCOUNT_PER_MINUTE = String(ACCOUNT_LIMIT)
process.env.RATE_LIMIT_IP_PER_MINUTE = String(IP_LIMIT)

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

async function clearLimiterKeys() {
  const redis = workerConnection()
  try {
    const keys = await redis.keys(`${config.redisPrefix}:rl:*`)
    if (keys.length) await redis.del(...keys)
  } finally {
    redis.disconnect()
  }
}
beforeEach(clearLimiterKeys)

/** Posts the sign-in form from a fresh browser; returns status, the form's message and whether a cookie was set. */
async function attempt(email: string, password = 'not the password', region = 'us') {
  const client = new TestClient(base)
  const res = await signIn(client, email, region, password)
  const html = await res.text()
  const message = /Too many sign-in attempts\. Try again in [^.<]+\./.exec(html)?.[0] ?? (html.includes('Email or password is incorrect') ? 'Email or password is incorrect' : null)
  return { status: res.status, message, cookies: [...client.cookies.keys()].filter((k) => k !== 'gh_region') } // the remembered region (decision 073) is no session
}

const THROTTLED = /^Too many sign-in attempts\. Try again in \d+ seconds?\.$/

describe('per-account throttle (Redis)', () => {
  it(`after ${ACCOUNT_LIMIT} attempts on a known account: 429 "Try again in …", even with the right password; other accounts go on`, async () => {
    for (let i = 0; i < ACCOUNT_LIMIT; i++) expect(await attempt('member@acme.test')).toEqual({ status: 400, message: 'Email or password is incorrect', cookies: [] })
    const refused = await attempt('member@acme.test')
    expect(refused.status).toBe(429)
    expect(refused.message).toMatch(THROTTLED)
    expect(refused.cookies).toEqual([])
    // The right password is not even checked now: no session, no pending sign-in.
    const right = await attempt('member@acme.test', DEMO_PASSWORD)
    expect(right.status).toBe(429)
    expect(right.message).toMatch(THROTTLED)
    expect(right.cookies).toEqual([])
    // The key is the normalised email: case and spaces do not give a fresh budget.
    expect((await attempt('  MEMBER@Acme.Test ')).status).toBe(429)
    // Another account from the same address still gets its answer.
    expect((await attempt('admin@acme.test', DEMO_PASSWORD)).status).toBe(302)
  })

  it('an unknown email is throttled the same way, with the same answer (no account-existence leak)', async () => {
    const answers = { known: [] as Awaited<ReturnType<typeof attempt>>[], unknown: [] as Awaited<ReturnType<typeof attempt>>[] }
    for (let i = 0; i <= ACCOUNT_LIMIT; i++) {
      answers.known.push(await attempt('member@acme.test'))
      answers.unknown.push(await attempt('nobody-here@acme.test'))
    }
    const shape = (a: Awaited<ReturnType<typeof attempt>>) => ({ ...a, message: a.message?.replace(/\d+ seconds?/, 'N seconds') })
    expect(answers.unknown.map(shape)).toEqual(answers.known.map(shape))
    expect(answers.unknown.at(-1)).toEqual({ status: 429, message: expect.stringMatching(THROTTLED), cookies: [] })
    expect(answers.unknown.slice(0, ACCOUNT_LIMIT).every((a) => a.status === 400)).toBe(true)

    // The JSON API shares the budget and answers alike for both.
    const api = await Promise.all(
      ['member@acme.test', 'nobody-here@acme.test'].map((email) => apiCall(base, '/api/auth/signin', { json: { email, password: 'not the password', region: 'us' } })),
    )
    for (const res of api) {
      expect(res.status).toBe(429)
      expect(res.body.error.code).toBe('rate_limited')
      expect(res.body.error.message).toMatch(THROTTLED)
    }
  })
})

describe('per-address throttle (Redis)', () => {
  it(`after ${IP_LIMIT} attempts from one address, every email (known or not) gets 429 "Try again in …"`, async () => {
    // A different email each time, so no account budget runs out: only the address's does.
    for (let i = 0; i < IP_LIMIT; i++) expect((await attempt(`stranger-${i}@acme.test`)).status).toBe(400)
    const unknown = await attempt('stranger-last@acme.test')
    const known = await attempt('member@acme.test', DEMO_PASSWORD)
    for (const refused of [unknown, known]) {
      expect(refused.status).toBe(429)
      expect(refused.message).toMatch(THROTTLED)
      expect(refused.cookies).toEqual([])
    }
  })
})
