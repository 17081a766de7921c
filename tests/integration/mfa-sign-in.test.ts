/** The two-step sign-in with an app and recovery codes, over real HTTP, PostgreSQL and Redis. */
import { and, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { createUser, PASSWORD } from '#tests/factories/users.ts'
import { auditOf, enableTotp, forgetTotpStep, outboundOf, totpCode, userById } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import { signInAs } from '#tests/factories/security.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

async function pendingClient(email: string) {
  const client = new TestClient(base, { 'user-agent': 'Mozilla/5.0 (X11; Linux x86_64) Chrome/130.0 Safari/537.36' })
  const res = await signIn(client, email)
  expect(res.status).toBe(302)
  expect(res.headers.get('location')).toBe('/login/verify')
  expect(client.cookies.has('gh_session')).toBe(false)
  expect(client.cookies.has('gh_pending')).toBe(true)
  return client
}

describe('enrolling an authenticator app through the pages', () => {
  it('shows a QR code and the secret, enables with a current code, encrypts the secret, issues 10 recovery codes', async () => {
    const user = await createUser()
    const client = new TestClient(base)
    await signIn(client, user.email)
    const page = await client.text('/settings/security/totp')
    expect(page.status).toBe(200)
    expect(page.html).toContain('data:image/png;base64')
    expect(page.html).toContain("Can&#x27;t scan?")
    expect(page.html).toContain('Gatehouse (US)')
    const secret = page.html.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)![1].replaceAll(' ', '')

    const wrong = await client.post('/settings/security/totp', { intent: 'confirm', code: '000000' })
    expect(wrong.status).toBe(400)
    expect(await wrong.text()).toContain('That code is not right')
    expect((await userById(user.id)).mfaEnabledAt).toBeNull()

    const ok = await client.post('/settings/security/totp', { intent: 'confirm', code: await totpCode(secret) })
    expect(ok.status).toBe(200)
    const html = await ok.text()
    const codes = [...html.matchAll(/<code class="secret">([a-z2-9]{4}-[a-z2-9]{4})<\/code>/g)].map((m) => m[1])
    expect(codes).toHaveLength(10)
    expect(html).toContain('Download .txt')
    expect(html).toContain('I&#x27;ve saved my codes')

    const [row] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(row.confirmedAt).toBeTruthy()
    expect(row.secretCiphertext).not.toContain(secret)
    expect(row.keyId).toBe('t1')
    const stored = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
    expect(stored).toHaveLength(10)
    for (const r of stored) expect(r.codeHash).toMatch(/^\$argon2id\$/)
    expect(JSON.stringify(stored)).not.toContain(codes[0])
    const fresh = await userById(user.id)
    expect(fresh.mfaEnabledAt).toBeTruthy()
    expect(fresh.preferredMethod).toBe('totp')
    const actions = (await auditOf(user.id)).map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['auth.totp_enabled', 'auth.recovery_codes_generated']))
    expect((await outboundOf(user.id)).map((m) => m.template)).toContain('factor_added')

    // The security page shows it.
    const security = await client.text('/settings/security')
    expect(security.html).toContain('10 of 10 left')
    expect(security.html).toMatch(/badge ok">On/)
  })
})

