/**
 * The API's two-step sign-in and the member's own factors over real HTTP: the sign-in follows the
 * same decision as the web (second factor, grace, enrollment-only after the email step, blocked),
 * challenges are single-use with 5 tries and count toward the lockout, and set-up, status,
 * disable, new recovery codes and key removal need the same step-up as the web.
 */
import { and, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { keyedHash, randomToken } from '#app/auth/crypto.server.ts'
import { config } from '#app/config/env.server.ts'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { enableTotp, forgetTotpStep, totpCode, userById } from '#tests/factories/mfa.ts'
import { apiCall, apiSignIn, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'
import { generate } from 'otplib'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

const PASSWORD = 'correct horse battery staple'

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

const signin = (email: string, region = 'us') => apiCall(base, '/api/auth/signin', { json: { email, password: PASSWORD, region } })
const verify = (json: Record<string, unknown>, token?: string) => apiCall(base, '/api/auth/2fa/verify', { json, token })

async function memberWithApp(region = 'us') {
  const org = await createOrg({ regions: [region] })
  const user = await createUser({ org, region })
  const { secret, recoveryCodes } = await enableTotp(user.id)
  return { org, user, secret, recoveryCodes }
}

describe('sign-in with a second factor', () => {
  it('answers a challenge, not a token; the right app code finishes it once, as an MFA session', async () => {
    const { user, secret } = await memberWithApp()
    const res = await signin(user.email)
    expect(res.status).toBe(200)
    expect(res.body.data).toEqual({ requires2FA: true, method: 'totp', methods: ['totp', 'email', 'recovery_code'], challengeId: expect.any(String) })
    const challengeId: string = res.body.data.challengeId
    // >= 128 bits, stored only as a keyed hash, 10 minutes, 5 tries.
    expect(Buffer.from(challengeId, 'base64url').length).toBeGreaterThanOrEqual(16)
    const [row] = await db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'login')))
    expect(row.tokenHash).toBe(keyedHash('verification:login', challengeId))
    expect(JSON.stringify(row)).not.toContain(challengeId)
    expect(row.maxAttempts).toBe(5)
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeLessThanOrEqual(10 * 60_000 + 1000)
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toEqual([])

    const done = await verify({ challengeId, code: await totpCode(secret), method: 'totp' })
    expect(done.status).toBe(200)
    expect(done.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: false, user: { email: user.email } })
    const me = await apiCall(base, '/api/me', { token: done.body.data.token })
    expect(me.body.data.session).toMatchObject({ level: 'mfa', secondFactorAt: expect.any(String) })
    // Consumed: a second use (even with another valid code) is refused.
    expectError(await verify({ challengeId, code: await totpCode(secret, 1) }), 401, 'invalid_challenge')
  })

  it('counts wrong codes toward the lockout and ends the challenge after 5; bad challenges are 401', async () => {
    const { user, secret } = await memberWithApp()
    const { challengeId } = (await signin(user.email)).body.data
    for (let i = 1; i <= 4; i++) expectError(await verify({ challengeId, code: '000000' }), 400, 'invalid_code')
    expect((await userById(user.id)).failedAttempts).toBe(4)
    expectError(await verify({ challengeId, code: '000000' }), 401, 'invalid_challenge')
    expectError(await verify({ challengeId, code: await totpCode(secret) }), 401, 'invalid_challenge')
    expectError(await verify({ challengeId: randomToken(), code: '123456' }), 401, 'invalid_challenge')
    const audit = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.mfa_failed')))
    expect(audit).toHaveLength(5)
  })

  it('re-checks the method on the server, and a web pending sign-in cannot be finished through the API', async () => {
    const { user } = await memberWithApp()
    const { challengeId } = (await signin(user.email)).body.data
    expectError(await verify({ challengeId, code: '123456', method: 'webauthn' }), 403, 'method_unavailable')
    // A pending sign-in made by the web form (cookie channel) is not a challengeId.
    const web = await fetch(new URL('/login', base), { method: 'POST', headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' }, body: new URLSearchParams({ email: user.email, password: PASSWORD, region: 'us' }), redirect: 'manual' })
    const cookie = web.headers.getSetCookie().find((c) => c.startsWith('gh_pending='))!
    const webToken = decodeURIComponent(cookie.split(';')[0].split('=')[1])
    expectError(await verify({ challengeId: webToken, code: '123456', method: 'totp' }), 401, 'invalid_challenge')
  })

  it('signs in with a recovery code, which then no longer works', async () => {
    const { user, recoveryCodes } = await memberWithApp()
    const first = (await signin(user.email)).body.data
    const done = await verify({ challengeId: first.challengeId, code: recoveryCodes[0].toUpperCase(), method: 'recovery_code' })
    expect(done.status).toBe(200)
    const again = (await signin(user.email)).body.data
    expectError(await verify({ challengeId: again.challengeId, code: recoveryCodes[0], method: 'recovery_code' }), 400, 'invalid_code')
    const events = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.login_success_backup_code')))
    expect(events).toHaveLength(1)
  })

  it('sends an email code for the challenge, at most one a minute, and accepts it', async () => {
    const org = await createOrg()
    const user = await createUser({ org })
    await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const since = Date.now()
    const res = (await signin(user.email)).body.data
    // Email first: sign-in itself sends the code (decision 081) and says when a new one may be asked for.
    expect(res).toMatchObject({ requires2FA: true, method: 'email', methods: ['email'], emailCodeSent: true, resendAfter: expect.any(String) })
    expect(new Date(res.resendAfter).getTime()).toBeGreaterThan(since)
    const first = await smtp.waitFor(user.email, { since, subject: /sign-in code/ })
    const firstCode = first.text.match(/code is (\d{6})/)![1]
    // Within the minute, asking again is refused with Retry-After (the once-a-minute limit).
    const again = await apiCall(base, '/api/auth/2fa/email', { json: { challengeId: res.challengeId } })
    expectError(again, 429, 'rate_limited')
    expect(Number(again.headers.get('retry-after'))).toBeGreaterThan(0)
    // A minute later a new code replaces the first (moved back in the data, never a clock override).
    await db.update(schema.verifications).set({ createdAt: sql`created_at - interval '61 seconds'` }).where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'email_code')))
    const since2 = Date.now()
    const sent = await apiCall(base, '/api/auth/2fa/email', { json: { challengeId: res.challengeId } })
    expect(sent.status).toBe(200)
    expect(sent.body.data).toMatchObject({ sent: true, to: user.email, resendAfter: expect.any(String) })
    const mail = await smtp.waitFor(user.email, { since: since2, subject: /sign-in code/ })
    const code = mail.text.match(/code is (\d{6})/)![1]
    if (code !== firstCode) expectError(await verify({ challengeId: res.challengeId, code: firstCode, method: 'email' }), 400, 'invalid_code')
    const done = await verify({ challengeId: res.challengeId, code, method: 'email' })
    expect(done.status).toBe(200)
    expect(done.body.data.enrollmentOnly).toBe(false)
  })

  it('an app-first sign-in sends no email code and says nothing about one', async () => {
    const { user } = await memberWithApp()
    const res = (await signin(user.email)).body.data
    expect(res.method).toBe('totp')
    expect(res).not.toHaveProperty('emailCodeSent')
    expect(await db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'email_code')))).toEqual([])
  })
})

