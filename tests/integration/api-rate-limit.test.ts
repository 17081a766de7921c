/**
 * API rate limits, per token and per client address. This file runs the server with small
 * limits (the environment is read when the server build loads, in startTestApp).
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { seedDemo } from '#db/seed.ts'
import { apiCall, apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

const TOKEN_LIMIT = 5
const IP_LIMIT = 40
process.env.API_RATE_LIMIT_TOKEN_PER_MINUTE = String(TOKEN_LIMIT)
process.env.API_RATE_LIMIT_IP_PER_MINUTE = String(IP_LIMIT)

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

describe('API rate limits', () => {
  it('limits each token: 429 with Retry-After in the error shape, and other tokens are unaffected', async () => {
    const a = await apiSignIn(base, 'member@acme.test')
    const b = await apiSignIn(base, 'admin@acme.test')
    for (let i = 0; i < TOKEN_LIMIT; i++) expect((await apiCall(base, '/api/me', { token: a })).status).toBe(200)
    const limited = await apiCall(base, '/api/me', { token: a })
    expect(limited.status).toBe(429)
    expect(limited.body).toEqual({ error: { code: 'rate_limited', message: expect.stringMatching(/Try again in \d+ seconds?/) } })
    const retryAfter = Number(limited.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(60)
    // Signing out is limited with the rest: the token's budget is spent.
    expect((await apiCall(base, '/api/auth/signout', { method: 'POST', token: a })).status).toBe(429)
    expect((await apiCall(base, '/api/me', { token: b })).status).toBe(200)
  })

  it('limits each address, before authentication, so guessing tokens is limited too', async () => {
    let status = 0
    let tries = 0
    while (tries < IP_LIMIT + 5) {
      tries++
      const res = await apiCall(base, '/api/me', { token: `guess-${tries}` })
      status = res.status
      if (status === 429) {
        expect(res.body.error.code).toBe('rate_limited')
        expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
        break
      }
      expect(status).toBe(401)
    }
    expect(status).toBe(429)
    expect(tries).toBeLessThanOrEqual(IP_LIMIT + 1)
    // Even sign-in from this address waits now.
    expect((await apiCall(base, '/api/auth/signin', { json: { email: 'member@acme.test', password: 'correct horse battery staple', region: 'us' } })).status).toBe(429)
  })
})
