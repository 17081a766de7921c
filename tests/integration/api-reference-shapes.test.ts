/**
 * Reference page 002's API shapes, sent exactly as the page writes its request bodies, accepted
 * alongside Gatehouse's own (decision 071): sign-in without `region`, the challengeId as the bearer
 * token of `POST /api/auth/2fa/verify {code}`, `backupCodes` in set-up and verify, `{code, secret}`,
 * exemptions named by a string, and `/2fa/disable` that still asks for the password.
 */
import { and, eq, isNotNull } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { randomToken } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { enableTotp, totpCode, userById } from '#tests/factories/mfa.ts'
import { apiCall, apiSignIn, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

/** 002's sign-in body: `{ "email", "password" }`, no region. */
const signin002 = (email: string, password = PASSWORD) => apiCall(base, '/api/auth/signin', { json: { email, password } })
const verify = (json: Record<string, unknown>, token?: string) => apiCall(base, '/api/auth/2fa/verify', { json, token })
const email = (local: string) => `${local}-${randomToken().slice(0, 8).toLowerCase().replace(/[^a-z0-9]/g, 'x')}@example.test`

describe('POST /api/auth/signin without region', () => {
  it('signs in the address’s only account, in its region', async () => {
    const org = await createOrg({ regions: ['eu'] })
    const user = await createUser({ org, region: 'eu', email: email('solo') })
    const res = await signin002(user.email)
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const me = await apiCall(base, '/api/me', { token: res.body.data.token })
    expect(me.body.data.user).toMatchObject({ email: user.email, region: 'eu' })
  })

  it('answers 409 region_required with the region codes when the password matches accounts in several regions', async () => {
    const address = email('twice')
    await createUser({ region: 'us', email: address })
    await createUser({ region: 'eu', email: address })
    const res = await signin002(address)
    expectError(res, 409, 'region_required')
    expect(res.body.error.regions).toEqual(['us', 'eu'])
    expect(res.body.error.message).toContain('us, eu')
    expect(await db.select().from(schema.sessions).innerJoin(schema.users, eq(schema.users.id, schema.sessions.userId)).where(eq(schema.users.email, address))).toEqual([])
    // With the region it signs in there.
    expect((await apiCall(base, '/api/auth/signin', { json: { email: address, password: PASSWORD, region: 'eu' } })).status).toBe(200)
  })

  it('with accounts in several regions, the one whose password matches signs in; the other is left alone', async () => {
    const address = email('split')
    const us = await createUser({ region: 'us', email: address })
    const jp = await createUser({ region: 'jp', email: address, password: 'another long passphrase here' })
    const res = await signin002(address, 'another long passphrase here')
    expect(res.status).toBe(200)
    expect((await apiCall(base, '/api/me', { token: res.body.data.token })).body.data.user.region).toBe('jp')
    expect((await userById(us.id)).failedAttempts).toBe(0)
    expect((await userById(jp.id)).failedAttempts).toBe(0)
  })

  it('an unknown address and a wrong password get the same 401; the wrong one counts toward the lockout', async () => {
    const user = await createUser({ email: email('wrong') })
    const wrong = await signin002(user.email, 'not the password at all')
    const unknown = await signin002(email('nobody'))
    expectError(wrong, 401, 'invalid_credentials')
    expectError(unknown, 401, 'invalid_credentials')
    expect(unknown.body).toEqual(wrong.body)
    expect((await userById(user.id)).failedAttempts).toBe(1)
  })

  it('bad input: a region that does not exist is 400 and nothing is checked', async () => {
    const user = await createUser({ email: email('badregion') })
    const res = await apiCall(base, '/api/auth/signin', { json: { email: user.email, password: 'x', region: 'mars' } })
    expectError(res, 400, 'invalid_request')
    expect(Object.keys(res.body.error.fields)).toEqual(['region'])
    expect((await userById(user.id)).failedAttempts).toBe(0)
  })
})

describe('POST /api/auth/2fa/verify {code} with the challengeId as the bearer token', () => {
  it('finishes the sign-in once; wrong codes count toward the challenge’s 5 tries', async () => {
    const user = await createUser({ email: email('bearer') })
    const { secret } = await enableTotp(user.id)
    const first = await signin002(user.email)
    expect(first.body.data).toMatchObject({ requires2FA: true, method: 'totp' })
    const challengeId: string = first.body.data.challengeId
    // 002's body, exactly: { "code": "123456" }.
    expectError(await verify({ code: '000000' }, challengeId), 400, 'invalid_code')
    expect((await userById(user.id)).failedAttempts).toBe(1)
    const done = await verify({ code: await totpCode(secret) }, challengeId)
    expect(done.status, JSON.stringify(done.body)).toBe(200)
    expect(done.body.data).toMatchObject({ token: expect.any(String), user: { email: user.email } })
    expect((await apiCall(base, '/api/me', { token: done.body.data.token })).body.data.session.level).toBe('mfa')
    // Consumed: the challenge is no bearer token any more, and it never was a session.
    expectError(await verify({ code: await totpCode(secret, 1) }, challengeId), 401, 'unauthorized')
    expectError(await apiCall(base, '/api/me', { token: challengeId }), 401, 'unauthorized')
  })

  it('ends after 5 wrong codes; an unknown bearer token is 401 as before', async () => {
    const user = await createUser({ email: email('bearer5') })
    const { secret } = await enableTotp(user.id)
    const { challengeId } = (await signin002(user.email)).body.data
    for (let i = 0; i < 4; i++) expectError(await verify({ code: '000000' }, challengeId), 400, 'invalid_code')
    expectError(await verify({ code: '000000' }, challengeId), 401, 'invalid_challenge')
    expectError(await verify({ code: await totpCode(secret) }, challengeId), 401, 'unauthorized')
    expectError(await verify({ code: '123456' }, randomToken()), 401, 'unauthorized')
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toEqual([])
  })
})

describe('setting up an app with 002’s bodies', () => {
  it('setup answers backupCodes (empty: made at verify); verify {code, secret} enables and shows the codes once', async () => {
    const user = await createUser({ email: email('setup') })
    const token = await apiSignIn(base, user.email)
    const setup = await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })
    expect(setup.status).toBe(200)
    expect(setup.body.data).toMatchObject({ secret: expect.any(String), uri: expect.stringMatching(/^otpauth:\/\/totp\//), qrCode: expect.stringMatching(/^data:image\/png;base64,/), backupCodes: [] })
    expect(await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))).toEqual([])
    const { secret } = setup.body.data

    // A secret that is not the pending one: 400, nothing written.
    const other = await verify({ code: await totpCode(secret), secret: 'JBSWY3DPEHPK3PXP' }, token)
    expectError(other, 400, 'invalid_request')
    expect(other.body.error.fields).toHaveProperty('secret')
    expect(await db.select().from(schema.totpFactors).where(and(eq(schema.totpFactors.userId, user.id), isNotNull(schema.totpFactors.confirmedAt)))).toEqual([])

    const done = await verify({ code: await totpCode(secret), secret }, token)
    expect(done.status, JSON.stringify(done.body)).toBe(200)
    expect(done.body.data).toMatchObject({ enabled: true, backupCodesRemaining: 10 })
    expect(done.body.data.backupCodes).toHaveLength(10)
    // Stored as hashes only, and never shown again.
    const stored = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
    expect(stored).toHaveLength(10)
    for (const c of done.body.data.backupCodes as string[]) expect(JSON.stringify(stored)).not.toContain(c.replace('-', ''))
    const status = await apiCall(base, '/api/auth/2fa/status', { token })
    expect(status.body.data).toMatchObject({ enabled: true, backupCodesRemaining: 10 })
    expect(JSON.stringify(status.body)).not.toContain(done.body.data.backupCodes[0])
  })

  it('verify {code, secret} with no set-up in progress is 409 and writes nothing', async () => {
    const user = await createUser({ email: email('nosetup') })
    const token = await apiSignIn(base, user.email)
    expectError(await verify({ code: '123456', secret: 'JBSWY3DPEHPK3PXP' }, token), 409, 'conflict')
    expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))).toEqual([])
  })
})

