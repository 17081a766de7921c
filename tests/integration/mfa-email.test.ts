/** Email codes and links, notices with the freeze link, resets and password reset — through real SMTP. */
import { eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { auditOf, enableTotp, totpCode, userById } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

async function pendingClient(email: string) {
  const client = new TestClient(base)
  const res = await signIn(client, email)
  expect(res.headers.get('location')).toBe('/login/verify')
  return client
}

describe('email code at sign-in', () => {
  it('sends a 6-digit code, stored hashed, that signs in once; a new one at most once a minute', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await pendingClient(user.email)
    expect((await client.text('/login/verify?method=email')).html).toContain('Send the code')
    const since = Date.now()
    const sent = await client.post('/login/verify', { intent: 'email_send' })
    expect(sent.status).toBe(200)
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    const code = mail.text.match(/Your sign-in code is (\d{6})/)![1]
    const [row] = await db.select().from(schema.verifications).where(eq(schema.verifications.purpose, 'email_code')).orderBy(sql`created_at desc`).limit(1)
    expect(row.codeHash).not.toContain(code)
    expect(JSON.stringify(await db.select().from(schema.outboundEmails))).not.toContain(code)

    const again = await client.post('/login/verify', { intent: 'email_send' })
    expect(again.status).toBe(429)
    expect(await again.text()).toContain('You can ask for a new one in')

    const wrong = await client.post('/login/verify', { intent: 'email', code: code === '000000' ? '111111' : '000000' })
    expect(wrong.status).toBe(400)
    expect(await wrong.text()).toContain('4 tries left')
    const ok = await client.post('/login/verify', { intent: 'email', code })
    expect(ok.status).toBe(302)
    expect(client.cookies.has('gh_session')).toBe(true)
    expect((await auditOf(user.id))).toContainEqual(expect.objectContaining({ action: 'auth.login_success_2fa', details: expect.objectContaining({ method: 'email' }) }))
  })

  it('an expired code is refused and changes nothing', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const since = Date.now()
    await client.post('/login/verify', { intent: 'email_send' })
    const code = (await smtp.waitFor(user.email, { subject: /sign-in code/, since })).text.match(/code is (\d{6})/)![1]
    await db.update(schema.verifications).set({ expiresAt: sql`now() - interval '1 second'` }).where(eq(schema.verifications.purpose, 'email_code'))
    const res = await client.post('/login/verify', { intent: 'email', code })
    expect(res.status).toBe(400)
    expect(await res.text()).toContain('expired')
    expect(client.cookies.has('gh_session')).toBe(false)
  })

  it('the email link opens a confirm page (GET changes nothing) that completes only the browser holding the sign-in', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await pendingClient(user.email)
    const since = Date.now()
    await client.post('/login/verify', { intent: 'email_send' })
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    const path = new URL(mail.text.match(/(https?:\/\/\S+\/login\/email\/\S+)/)![1]).pathname
    const code = mail.text.match(/code is (\d{6})/)![1]

    const scanner = new TestClient(base)
    const page = await scanner.text(path)
    expect(page.status).toBe(200)
    expect(page.html).toContain('Continue signing in')
    expect((await scanner.text(path)).html).toContain('Continue signing in') // still valid after GETs
    const elsewhere = await scanner.post(path, {})
    expect(elsewhere.status).toBe(403)
    expect(await elsewhere.text()).toContain('Open this link in the browser where you started signing in')
    expect(scanner.cookies.has('gh_session')).toBe(false)

    const done = await client.post(path, {})
    expect(done.status).toBe(302)
    expect(client.cookies.has('gh_session')).toBe(true)
    // The link used up the code too.
    const other = await pendingClient(user.email)
    expect((await other.post('/login/verify', { intent: 'email', code })).status).toBe(400)
    expect((await client.post(path, {})).status).toBe(400)
  })
})