describe('signing in with an authenticator app', () => {
  it('is not signed in after the password; a right code starts an MFA session; the code cannot be replayed', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const page = await client.text('/login/verify')
    expect(page.status).toBe(200)
    for (const link of ['Use a recovery code', 'Use email verification instead']) expect(page.html).toContain(link)
    expect(page.html).not.toContain('Use a security key')
    expect(page.html).toMatch(/autocomplete="one-time-code"/i)
    expect(page.html).toMatch(/inputmode="numeric"/i)
    // Still not signed in.
    expect((await client.get('/')).headers.get('location')).toMatch(/^\/login/)

    const wrong = await client.post('/login/verify', { intent: 'totp', code: '000000' })
    expect(wrong.status).toBe(400)
    const code = await totpCode(secret)
    const ok = await client.post('/login/verify', { intent: 'totp', code })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/')
    expect(client.cookies.has('gh_session')).toBe(true)
    expect(client.cookies.has('gh_pending')).toBe(false)
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))
    expect(session.level).toBe('mfa')
    expect(session.secondFactorMethod).toBe('totp')
    const events = await auditOf(user.id)
    expect(events).toContainEqual(expect.objectContaining({ action: 'auth.mfa_failed', details: expect.objectContaining({ method: 'totp' }) }))
    expect(events).toContainEqual(expect.objectContaining({ action: 'auth.login_success_2fa', details: expect.objectContaining({ method: 'totp' }) }))
    const [factor] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(factor.lastUsedAt).toBeTruthy()

    // The same code again, in a new sign-in: refused, recorded, reported.
    const again = await pendingClient(user.email)
    const replay = await again.post('/login/verify', { intent: 'totp', code })
    expect(replay.status).toBe(400)
    expect(await replay.text()).toContain('That code was already used')
    expect(again.cookies.has('gh_session')).toBe(false)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.totp_replay_refused')
    expect((await outboundOf(user.id)).map((m) => m.template)).toContain('totp_replay')
  })

  it('refuses malformed and too-long codes with 400 without counting them, and five wrong codes end the pending sign-in', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    for (const code of ['12', 'abcdef', '9'.repeat(5000)]) {
      const res = await client.post('/login/verify', { intent: 'totp', code })
      expect(res.status).toBe(400)
    }
    const bad = await client.post('/login/verify', { intent: 'nonsense', code: '123456' })
    expect(bad.status).toBe(400)
    for (let i = 0; i < 4; i++) expect((await client.post('/login/verify', { intent: 'totp', code: '000000' })).status).toBe(400)
    const fifth = await client.post('/login/verify', { intent: 'totp', code: '000000' })
    expect(fifth.status).toBe(400)
    expect(await fifth.text()).toContain('this sign-in has ended')
    // Even the right code no longer works: the pending sign-in is over.
    const late = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(late.status).toBe(401)
    expect(client.cookies.has('gh_session')).toBe(false)
    const [row] = await db.select({ failed: schema.users.failedAttempts }).from(schema.users).where(eq(schema.users.id, user.id))
    expect(row.failed).toBe(5)
  })

  it('a tampered or foreign pending cookie gets a 4xx and changes nothing', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const before = await db.select().from(schema.verifications).where(eq(schema.verifications.userId, user.id))
    const forged = new TestClient(base)
    forged.cookies.set('gh_pending', client.cookies.get('gh_pending')!.slice(0, -2) + 'AA')
    const res = await forged.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    expect(res.status).toBe(401)
    expect(forged.cookies.has('gh_session')).toBe(false)
    expect((await forged.text('/login/verify')).html).toContain('Your sign-in has expired')
    const after = await db.select().from(schema.verifications).where(eq(schema.verifications.userId, user.id))
    expect(after).toEqual(before)
    const [factor] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))
    expect(factor.lastUsedStep).toBeNull()
    // The pending id is stored hashed only.
    expect(JSON.stringify(after)).not.toContain(decodeURIComponent(client.cookies.get('gh_pending')!))
  })

  it('refuses a method the member does not have, checked on the server', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const res = await client.post('/login/verify', { intent: 'webauthn_options' })
    expect(res.status).toBe(403)
  })
})

describe('recovery codes at sign-in', () => {
  it('accept a code in any case, with or without the hyphen, once; count down; notify', async () => {
    const user = await createUser()
    const { recoveryCodes } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    expect((await client.text('/login/verify?method=recovery_code')).html).toContain('Recovery code')
    const ok = await client.post('/login/verify', { intent: 'recovery_code', code: recoveryCodes[0].replace('-', '').toUpperCase() })
    expect(ok.status).toBe(302)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.login_success_backup_code')
    expect((await outboundOf(user.id)).map((m) => m.template)).toContain('recovery_code_used')

    const again = await pendingClient(user.email)
    const reused = await again.post('/login/verify', { intent: 'recovery_code', code: recoveryCodes[0] })
    expect(reused.status).toBe(400)
    expect(await reused.text()).toContain('not right or was already used')
    const left = await db.select().from(schema.recoveryCodes).where(and(eq(schema.recoveryCodes.userId, user.id), sql`used_at is null`))
    expect(left).toHaveLength(9)
  })
})

describe('remember this device', () => {
  it('skips the second step on that browser, never counts for step-up, and can be revoked', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const ok = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret), remember: 'on' })
    expect(ok.status).toBe(302)
    expect(client.cookies.has('gh_device')).toBe(true)
    const [device] = await db.select().from(schema.trustedDevices).where(eq(schema.trustedDevices.userId, user.id))
    expect(device.label).toBe('Chrome on Linux')
    expect(device.method).toBe('totp')
    expect(device.tokenHash).not.toContain(decodeURIComponent(client.cookies.get('gh_device')!))
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.trusted_device_added')

    await client.post('/logout', {})
    const direct = await signIn(client, user.email)
    expect(direct.headers.get('location')).toBe('/')
    expect(client.cookies.has('gh_session')).toBe(true)
    // Signed in by a trusted device: removing the app still asks for a fresh factor.
    const remove = await client.post('/settings/security/totp', { intent: 'remove' })
    expect(remove.status).toBe(302)
    expect(remove.headers.get('location')).toMatch(/^\/settings\/security\/confirm\?redirectTo=/)

    const devices = await client.text('/settings/security/devices')
    expect(devices.html).toContain('Chrome on Linux')
    const revoke = await client.post('/settings/security/devices', { intent: 'revoke', deviceId: device.id })
    expect(revoke.status).toBe(200)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.trusted_device_revoked')
    await client.post('/logout', {})
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/login/verify')
  })

  it('is never offered to or honoured for staff', async () => {
    const staff = await createUser({ platformRole: 'support' })
    const { secret } = await enableTotp(staff.id)
    const client = await pendingClient(staff.email)
    expect((await client.text('/login/verify')).html).not.toContain('Remember this device')
    const ok = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret), remember: 'on' })
    expect(ok.status).toBe(302)
    expect(client.cookies.has('gh_device')).toBe(false)
  })
})

