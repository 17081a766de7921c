/**
 * A temporary access code at the API's second step (decisions 070, 081), through the real server:
 * `POST /api/auth/2fa/verify {challengeId, method: "temporary_access", code}` (or the challenge as
 * bearer token) signs in once to an enrollment-only token that can set up an app straight away;
 * used, expired, revoked, another member's and mistyped codes are 400 with a clear message, write
 * nothing but the failure bookkeeping, and count toward the challenge's 5 tries and the lockout.
 */
import { and, desc, eq, sql } from 'drizzle-orm'
import { generate } from 'otplib'
import { beforeAll, describe, expect, it } from 'vitest'
import { supportIssueAccessCode, supportRevokeAccessCode } from '#app/support/temporary-access.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createSoftwarePasskey } from '#tests/factories/passkey.ts'
import { giveFactors, securityCounts } from '#tests/factories/security.ts'
import { createUser, PASSWORD } from '#tests/factories/users.ts'
import { apiCall, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

let base: string
let support: { id: string; email: string }
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp())
  const s = await findDemoUser('support@gatehouse.test')
  support = { id: s.id, email: s.email }
})

async function issue(targetUserId: string) {
  const out = await supportIssueAccessCode({ actor: support, targetUserId, reason: 'Lost their phone, checked on a video call', ticket: 'SUP-81', checks: ['video_id', 'callback'], validHours: 2 })
  if (out.status !== 'issued') throw new Error('expected the code to be issued at once')
  return out.issued.code
}

async function challenge(email: string): Promise<string> {
  const res = await apiCall(base, '/api/auth/signin', { json: { email, password: PASSWORD, region: 'us' } })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  expect(res.body.data.requires2FA).toBe(true)
  return res.body.data.challengeId
}

const useCode = (challengeId: string, code: string) => apiCall(base, '/api/auth/2fa/verify', { json: { challengeId, method: 'temporary_access', code } })

function expectError(res: ApiAnswer, status: number, code: string) {
  expect(res.status, JSON.stringify(res.body)).toBe(status)
  expect(res.body.error.code).toBe(code)
}

const events = (userId: string, action: string) =>
  db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, userId), eq(schema.auditEvents.action, action))).orderBy(desc(schema.auditEvents.createdAt))
const codesOf = (userId: string) =>
  db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'temporary_access'))).orderBy(desc(schema.verifications.createdAt))
const failedAttempts = async (userId: string) => (await db.select({ n: schema.users.failedAttempts }).from(schema.users).where(eq(schema.users.id, userId)))[0].n
const sessionsOf = (userId: string) => db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))
const challengeRow = async (userId: string) =>
  (await db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'login'))).orderBy(desc(schema.verifications.createdAt)))[0]

