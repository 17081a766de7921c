/**
 * POST /api/auth/passkey/options and /verify over real HTTP (decision 069): a passkey answered with
 * user verification gives a session token, as POST /api/auth/signin does, through the same policy
 * decision; the challenge is one-time; bad, stale or refused answers get a 4xx and write no session
 * and move no counter; wrong answers count toward the account lockout.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf, userById } from '#tests/factories/mfa.ts'
import { createSoftwarePasskey } from '#tests/factories/passkey.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
})

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

const options = async (region = 'us') => {
  const res = await apiCall(base, '/api/auth/passkey/options', { json: { region } })
  expect(res.status).toBe(200)
  return res.body.data as { challengeId: string; options: { challenge: string; rpId: string; allowCredentials: unknown[]; userVerification: string } }
}
const verify = (json: unknown) => apiCall(base, '/api/auth/passkey/verify', { json: json as Record<string, unknown> })

const sessionsOf = (userId: string) => db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))
const counterOf = async (id: string) => (await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.id, id)))[0].counter

async function memberWithPasskey(kind: 'passkey' | 'security_key' = 'passkey') {
  const org = await createOrg()
  const user = await createUser({ org })
  await db.update(schema.users).set({ mfaEnabledAt: new Date() }).where(eq(schema.users.id, user.id))
  return { org, user, passkey: await createSoftwarePasskey(user, { kind }) }
}

describe('POST /api/auth/passkey/options', () => {
  it('gives a one-time challenge for the region: no account named, an empty allow-list, user verification required', async () => {
    const o = await options()
    expect(o.options).toMatchObject({ rpId: 'localhost', allowCredentials: [], userVerification: 'required' })
    const [row] = await db.select().from(schema.verifications).where(eq(schema.verifications.id, o.challengeId))
    expect(row).toMatchObject({ purpose: 'passkey_login', userId: null, target: 'passkey:us', maxAttempts: 1 })
    expect(row.expiresAt.getTime()).toBeGreaterThan(Date.now())
  })

  it('refuses a region that does not exist (400, nothing stored)', async () => {
    const before = (await db.select().from(schema.verifications).where(eq(schema.verifications.purpose, 'passkey_login'))).length
    expectError(await apiCall(base, '/api/auth/passkey/options', { json: { region: 'zz' } }), 400, 'invalid_request')
    expect(await db.select().from(schema.verifications).where(eq(schema.verifications.purpose, 'passkey_login'))).toHaveLength(before)
  })

  it('is listed in the OpenAPI document with its error codes', async () => {
    const doc = (await apiCall(base, '/api/openapi.json', {})).body
    expect(doc.paths['/api/auth/passkey/options']?.post).toBeTruthy()
    expect(JSON.stringify(doc.paths['/api/auth/passkey/verify']?.post)).toContain('method_unavailable')
  })
})

describe('POST /api/auth/passkey/verify', () => {
  it('gives a session token (the shape of /api/auth/signin), audited as auth.login_success_passkey; the challenge works once', async () => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    const answer = passkey.assert(o.options.challenge, { origin: base })
    const res = await verify({ challengeId: o.challengeId, response: answer })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({ token: expect.any(String), user: { email: user.email }, enrollmentOnly: false })
    const me = await apiCall(base, '/api/me', { token: res.body.data.token })
    expect(me.status).toBe(200)
    const [session] = await sessionsOf(user.id)
    expect(session).toMatchObject({ level: 'mfa', channel: 'api', secondFactorMethod: 'webauthn' })
    expect(await auditOf(user.id)).toContainEqual(expect.objectContaining({ action: 'auth.login_success_passkey', details: expect.objectContaining({ method: 'webauthn', passkey: true, channel: 'api' }) }))
    expect(await counterOf(passkey.row.id)).toBe(1)

    // The same answer again: the challenge is spent.
    expectError(await verify({ challengeId: o.challengeId, response: answer }), 400, 'invalid_challenge')
    expect(await sessionsOf(user.id)).toHaveLength(1)
  })

  it.each([
    ['a response that is not an object', { response: 'nope' }],
    ['a response without a signature', { response: { id: 'abc', rawId: 'abc', type: 'public-key', response: { clientDataJSON: 'a', authenticatorData: 'b' } } }],
    ['a credential id that is not base64url', { response: { id: 'a b', rawId: 'ab', type: 'public-key', response: { clientDataJSON: 'a', authenticatorData: 'b', signature: 'c' } } }],
    ['a challenge id that is not one', { challengeId: 'not-a-uuid' }],
    ['an unknown field', { extra: true }],
  ])('malformed input, %s: 400, nothing written', async (_name, change) => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    const body = { challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }), ...change }
    expectError(await verify(body), 400, 'invalid_request')
    expect(await sessionsOf(user.id)).toHaveLength(0)
    expect(await counterOf(passkey.row.id)).toBe(0)
    expect((await userById(user.id)).failedAttempts).toBe(0)
  })

  it('a stale challenge: 400 invalid_challenge, nothing written', async () => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    await db.update(schema.verifications).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.verifications.id, o.challengeId))
    expectError(await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) }), 400, 'invalid_challenge')
    expect(await sessionsOf(user.id)).toHaveLength(0)
    expect(await counterOf(passkey.row.id)).toBe(0)
  })

  it('a forged signature: 401, no session, the counter kept, counted toward the lockout', async () => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    const answer = passkey.assert(o.options.challenge, { origin: base })
    answer.response.signature = Buffer.from('not a signature').toString('base64url')
    const res = await verify({ challengeId: o.challengeId, response: answer })
    expectError(res, 401, 'invalid_credentials')
    expect(await sessionsOf(user.id)).toHaveLength(0)
    expect(await counterOf(passkey.row.id)).toBe(0)
    expect((await userById(user.id)).failedAttempts).toBe(1)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.mfa_failed')
  })

  it('an answer signed for another challenge or origin is refused', async () => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    expectError(await verify({ challengeId: o.challengeId, response: passkey.assert('b3RoZXItY2hhbGxlbmdl', { origin: base }) }), 401, 'invalid_credentials')
    const o2 = await options()
    expectError(await verify({ challengeId: o2.challengeId, response: passkey.assert(o2.options.challenge, { origin: 'http://evil.localhost' }) }), 401, 'invalid_credentials')
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('a passkey that did not verify its user is refused', async () => {
    const { user, passkey } = await memberWithPasskey()
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base, userVerified: false }) })
    expectError(res, 401, 'invalid_credentials')
    expect(res.body.error.message).toContain('verify you')
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('a counter regression is refused and recorded', async () => {
    const { user, passkey } = await memberWithPasskey()
    await db.update(schema.webauthnCredentials).set({ counter: 50 }).where(eq(schema.webauthnCredentials.id, passkey.row.id))
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base, counter: 7 }) })
    expectError(res, 401, 'invalid_credentials')
    expect(res.body.error.message).toContain('signature counter lower than before')
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.webauthn_counter_regressed')
    expect(await counterOf(passkey.row.id)).toBe(50)
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('a key added as a second step does not sign in on its own', async () => {
    const { user, passkey } = await memberWithPasskey('security_key')
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) })
    expectError(res, 401, 'invalid_credentials')
    expect(res.body.error.message).toContain('second step')
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('a passkey not registered here gets the same answer as a forged one', async () => {
    const { passkey } = await memberWithPasskey()
    await db.delete(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.id, passkey.row.id))
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) })
    expectError(res, 401, 'invalid_credentials')
    expect(res.body.error.message).toBe('That passkey could not sign you in. Try again, or sign in with your email and password.')
  })

  it('refused with 403 method_unavailable where the organization does not allow keys', async () => {
    const { org, user, passkey } = await memberWithPasskey()
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date() }).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) })
    expectError(res, 403, 'method_unavailable')
    expect(res.body.error.message).toContain('does not allow security keys or passkeys')
    expect(await sessionsOf(user.id)).toHaveLength(0)
  })

  it('satisfies Required where keys are allowed', async () => {
    const { org, user, passkey } = await memberWithPasskey()
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: new Date(Date.now() - 30 * 86_400_000) }).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({ enrollmentOnly: false })
    expect(res.body.data.grace).toBeUndefined()
    expect((await sessionsOf(user.id))[0]).toMatchObject({ level: 'mfa' })
  })

  it('a locked account is refused, and nothing is signed in', async () => {
    const { user, passkey } = await memberWithPasskey()
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3600_000) }).where(eq(schema.users.id, user.id))
    const o = await options()
    const res = await verify({ challengeId: o.challengeId, response: passkey.assert(o.options.challenge, { origin: base }) })
    expect(res.status).toBe(429)
    expect(res.body.error.code).toBe('account_locked')
    expect(await sessionsOf(user.id)).toHaveLength(0)
    expect(await counterOf(passkey.row.id)).toBe(0)
  })
})