describe('policy applies to API sign-in as to the web', () => {
  async function requiredOrg(fields: Partial<typeof schema.regionPolicies.$inferInsert>) {
    const org = await createOrg()
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: new Date(Date.now() - 30 * 86_400_000), ...fields }).where(eq(schema.regionPolicies.organizationId, org.id))
    return org
  }

  it('an overdue member proves the mailbox first, then gets an enrollment-only token that can set up an app and is replaced', async () => {
    const org = await requiredOrg({ gracePeriodDays: 7, onDeadline: 'force_enrollment' })
    const user = await createUser({ org })
    await joinedLongAgo(user.id)
    const since = Date.now()
    const res = (await signin(user.email)).body.data
    expect(res).toMatchObject({ requires2FA: true, method: 'email', methods: ['email'], emailCodeSent: true })
    const code = (await smtp.waitFor(user.email, { since })).text.match(/code is (\d{6})/)![1]
    const done = await verify({ challengeId: res.challengeId, code, method: 'email' })
    expect(done.body.data).toMatchObject({ enrollmentOnly: true })
    const token = done.body.data.token
    expectError(await apiCall(base, '/api/me', { token }), 403, 'enrollment_required')

    const setup = await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })
    expect(setup.status).toBe(200)
    expect(setup.body.data).toMatchObject({ secret: expect.stringMatching(/^[A-Z2-7]+$/), uri: expect.stringMatching(/^otpauth:\/\/totp\//), qrCode: expect.stringMatching(/^data:image\/png;base64,/) })
    const enabled = await verify({ code: await generate({ secret: setup.body.data.secret }) }, token)
    expect(enabled.status).toBe(200)
    expect(enabled.body.data).toMatchObject({ enabled: true, backupCodesRemaining: 10, token: expect.any(String) })
    expect(enabled.body.data.backupCodes).toHaveLength(10)
    const fresh = await apiCall(base, '/api/me', { token: enabled.body.data.token })
    expect(fresh.body.data.session.level).toBe('mfa')
  })

  it('a member past a blocking deadline is refused with whom to contact', async () => {
    const org = await requiredOrg({ gracePeriodDays: 0, onDeadline: 'block' })
    await createUser({ org, role: 'owner', email: `boss-${randomToken(4)}@example.test` })
    const user = await createUser({ org })
    await joinedLongAgo(user.id)
    const res = await signin(user.email)
    expectError(res, 403, 'sign_in_blocked')
    expect(res.body.error.message).toContain('Contact boss-')
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toEqual([])
  })

  it('a reset member in grace proves the mailbox, then gets a token and the deadline', async () => {
    const org = await requiredOrg({ gracePeriodDays: 60, requiredSince: new Date() })
    const user = await createUser({ org })
    await db.update(schema.users).set({ mfaResetAt: new Date() }).where(eq(schema.users.id, user.id))
    const since = Date.now()
    const res = (await signin(user.email)).body.data
    expect(res).toMatchObject({ requires2FA: true, method: 'email', methods: ['email'], emailCodeSent: true })
    const code = (await smtp.waitFor(user.email, { since })).text.match(/code is (\d{6})/)![1]
    const done = await verify({ challengeId: res.challengeId, code, method: 'email' })
    expect(done.status).toBe(200)
    expect(done.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: false, grace: { organizations: [org.name], daysLeft: 60 } })
    expect((await userById(user.id)).mfaResetAt).toBeNull()
  })

  it('a reset member in a Disabled region gets a token at once', async () => {
    const org = await createOrg()
    await db.update(schema.regionPolicies).set({ mode: 'disabled' }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org })
    await db.update(schema.users).set({ mfaResetAt: new Date() }).where(eq(schema.users.id, user.id))
    const res = await signin(user.email)
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: false })
    expect(res.body.data.grace).toBeUndefined()
  })

  it('a member in grace gets a token and the deadline', async () => {
    const org = await requiredOrg({ gracePeriodDays: 60, requiredSince: new Date() })
    const user = await createUser({ org })
    const res = await signin(user.email)
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: false, grace: { deadline: expect.any(String), organizations: [org.name], daysLeft: expect.any(Number) } })
  })
})