describe('a temporary access code over the API', () => {
  it('signs in once to an enrollment-only token that sets up an app at once; nothing else is touched', async () => {
    // Lost their only security key: the API cannot use a key, but the code works whatever the step offers.
    const m = await createUser({ email: 'api-lost-key@example.test' })
    await createSoftwarePasskey(m, { kind: 'security_key' })
    const code = await issue(m.id)
    const before = await securityCounts(m.id)
    const challengeId = await challenge(m.email)

    const ok = await useCode(challengeId, code.toLowerCase())
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: true, user: { email: m.email } })
    const [session] = await sessionsOf(m.id)
    expect(session).toMatchObject({ level: 'enroll_only', secondFactorMethod: 'temporary_access', channel: 'api' })
    expect(await events(m.id, 'auth.temporary_access_used')).toHaveLength(1)
    expect((await codesOf(m.id))[0].consumedAt).not.toBeNull()
    expect({ ...(await securityCounts(m.id)), sessions: 0 }).toEqual({ ...before, sessions: 0 })

    // Enrollment only: the rest of the API is closed; setting up an app needs no further step-up.
    const token = ok.body.data.token
    expectError(await apiCall(base, '/api/me', { token }), 403, 'enrollment_required')
    const setup = await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })
    expect(setup.status, JSON.stringify(setup.body)).toBe(200)
    const enabled = await apiCall(base, '/api/auth/2fa/verify', { json: { code: await generate({ secret: setup.body.data.secret }) }, token })
    expect(enabled.status, JSON.stringify(enabled.body)).toBe(200)
    expect(enabled.body.data).toMatchObject({ enabled: true, token: expect.any(String) })
    expect((await apiCall(base, '/api/me', { token: enabled.body.data.token })).body.data.session.level).toBe('mfa')

    // Used once: the same code at a new sign-in is refused, counted, and starts nothing.
    const again = await challenge(m.email)
    const failures = (await events(m.id, 'auth.mfa_failed')).length
    const sessions = (await sessionsOf(m.id)).length
    const reuse = await useCode(again, code)
    expectError(reuse, 400, 'invalid_code')
    expect(reuse.body.error.message).toContain('was already used')
    expect((await events(m.id, 'auth.mfa_failed')).length).toBe(failures + 1)
    expect(await sessionsOf(m.id)).toHaveLength(sessions)
    expect(await events(m.id, 'auth.temporary_access_used')).toHaveLength(1)
  })

  it('works with the challenge as the bearer token (reference page 002’s `{code}` form)', async () => {
    const m = await createUser({ email: 'api-bearer-code@example.test' })
    await giveFactors(m.id)
    const code = await issue(m.id)
    const challengeId = await challenge(m.email)
    const res = await apiCall(base, '/api/auth/2fa/verify', { json: { code, method: 'temporary_access' }, token: challengeId })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.data.enrollmentOnly).toBe(true)
    // The challenge is spent with the code: it cannot be used again.
    expectError(await apiCall(base, '/api/auth/2fa/verify', { json: { code, method: 'temporary_access' }, token: challengeId }), 401, 'unauthorized')
  })

  it('expired, revoked and another member’s codes: 400 with the same message, nothing written, counted', async () => {
    const m = await createUser({ email: 'api-refused-codes@example.test' })
    await giveFactors(m.id)
    const other = await createUser({ email: 'api-other-member@example.test' })
    await giveFactors(other.id)

    const expired = await issue(m.id)
    await db.update(schema.verifications).set({ expiresAt: sql`now() - interval '1 second'` }).where(and(eq(schema.verifications.userId, m.id), eq(schema.verifications.purpose, 'temporary_access')))
    const revoked = await issue(m.id)
    await supportRevokeAccessCode({ actor: support, targetUserId: m.id })
    const othersCode = await issue(other.id)

    for (const code of [expired, revoked, othersCode]) {
      const challengeId = await challenge(m.email)
      const failures = (await events(m.id, 'auth.mfa_failed')).length
      const attempts = await failedAttempts(m.id)
      const codeRows = JSON.stringify(await codesOf(m.id))
      const res = await useCode(challengeId, code)
      expectError(res, 400, 'invalid_code')
      expect(res.body.error.message).toMatch(/not valid: it is mistyped, was already used, has expired or was revoked/)
      // Nothing written but the failure bookkeeping: no session, no code spent, the challenge still live with one try fewer.
      expect(await sessionsOf(m.id)).toEqual([])
      expect(JSON.stringify(await codesOf(m.id))).toBe(codeRows)
      expect(await events(m.id, 'auth.temporary_access_used')).toEqual([])
      expect((await events(m.id, 'auth.mfa_failed')).length).toBe(failures + 1)
      expect(await failedAttempts(m.id)).toBe(attempts + 1)
      expect(await challengeRow(m.id)).toMatchObject({ attempts: 1, consumedAt: null })
    }
    // The other member's code is still theirs, unspent.
    expect((await codesOf(other.id))[0].consumedAt).toBeNull()
  })

  it('the challenge’s 5 tries hold: the fifth wrong code ends it and then even the right code does nothing; malformed input is 400 and not counted', async () => {
    const m = await createUser({ email: 'api-code-guesser@example.test' })
    await giveFactors(m.id)
    const code = await issue(m.id)
    const challengeId = await challenge(m.email)
    const attempts = await failedAttempts(m.id)

    const malformed = await useCode(challengeId, 'short')
    expectError(malformed, 400, 'invalid_code')
    expect(malformed.body.error.message).toContain('16 letters and digits')
    expect(await failedAttempts(m.id)).toBe(attempts)
    expectError(await apiCall(base, '/api/auth/2fa/verify', { json: { challengeId, method: 'temporary_access', code: 'X'.repeat(65) } }), 400, 'invalid_request')
    expectError(await apiCall(base, '/api/auth/2fa/verify', { json: { challengeId, method: 'temporary-access', code } }), 400, 'invalid_request')

    for (let i = 0; i < 4; i++) expectError(await useCode(challengeId, 'ABCD-EFGH-JKMN-PQRS'), 400, 'invalid_code')
    const fifth = await useCode(challengeId, 'ABCD-EFGH-JKMN-PQR0')
    expectError(fifth, 401, 'invalid_challenge')
    expect(fifth.body.error.message).toContain('sign in again')
    expect(await failedAttempts(m.id)).toBe(attempts + 5)
    expectError(await useCode(challengeId, code), 401, 'invalid_challenge')
    expect((await codesOf(m.id))[0].consumedAt).toBeNull()
    expect(await sessionsOf(m.id)).toEqual([])
  })

  it('the OpenAPI document says how', async () => {
    const doc = (await apiCall(base, '/api/openapi.json')).body
    const verify = doc.paths['/api/auth/2fa/verify'].post
    expect(verify.description).toContain('temporary_access')
    const body = JSON.stringify(verify.requestBody)
    expect(body).toContain('"temporary_access"')
    const signin = JSON.stringify(doc.paths['/api/auth/signin'].post)
    expect(signin).toContain('emailCodeSent')
    expect(signin).toContain('resendAfter')
  })
})