describe('step-up and removing factors', () => {
  it('needs a fresh second factor; removing the last factor turns 2FA off, deletes codes and devices', async () => {
    const user = await createUser()
    const { secret, recoveryCodes } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret), remember: 'on' })
    // Five minutes later (moved by data): the login factor no longer counts.
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(schema.sessions.userId, user.id))
    const first = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    expect(first.status).toBe(302)
    const confirm = first.headers.get('location')!
    // The change comes back through step-up, ready to finish (decision 072).
    const back = `/settings/security/recovery-codes?${new URLSearchParams({ resume: JSON.stringify({ intent: 'regenerate', values: {} }) })}`
    expect(confirm).toBe(`/settings/security/confirm?redirectTo=${encodeURIComponent(back)}`)
    const page = await client.text(confirm)
    expect(page.html).toContain('Confirm it’s you')
    expect(page.html).not.toContain('Use email verification instead')
    // Email is refused for step-up when the member has an app, on the server too.
    expect((await client.post(confirm, { intent: 'email_send' })).status).toBe(403)
    const stepped = await client.post(confirm, { intent: 'recovery_code', code: recoveryCodes[1] })
    expect(stepped.status).toBe(302)
    expect(stepped.headers.get('location')).toBe(back)
    expect((await client.text(back)).html).toContain('Finish your change')
    const regen = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    expect(regen.status).toBe(200)
    expect([...(await regen.text()).matchAll(/<code class="secret">/g)]).toHaveLength(10)

    const removed = await client.post('/settings/security/totp', { intent: 'remove' })
    expect(removed.status).toBe(302)
    const fresh = await userById(user.id)
    expect(fresh.mfaEnabledAt).toBeNull()
    expect(await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))).toHaveLength(0)
    expect(await db.select().from(schema.trustedDevices).where(eq(schema.trustedDevices.userId, user.id))).toHaveLength(0)
    const actions = (await auditOf(user.id)).map((e) => e.action)
    expect(actions).toContain('auth.totp_disabled')
    expect((await outboundOf(user.id)).map((m) => m.template)).toContain('mfa_disabled')
    // Password alone again.
    await client.post('/logout', {})
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/')
  })

  it('turning 2FA off needs the password as well as step-up', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    const wrong = await client.post('/settings/security', { intent: 'turn_off', password: 'not it' })
    expect(wrong.status).toBe(400)
    expect((await userById(user.id)).mfaEnabledAt).toBeTruthy()
    const ok = await client.post('/settings/security', { intent: 'turn_off', password: PASSWORD })
    expect(ok.status).toBe(302)
    expect((await userById(user.id)).mfaEnabledAt).toBeNull()
  })

  it('adding a second factor when one exists needs step-up', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pendingClient(user.email)
    await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '10 minutes'` }).where(eq(schema.sessions.userId, user.id))
    const res = await client.post('/settings/security/keys', { intent: 'webauthn_options', label: 'YubiKey 5' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toMatch(/^\/settings\/security\/confirm/)
  })
})

describe('staff and resets', () => {
  it('staff without an app or key prove the mailbox, then get an enrollment-only session that reaches only enrollment', async () => {
    const staff = await createUser({ platformRole: 'support' })
    const client = new TestClient(base)
    const res = await signIn(client, staff.email)
    // A password alone must not let anyone plant a factor on a staff account: the mailbox first.
    expect(res.headers.get('location')).toBe('/login/verify')
    const verify = await client.text('/login/verify')
    // Email first: the code went out with the password step (decision 071).
    expect(verify.html).toContain('We sent a 6-digit code')
    expect(verify.html).not.toContain('Use authenticator app')
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, staff.id))).toHaveLength(0)
    // The email-code step itself is covered in mfa-email.test.ts; here the session it leads to.
    await signInAs(client, staff.id, { level: 'enroll_only' })
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, staff.id))
    expect(session.level).toBe('enroll_only')
    expect((await client.get('/')).headers.get('location')).toBe('/enroll')
    expect((await client.get('/settings/security/devices')).headers.get('location')).toBe('/enroll')
    const hub = await client.text('/enroll')
    expect(hub.html).toContain('Authenticator app')
    // Enrolling replaces the session with a fresh MFA one.
    const page = await client.text('/settings/security/totp')
    const secret = page.html.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)![1].replaceAll(' ', '')
    const old = client.cookies.get('gh_session')
    const done = await client.post('/settings/security/totp', { intent: 'confirm', code: await totpCode(secret) })
    expect(done.status).toBe(200)
    expect(client.cookies.get('gh_session')).not.toBe(old)
    const sessions = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, staff.id))
    expect(sessions.map((s) => s.level).sort()).toEqual(['enroll_only', 'mfa'])
    const old2 = sessions.find((s) => s.level === 'enroll_only')!
    expect(old2.absoluteExpiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 61_000)
    expect((await client.get('/')).status).toBe(200)
  })
})

describe('security page details', () => {
  it('warns at 3 or fewer recovery codes, saves the preferred method, forgets all devices at once', async () => {
    const user = await createUser()
    const { secret, recoveryCodes } = await enableTotp(user.id)
    for (const code of recoveryCodes.slice(0, 7)) {
      const client = await pendingClient(user.email)
      expect((await client.post('/login/verify', { intent: 'recovery_code', code, remember: 'on' })).status).toBe(302)
    }
    const client = await pendingClient(user.email)
    await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret), remember: 'on' })
    const page = await client.text('/settings/security')
    expect(page.html).toContain('Running low')
    expect(page.html).toMatch(/3 of 10 left/)
    // The remembered device is listed at a glance, with its browser.
    expect(page.html).toContain('Chrome on Linux')
    expect((await outboundOf(user.id)).filter((m) => m.template === 'recovery_code_used').map((m) => m.params.low)).toContain(true)
    // Recovery codes never earn a remembered device; the app did.
    expect(await db.select().from(schema.trustedDevices).where(eq(schema.trustedDevices.userId, user.id))).toHaveLength(1)
    expect((await client.post('/settings/security', { intent: 'preferred', method: 'webauthn' })).status).toBe(400)
    expect((await client.post('/settings/security', { intent: 'preferred', method: 'email' })).status).toBe(200)
    expect((await userById(user.id)).preferredMethod).toBe('email')
    // The next sign-in opens on the chosen method (the others stay one link away).
    const next = await (await pendingClient(user.email)).text('/login/verify')
    // Email first: the code is already sent when the member lands on it (decision 071).
    expect(next.html).toContain('We sent a 6-digit code')
    expect(next.html).toContain('Send a new code')
    expect(next.html).toContain('Use authenticator app')
    const all = await client.post('/settings/security/devices', { intent: 'revoke_all' })
    expect(all.status).toBe(200)
    expect(await db.select().from(schema.trustedDevices).where(eq(schema.trustedDevices.userId, user.id))).toHaveLength(0)
  })
})

describe('security key form input', () => {
  it('refuses a missing or too-long key name and a malformed response with 400, storing nothing', async () => {
    const user = await createUser()
    const client = new TestClient(base)
    await signIn(client, user.email)
    const forms: Record<string, string>[] = [
      { intent: 'webauthn_options', label: '' },
      { intent: 'webauthn_options', label: 'x'.repeat(61) },
      { intent: 'webauthn', label: 'Key', challengeId: 'not-a-uuid', response: '{}' },
      { intent: 'webauthn', label: 'Key', challengeId: '8f1c1a2e-1111-4111-8111-111111111111', response: 'x'.repeat(30_000) },
      { intent: 'webauthn', label: 'Key', challengeId: '8f1c1a2e-1111-4111-8111-111111111111', response: '{"id":"abc","response":{}}' },
    ]
    for (const form of forms) {
      const res = await client.post('/settings/security/keys', form)
      expect(res.status).toBe(400)
    }
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))).toHaveLength(0)
    expect((await userById(user.id)).mfaEnabledAt).toBeNull()
  })
})

describe('failed second factors', () => {
  it('after 10 failures in an hour the member is emailed once', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    for (let round = 0; round < 3; round++) {
      const client = await pendingClient(user.email)
      for (let i = 0; i < 4; i++) await client.post('/login/verify', { intent: 'totp', code: '000000' })
    }
    const mails = (await outboundOf(user.id)).filter((m) => m.template === 'mfa_failures')
    expect(mails).toHaveLength(1)
  })
})