describe('after a support reset', () => {
  it('asks for an email code even with no factor, then clears the reset marker', async () => {
    const user = await createUser()
    await db.update(schema.users).set({ mfaResetAt: sql`now()` }).where(eq(schema.users.id, user.id))
    const client = await pendingClient(user.email)
    const page = await client.text('/login/verify')
    expect(page.html).toContain('was reset')
    expect(page.html).not.toContain('Use a recovery code')
    expect((await client.post('/login/verify', { intent: 'totp', code: '123456' })).status).toBe(403)
    // The code went out when the password step landed the member on the email step (decision 071).
    expect(page.html).toContain('We sent a 6-digit code')
    const code = (await smtp.waitFor(user.email, { subject: /sign-in code/ })).text.match(/code is (\d{6})/)![1]
    expect((await client.post('/login/verify', { intent: 'email', code })).status).toBe(302)
    expect((await userById(user.id)).mfaResetAt).toBeNull()
    await client.post('/logout', {})
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/')
  })

  it('in a Disabled region nothing is asked, not even the reset email code; the marker waits for a later sign-in', async () => {
    const org = await createOrg({ name: 'Offco' })
    await db.update(schema.regionPolicies).set({ mode: 'disabled' }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org })
    await db.update(schema.users).set({ mfaResetAt: sql`now()` }).where(eq(schema.users.id, user.id))
    const client = new TestClient(base)
    const res = await signIn(client, user.email)
    expect(res.headers.get('location')).toBe('/')
    expect(client.cookies.has('gh_session')).toBe(true)
    expect((await userById(user.id)).mfaResetAt).toBeInstanceOf(Date)
    // The region turns Optional: now the reset email code is owed.
    await db.update(schema.regionPolicies).set({ mode: 'optional' }).where(eq(schema.regionPolicies.organizationId, org.id))
    await client.post('/logout', {})
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/login/verify')
  })

  it('during a Required grace period without an allowed factor: the email code, then the grace prompt', async () => {
    const org = await createOrg({ name: 'Graceco' })
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: new Date(), gracePeriodDays: 7 }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org })
    await db.update(schema.users).set({ mfaResetAt: sql`now()` }).where(eq(schema.users.id, user.id))
    const client = await pendingClient(user.email)
    expect((await client.text('/login/verify')).html).toContain('was reset')
    // Sent by the password step, which lands the member on the email step (decision 071).
    const code = (await smtp.waitFor(user.email, { subject: /sign-in code/ })).text.match(/code is (\d{6})/)![1]
    const done = await client.post('/login/verify', { intent: 'email', code })
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe('/login/grace?redirectTo=%2F')
    const prompt = await client.text('/login/grace?redirectTo=%2F')
    expect(prompt.status).toBe(200)
    expect(prompt.html).toContain('Graceco')
    expect((await userById(user.id)).mfaResetAt).toBeNull()
    // Next time, without the reset marker: password, then the grace prompt as for anyone in grace.
    await client.post('/logout', {})
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/login/grace?redirectTo=%2F')
  })
})

describe('factor-added notice', () => {
  it('carries a "this wasn\'t me" link whose confirm page locks the account, visible to support', async () => {
    const user = await createUser()
    const since = Date.now()
    const signedIn = new TestClient(base)
    await signIn(signedIn, user.email)
    await enableTotp(user.id)
    const mail = await smtp.waitFor(user.email, { subject: /was added/, since })
    expect(mail.text).toContain('an authenticator app was added')
    const path = new URL(mail.text.match(/(https?:\/\/\S+\/freeze\/\S+)/)![1]).pathname
    const visitor = new TestClient(base)
    expect((await visitor.text(path)).html).toContain('Freeze my account')
    expect((await userById(user.id)).lockedUntil).toBeNull()
    const res = await visitor.post(path, {})
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Your account is frozen')
    expect((await userById(user.id)).lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 86_400_000)
    expect((await signedIn.get('/')).status).toBe(302)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.account_frozen')
    const frozen = (await auditOf(user.id)).find((e) => e.action === 'auth.account_frozen')
    expect(frozen?.details).toMatchObject({ via: 'totp_added_notice' })
    expect((await visitor.post(path, {})).status).toBe(400)
  })
})

describe('password reset with a second factor', () => {
  it('does not finish with the mailbox alone when the member has an app', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = new TestClient(base)
    const since = Date.now()
    await client.post('/forgot-password', { region: 'us', email: user.email })
    const mail = await smtp.waitFor(user.email, { subject: /Reset your Gatehouse password/, since })
    const path = new URL(mail.text.match(/(https?:\/\/\S+\/reset-password\/\S+)/)![1]).pathname
    expect((await client.text(path)).html).toContain('Authenticator app code')
    const password = 'a brand new long passphrase'
    const without = await client.post(path, { password, confirm: password })
    expect(without.status).toBe(400)
    const wrong = await client.post(path, { password, confirm: password, factorMethod: 'totp', factorCode: '000000' })
    expect(wrong.status).toBe(400)
    const before = (await userById(user.id)).passwordHash
    expect(before).toBe((await userById(user.id)).passwordHash)
    const ok = await client.post(path, { password, confirm: password, factorMethod: 'totp', factorCode: await totpCode(secret) })
    expect(ok.status).toBe(302)
    expect((await userById(user.id)).passwordHash).not.toBe(before)
  })
})