describe('POST /api/auth/2fa/disable {code}', () => {
  it('still asks for the password, says so, and changes nothing (the code is not spent)', async () => {
    const user = await createUser({ email: email('disable') })
    const { recoveryCodes } = await enableTotp(user.id)
    // The member has an app: sign in with a recovery code to get a token.
    const challenge = (await signin002(user.email)).body.data.challengeId
    const signedIn = await verify({ code: recoveryCodes[0], method: 'recovery_code' }, challenge)
    const res = await apiCall(base, '/api/auth/2fa/disable', { json: { code: recoveryCodes[1] }, token: signedIn.body.data.token })
    expectError(res, 400, 'invalid_request')
    expect(res.body.error.message).toMatch(/password/)
    expect(res.body.error.fields.password).toMatch(/password/)
    expect((await userById(user.id)).mfaEnabledAt).not.toBeNull()
    const left = await apiCall(base, '/api/auth/2fa/status', { token: signedIn.body.data.token })
    expect(left.body.data).toMatchObject({ enabled: true, backupCodesRemaining: 9 })
  })
})

describe('POST /api/organizations/{orgId}/security with exemptions named as 002 names them', () => {
  async function setup() {
    const org = await createOrg({ regions: ['us'] })
    const owner = await createUser({ org, role: 'owner' })
    const ci = await createUser({ org, kind: 'service', email: `service-account-ci@${org.slug}.test` })
    const deploy = await createUser({ org, kind: 'service', email: `service-account-deploy@${org.slug}.test` })
    const person = await createUser({ org, email: `a-person@${org.slug}.test` })
    // Another organization's service account with the same local part is not this one's.
    const elsewhere = await createOrg({ regions: ['us'] })
    await createUser({ org: elsewhere, kind: 'service', email: `service-account-other@${elsewhere.slug}.test` })
    const ownerToken = await apiSignIn(base, owner.email)
    await db.update(schema.sessions).set({ level: 'mfa', secondFactorAt: new Date() }).where(eq(schema.sessions.userId, owner.id))
    return { org, owner, ci, deploy, person, ownerToken }
  }
  const exemptionsOf = (orgId: string) => db.select().from(schema.exemptions).where(eq(schema.exemptions.organizationId, orgId))

  it('exempts the service accounts named by the part before @ or by email', async () => {
    const s = await setup()
    const res = await apiCall(base, `/api/organizations/${s.org.id}/security`, {
      json: { require2FA: true, exemptions: ['service-account-ci', `service-account-deploy@${s.org.slug}.test`] },
      token: s.ownerToken,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.data.exemptions).toEqual([
      expect.objectContaining({ userId: s.ci.id, region: 'us', expiresAt: null }),
      expect.objectContaining({ userId: s.deploy.id, region: 'us', expiresAt: null }),
    ])
    expect((await exemptionsOf(s.org.id)).map((e) => e.userId).sort()).toEqual([s.ci.id, s.deploy.id].sort())
  })

  it('unknown names, people and other organizations’ accounts get 400 listing them; nothing is written', async () => {
    const s = await setup()
    const res = await apiCall(base, `/api/organizations/${s.org.id}/security`, {
      json: { require2FA: true, exemptions: ['service-account-ci', 'service-account-deploy', 'service-account-nope', 'a-person', 'service-account-other'] },
      token: s.ownerToken,
    })
    expectError(res, 400, 'invalid_request')
    expect(res.body.error.message).toContain('"service-account-nope", "a-person", "service-account-other"')
    expect(Object.keys(res.body.error.fields)).toEqual(['exemptions.2', 'exemptions.3', 'exemptions.4'])
    expect(await exemptionsOf(s.org.id)).toEqual([])
    const [policy] = await db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, s.org.id))
    expect(policy.mode).toBe('optional')
  })
})