describe('the member’s factors', () => {
  it('set-up, status, and a second set-up refused', async () => {
    const user = await createUser({ org: await createOrg() })
    const token = await apiSignIn(base, user.email)
    expect((await apiCall(base, '/api/auth/2fa/status', { token })).body.data).toEqual({ enabled: false, method: null, methods: [], backupCodesRemaining: 0, lastUsedAt: null })
    expectError(await verify({ code: '123456' }, token), 400, 'invalid_code') // no set-up started
    const setup = (await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })).body.data
    expectError(await verify({ code: '12345x' }, token), 400, 'invalid_code')
    const enabled = await verify({ code: await generate({ secret: setup.secret }) }, token)
    expect(enabled.body.data).toMatchObject({ enabled: true, backupCodesRemaining: 10 })
    expect(enabled.body.data.token).toBeUndefined()
    const status = (await apiCall(base, '/api/auth/2fa/status', { token })).body.data
    expect(status).toMatchObject({ enabled: true, method: 'totp', methods: ['totp'], backupCodesRemaining: 10, lastUsedAt: expect.any(String) })
    expectError(await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token }), 409, 'conflict')
    expectError(await verify({ code: await generate({ secret: setup.secret }) }, token), 409, 'conflict')
  })

  it('adding an app when the member has a key needs a fresh second factor', async () => {
    const user = await createUser({ org: await createOrg() })
    await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: randomToken(16), publicKey: randomToken(32), label: 'YubiKey' })
    await db.update(schema.users).set({ mfaEnabledAt: new Date(), preferredMethod: 'webauthn' }).where(eq(schema.users.id, user.id))
    // Optional policy, key only: sign-in asks for the key; make the session directly.
    const { createSession } = await import('#app/auth/session.server.ts')
    const stale = await createSession({ userId: user.id, level: 'mfa', meta: { ip: null, userAgent: null }, channel: 'api' })
    expectError(await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token: stale.token }), 403, 'step_up_required')
    const fresh = await createSession({ userId: user.id, level: 'mfa', meta: { ip: null, userAgent: null }, channel: 'api', secondFactorMethod: 'webauthn' })
    expect((await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token: fresh.token })).status).toBe(200)
  })

  it('disable needs the password and a code; nothing changes when either is wrong', async () => {
    const { user, secret } = await memberWithApp()
    const token = await apiSignIn2fa(user.email, secret)
    await forgetTotpStep(user.id)
    const disable = (json: unknown) => apiCall(base, '/api/auth/2fa/disable', { json, token })
    expectError(await disable({ code: await totpCode(secret), password: 'wrong' }), 400, 'invalid_password')
    await forgetTotpStep(user.id)
    expectError(await disable({ code: '000000', password: PASSWORD }), 400, 'invalid_code')
    expect((await apiCall(base, '/api/auth/2fa/status', { token })).body.data.enabled).toBe(true)
    expectError(await disable({ code: await totpCode(secret) }), 400, 'invalid_request')
    const ok = await disable({ code: await totpCode(secret), password: PASSWORD })
    expect(ok.body).toEqual({ data: { disabled: true } })
    expect((await apiCall(base, '/api/auth/2fa/status', { token })).body.data).toMatchObject({ enabled: false, backupCodesRemaining: 0 })
    expectError(await disable({ code: await totpCode(secret), password: PASSWORD }), 409, 'conflict')
  })

  it('disable checks the password only after the code, so a stolen token cannot test passwords; wrong passwords count toward the lockout', async () => {
    const { user, secret } = await memberWithApp()
    const token = await apiSignIn2fa(user.email, secret)
    await forgetTotpStep(user.id)
    const disable = (json: unknown) => apiCall(base, '/api/auth/2fa/disable', { json, token })
    const failures = async () => (await userById(user.id)).failedAttempts
    // Without the second factor, the right and a wrong password get the same answer.
    const right = await disable({ code: '000000', password: PASSWORD })
    const wrong = await disable({ code: '000001', password: 'not the password' })
    expectError(right, 400, 'invalid_code')
    expect(wrong.status).toBe(right.status)
    expect(wrong.body.error.code).toBe(right.body.error.code)
    expect(JSON.stringify(right.body)).not.toMatch(/password/i)
    const before = await failures()
    const wrongPasswords = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.login_failed')))
    expect(wrongPasswords).toHaveLength(0)
    // With the right code, a wrong password is one more failure on the account's lockout counter, audited.
    expectError(await disable({ code: await totpCode(secret), password: 'not the password' }), 400, 'invalid_password')
    expect(await failures()).toBe(before + 1)
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.login_failed')))
    expect(event.details).toMatchObject({ reason: 'wrong_password', during: '2fa_disable' })
    // The same counter as sign-in: at the threshold, the account locks.
    await db.update(schema.users).set({ failedAttempts: config.lockoutThreshold - 1 }).where(eq(schema.users.id, user.id))
    await forgetTotpStep(user.id)
    expectError(await disable({ code: await totpCode(secret), password: 'not the password' }), 400, 'invalid_password')
    expect((await userById(user.id)).lockedUntil!.getTime()).toBeGreaterThan(Date.now())
    expectError(await signin(user.email), 429, 'account_locked')
    expect((await apiCall(base, '/api/auth/2fa/status', { token })).body.data.enabled).toBe(true)
  })

  it('regenerates recovery codes with a recovery code as the step-up; old codes stop working', async () => {
    const { user, secret, recoveryCodes } = await memberWithApp()
    const token = await apiSignIn2fa(user.email, secret)
    const res = await apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: { code: recoveryCodes[1] }, token })
    expect(res.status).toBe(200)
    expect(res.body.data.backupCodes).toHaveLength(10)
    expect(res.body.data.backupCodes).not.toContain(recoveryCodes[2])
    expectError(await apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: { code: recoveryCodes[2] }, token }), 400, 'invalid_code')
  })

  it('lists and removes security keys with a code; another member’s key is 404', async () => {
    const { user, secret } = await memberWithApp()
    const [key] = await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: randomToken(16), publicKey: randomToken(32), label: 'YubiKey 5C' }).returning()
    const other = await createUser()
    const [foreign] = await db.insert(schema.webauthnCredentials).values({ userId: other.id, credentialId: randomToken(16), publicKey: randomToken(32), label: 'Not yours' }).returning()
    const token = await apiSignIn2fa(user.email, secret)
    await forgetTotpStep(user.id)
    const list = await apiCall(base, '/api/auth/webauthn/credentials', { token })
    expect(list.body.data.credentials).toEqual([{ id: key.id, name: 'YubiKey 5C', createdAt: expect.any(String), lastUsedAt: null, kind: 'security_key' }])
    expectError(await apiCall(base, `/api/auth/webauthn/credentials/${foreign.id}`, { method: 'DELETE', json: { code: await totpCode(secret) }, token }), 404, 'not_found')
    expectError(await apiCall(base, `/api/auth/webauthn/credentials/${key.id}`, { method: 'DELETE', json: { code: '000000' }, token }), 400, 'invalid_code')
    const removed = await apiCall(base, `/api/auth/webauthn/credentials/${key.id}`, { method: 'DELETE', json: { code: await totpCode(secret) }, token })
    expect(removed.body).toEqual({ data: { removed: true } })
    expect((await apiCall(base, '/api/auth/webauthn/credentials', { token })).body.data.credentials).toEqual([])
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.id, foreign.id))).toHaveLength(1)
  })

  it('under Required, the last allowed factor cannot be removed (API and web alike)', async () => {
    const { org, user, secret } = await memberWithApp()
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const [key] = await db.insert(schema.webauthnCredentials).values({ userId: user.id, credentialId: randomToken(16), publicKey: randomToken(32), label: 'Backup key' }).returning()
    const token = await apiSignIn2fa(user.email, secret)
    await forgetTotpStep(user.id)
    // Turning everything off would leave no allowed factor: refused before any code is used.
    const off = await apiCall(base, '/api/auth/2fa/disable', { json: { code: await totpCode(secret), password: PASSWORD }, token })
    expectError(off, 409, 'conflict')
    expect(off.body.error.message).toMatch(/cannot be turned off: .* requires two-factor authentication/)
    // The key may go: the app stays.
    const removed = await apiCall(base, `/api/auth/webauthn/credentials/${key.id}`, { method: 'DELETE', json: { code: await totpCode(secret) }, token })
    expect(removed.status, JSON.stringify(removed.body)).toBe(200)
    // The web refuses the same, through the same rule.
    const { TestClient } = await import('#tests/setup/http.ts')
    const { signInAs } = await import('#tests/factories/security.ts')
    const client = new TestClient(base)
    await signInAs(client, user.id)
    const page = await client.post('/settings/security/totp', { intent: 'remove' })
    expect(page.status).toBe(409)
    expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))).toHaveLength(1)
  })

  it('needs a member’s session: no token is 401, an API key is 403', async () => {
    expectError(await apiCall(base, '/api/auth/2fa/status'), 401, 'unauthorized')
    expectError(await verify({ code: '123456' }), 401, 'unauthorized')
    const admin = await apiSignIn(base, 'owner@acme.test')
    await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.channel, 'api'))
    const acme = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
    const bot = (await db.select().from(schema.users).where(eq(schema.users.email, 'ci-bot@acme.test')))[0]
    const key = await apiCall(base, `/api/organizations/${acme.id}/api-keys`, { json: { serviceAccountId: bot.id, name: 'ci', scopes: ['policy:read'] }, token: admin })
    expect(key.status).toBe(201)
    expectError(await apiCall(base, '/api/auth/2fa/status', { token: key.body.data.key }), 403, 'forbidden')
    expectError(await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token: key.body.data.key }), 403, 'forbidden')
  })
})

/** Moves the deadline into the past by changing data (never the clock). */
async function joinedLongAgo(userId: string) {
  await db.update(schema.memberships).set({ joinedAt: new Date(Date.now() - 30 * 86_400_000) }).where(eq(schema.memberships.userId, userId))
}

/** Signs in over the API with the app; leaves the replay guard as the sign-in set it. */
async function apiSignIn2fa(email: string, secret: string) {
  const { challengeId } = (await signin(email)).body.data
  const done = await verify({ challengeId, code: await totpCode(secret), method: 'totp' })
  if (done.status !== 200) throw new Error(JSON.stringify(done.body))
  return done.body.data.token as string
}
