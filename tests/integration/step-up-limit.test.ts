/**
 * Step-up answers have an attempt limit of their own, over real HTTP: the fifth wrong app or
 * recovery code on one session ends that session (web: to /login with the reason; API: 401 in
 * the error shape), audited. Counted per session: another session of the same member is not
 * touched; a malformed answer is not counted (as at sign-in).
 */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

const CONFIRM = `/settings/security/confirm?redirectTo=${encodeURIComponent('/settings/security/recovery-codes')}`
const WRONG = '000000'

async function memberWithApp() {
  const org = await createOrg()
  const user = await createUser({ org })
  const { secret, recoveryCodes } = await enableTotp(user.id)
  return { user, secret, recoveryCodes }
}

async function sessionsOf(userId: string) {
  return db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))
}

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

const ended = (events: { action: string; details: unknown }[]) => events.filter((e) => e.action === 'auth.session_ended')

describe('web step-up page', () => {
  it('ends the session on the fifth wrong code, warns before, and counts per session', async () => {
    const { user, secret } = await memberWithApp()
    const client = new TestClient(base)
    const { session } = await signInAs(client, user.id, { level: 'mfa' })
    const other = new TestClient(base)
    await signInAs(other, user.id, { level: 'mfa' })

    // Malformed answers are refused without counting.
    for (let i = 0; i < 3; i++) expect((await client.post(CONFIRM, { intent: 'totp', code: 'abc' })).status).toBe(400)
    for (let i = 1; i <= 4; i++) {
      const res = await client.post(CONFIRM, { intent: i % 2 ? 'totp' : 'recovery_code', code: i % 2 ? WRONG : 'abcd-2345' })
      expect(res.status, `wrong answer ${i}`).toBe(400)
      const html = (await res.text()).replaceAll('<!-- -->', '')
      if (i === 3) expect(html).toContain('2 tries left before you are signed out.')
      if (i === 4) expect(html).toContain('1 try left before you are signed out.')
    }
    // One wrong answer on the other session does not end either.
    expect((await other.post(CONFIRM, { intent: 'totp', code: WRONG })).status).toBe(400)
    expect(await sessionsOf(user.id)).toHaveLength(2)

    const fifth = await client.post(CONFIRM, { intent: 'totp', code: WRONG })
    expect(fifth.status).toBe(302)
    expect(fifth.headers.get('location')).toBe('/login?notice=too-many-codes')
    expect(client.cookies.has('gh_session')).toBe(false)
    expect((await sessionsOf(user.id)).map((s) => s.id)).not.toContain(session.id)
    expect(await sessionsOf(user.id)).toHaveLength(1)
    expect(ended(await auditOf(user.id))).toEqual([
      { action: 'auth.session_ended', details: expect.objectContaining({ reason: 'step_up_attempts', sessionId: session.id, wrong: 5 }) },
    ])
    const login = await client.text('/login?notice=too-many-codes')
    expect(login.html).toContain('Too many wrong codes: you have been signed out')

    // The old cookie no longer works, even with a right code.
    client.cookies.set('gh_session', 'gone')
    const late = await client.post(CONFIRM, { intent: 'totp', code: await totpCode(secret) })
    expect(late.status).toBe(302)
    expect(late.headers.get('location')).toMatch(/^\/login\?redirectTo=/)

    // The other session still steps up with a right code.
    await forgetTotpStep(user.id)
    const ok = await other.post(CONFIRM, { intent: 'totp', code: await totpCode(secret) })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/settings/security/recovery-codes')
  })
})

describe('API code step-up', () => {
  it('the fifth wrong code signs the token out: 401 in the error shape, audited', async () => {
    const { user, secret, recoveryCodes } = await memberWithApp()
    const { token, session } = await createSession({ userId: user.id, level: 'mfa', meta: { ip: null, userAgent: null }, channel: 'api', secondFactorMethod: 'totp' })
    const regenerate = (code: string) => apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: { code }, token })
    for (let i = 1; i <= 4; i++) {
      const res = await regenerate(i === 2 ? 'wxyz-6789' : WRONG)
      expectError(res, 400, 'invalid_code')
      if (i === 4) expect(res.body.error.message).toContain('1 try left before you are signed out.')
    }
    const fifth = await regenerate(WRONG)
    expectError(fifth, 401, 'unauthorized')
    expect(fifth.body.error.message).toContain('Too many wrong codes: you have been signed out')
    expect(fifth.headers.get('www-authenticate')).toContain('Bearer')
    expect(await sessionsOf(user.id)).toEqual([])
    expect(ended(await auditOf(user.id))).toEqual([
      { action: 'auth.session_ended', details: expect.objectContaining({ reason: 'step_up_attempts', sessionId: session.id }) },
    ])
    // The token is gone: even a right code is refused, and the recovery codes were not replaced.
    await forgetTotpStep(user.id)
    expectError(await regenerate(await totpCode(secret)), 401, 'unauthorized')
    expectError(await apiCall(base, '/api/auth/2fa/status', { token }), 401, 'unauthorized')
    void recoveryCodes
  })
})
