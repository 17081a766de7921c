/**
 * Redis down for the web app: this file cuts the app's own Redis clients (the queue producer
 * and the rate limiter share this process with the test) before anything uses them. Sign-in with
 * an app or a recovery code still works; "Email me a code" says the code cannot be sent now.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { redisClient } from '#app/infra/redis.server.ts'
import { seedDemo } from '#db/seed.ts'
import { createUser } from '#tests/factories/users.ts'
import { enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
let user: Awaited<ReturnType<typeof createUser>>
let secret: string
let recoveryCodes: string[]
beforeAll(async () => {
  await seedDemo()
  user = await createUser()
  ;({ secret, recoveryCodes } = await enableTotp(user.id))
  base = (await startTestApp({ workers: false })).url
  // disconnect() closes for good (no reconnect): every command now fails at once, as in an outage.
  for (const use of ['queue', 'limiter']) redisClient(use).disconnect()
})

async function pendingClient() {
  const client = new TestClient(base)
  const res = await signIn(client, user.email)
  expect(res.headers.get('location')).toBe('/login/verify')
  return client
}

describe('with Redis down', () => {
  it('"Email me a code" says the code cannot be sent right now, with a 503', async () => {
    const client = await pendingClient()
    const res = await client.post('/login/verify', { intent: 'email_send' })
    expect(res.status).toBe(503)
    expect(await res.text()).toContain('We cannot send an email code right now')
  })

  it('the authenticator app still signs in', async () => {
    await forgetTotpStep(user.id)
    const client = await pendingClient()
    const res = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(res.status).toBe(302)
    expect(client.cookies.has('gh_session')).toBe(true)
  })

  it('a recovery code still signs in (its notice is not queued, and that does not block it)', async () => {
    const client = await pendingClient()
    const res = await client.post('/login/verify', { intent: 'recovery_code', code: recoveryCodes[0] })
    expect(res.status).toBe(302)
    expect(client.cookies.has('gh_session')).toBe(true)
  })
})
