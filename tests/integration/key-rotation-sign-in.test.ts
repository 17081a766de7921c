/**
 * Key rotation round trip: a member enrols an app under key t1, the operator runs
 * `gatehouse rotate-encryption-key` (a real child process) with the ring "t2,t1", then restarts the
 * server with ONLY the new key t2. The member still signs in over real HTTP with a current code
 * through /login/verify, so the secret really is readable under the new key (and only through it).
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

// The CLI is a fresh Node process (tsx compiles on start).
vi.setConfig({ testTimeout: 90_000 })

function gatehouse(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/bin.js', ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 99) : 0, stdout, stderr })
    })
  })
}

let base: string
let user: Awaited<ReturnType<typeof createUser>>
let secret: string

beforeAll(async () => {
  // Enrolled through the real domain code while this file's ring is "t1" only.
  user = await createUser({ email: 'rotating.member@example.test' })
  ;({ secret } = await enableTotp(user.id))
  const [before] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
  expect(before.keyId).toBe('t1')

  const newRing = `t2:${randomBytes(32).toString('base64')}`
  const rotated = await gatehouse(['rotate-encryption-key', '--json'], { GATEHOUSE_ENCRYPTION_KEYS: `${newRing},${process.env.GATEHOUSE_ENCRYPTION_KEYS}` })
  expect(rotated.code, rotated.stderr).toBe(0)
  expect(JSON.parse(rotated.stdout)).toMatchObject({ keyId: 't2', rotated: 1, failed: [] })
  const [after] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
  expect(after.keyId).toBe('t2')

  // The server starts now (the built app reads its configuration when it is first loaded), with the new key alone.
  process.env.GATEHOUSE_ENCRYPTION_KEYS = newRing
  base = (await startTestApp({ workers: false })).url
})

describe('after rotate-encryption-key', () => {
  it('the member signs in over HTTP with a current code from their app, served by a server holding only the new key', async () => {
    const client = new TestClient(base)
    const pw = await signIn(client, user.email)
    expect(pw.status).toBe(302)
    expect(pw.headers.get('location')).toBe('/login/verify')
    expect((await client.text('/login/verify')).status).toBe(200)

    const wrong = await client.post('/login/verify', { intent: 'totp', code: (Number(await totpCode(secret)) ^ 1).toString().padStart(6, '0') })
    expect(wrong.status).toBe(400)
    expect(client.cookies.has('gh_session')).toBe(false)

    const code = await totpCode(secret)
    const ok = await client.post('/login/verify', { intent: 'totp', code })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/')
    expect(client.cookies.has('gh_session')).toBe(true)
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))
    expect(session).toMatchObject({ level: 'mfa', secondFactorMethod: 'totp' })
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.login_success_2fa')

    // The replay guard still works on the rotated factor: the same code is refused in a new sign-in...
    const again = new TestClient(base)
    await signIn(again, user.email)
    const replay = await again.post('/login/verify', { intent: 'totp', code })
    expect(replay.status).toBe(400)
    expect(await replay.text()).toContain('That code was already used')

    // ...and once that time step is behind us (moved by data), the app's code works again.
    await forgetTotpStep(user.id)
    const later = new TestClient(base)
    await signIn(later, user.email)
    const ok2 = await later.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(ok2.status).toBe(302)
    expect(later.cookies.has('gh_session')).toBe(true)
  })
})
