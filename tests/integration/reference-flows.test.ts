/**
 * The reference pages' own sign-in flows on the web and the API (decision 071), through the real
 * server and the real SMTP listener: the email code sent when the member lands on the email step
 * (with the once-a-minute limit and when the next one may be asked for), backup codes for members
 * whose only factor is email, and "No recovery codes left" with the other ways.
 */
import { and, count, eq, isNull, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { auditOf, enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

const codeFrom = (text: string) => text.match(/code is (\d{6})/)![1]
const emailCodes = async (userId: string) =>
  (await db.select({ n: count() }).from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'email_code'))))[0].n

/** A member whose only factor is email: their organization requires a second factor and allows email. */
async function emailOnlyMember() {
  const org = await createOrg()
  await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
  return createUser({ org })
}

/** The page's text as a reader sees it (React's text separators removed). */
const visible = (html: string) => html.replaceAll('<!-- -->', '')

async function pending(email: string) {
  const client = new TestClient(base)
  const res = await signIn(client, email)
  expect(res.headers.get('location')).toBe('/login/verify')
  return client
}

describe('the email code is sent when the member lands on the email step', () => {
  it('email first: the password step sends it; the page says when a new one may be asked for; a resend within the minute is refused', async () => {
    const user = await emailOnlyMember()
    const client = await pending(user.email)
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/ })
    const page = await client.text('/login/verify')
    page.html = visible(page.html)
    expect(page.html).toContain(`We sent a 6-digit code to ${user.email}`)
    // The server's time for the next resend: the code's creation plus one minute.
    const [row] = await db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'email_code')))
    const resendAt = new Date(row.createdAt.getTime() + 60_000).toISOString()
    expect(page.html).toContain(`You can ask for a new code after <time dateTime="${resendAt}">${resendAt.slice(11, 19)} UTC</time>`)
    const again = await client.post('/login/verify', { intent: 'email_send' })
    expect(again.status).toBe(429)
    expect(await again.text()).toContain('You can ask for a new one in')
    expect(await emailCodes(user.id)).toBe(1)
    const done = await client.post('/login/verify', { intent: 'email', code: codeFrom(mail.text) })
    expect(done.status).toBe(302)
    expect(client.cookies.has('gh_session')).toBe(true)
  })

  it('"Use email verification instead" sends a code in one step; landing again within the minute sends no second one', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await pending(user.email)
    const page = await client.text('/login/verify')
    expect(page.html).toContain('Use email verification instead')
    // An app comes first: nothing was emailed yet.
    expect(await emailCodes(user.id)).toBe(0)
    const since = Date.now()
    const landed = await client.post('/login/verify?method=email', { intent: 'email_step' })
    expect(landed.status).toBe(200)
    const html = visible(await landed.text())
    expect(html).toContain(`We sent a 6-digit code to ${user.email}`)
    expect(html).toMatch(/You can ask for a new code after <time dateTime="[^"]+">\d\d:\d\d:\d\d UTC<\/time>/)
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    expect((await client.post('/login/verify?method=email', { intent: 'email_step' })).status).toBe(200)
    expect(await emailCodes(user.id)).toBe(1)
    expect((await client.post('/login/verify', { intent: 'email_send' })).status).toBe(429)
    expect((await client.post('/login/verify', { intent: 'email', code: codeFrom(mail.text) })).status).toBe(302)
  })

  it('bad input: landing on the email step where email is not offered is 403 and sends nothing', async () => {
    const org = await createOrg()
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org })
    await enableTotp(user.id)
    const client = await pending(user.email)
    expect((await client.text('/login/verify')).html).not.toContain('Use email verification instead')
    const res = await client.post('/login/verify?method=email', { intent: 'email_step' })
    expect(res.status).toBe(403)
    expect(await emailCodes(user.id)).toBe(0)
  })
})

describe('backup codes for a member whose only factor is email', () => {
  it('generated after a fresh email code, shown once, stored hashed, offered and accepted at sign-in', async () => {
    const user = await emailOnlyMember()
    const client = await pending(user.email)
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/ })
    expect((await client.post('/login/verify', { intent: 'email', code: codeFrom(mail.text) })).status).toBe(302)
    expect((await client.text('/settings/security')).html).toContain('Get backup codes')
    expect((await client.text('/settings/security/recovery-codes')).html).toContain('Generate backup codes')
    const made = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    expect(made.status).toBe(200)
    const codes = [...(await made.text()).matchAll(/<code class="secret">([2-9a-z]{4}-[2-9a-z]{4})<\/code>/g)].map((m) => m[1])
    expect(new Set(codes).size).toBe(10)
    const stored = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
    expect(stored).toHaveLength(10)
    expect(JSON.stringify(stored)).not.toContain(codes[0].replace('-', ''))
    expect((await client.text('/settings/security/recovery-codes')).html).not.toContain(codes[0])

    const next = await pending(user.email)
    const page = await next.text('/login/verify')
    expect(page.html).toContain('Use a recovery code')
    const wrong = await next.post('/login/verify', { intent: 'recovery_code', code: 'aaaa-aaaa' })
    expect(wrong.status).toBe(400)
    const done = await next.post('/login/verify', { intent: 'recovery_code', code: codes[0].toUpperCase() })
    expect(done.status).toBe(302)
    expect(next.cookies.has('gh_session')).toBe(true)
    expect(await auditOf(user.id)).toContainEqual(expect.objectContaining({ action: 'auth.login_success_backup_code' }))
    // Used once: refused the next time.
    const third = await pending(user.email)
    expect((await third.post('/login/verify', { intent: 'recovery_code', code: codes[0] })).status).toBe(400)
  })

  it('a session without a fresh second factor is sent to the step-up page and gets no codes', async () => {
    // Optional policy, email only: the password alone signs in, so the session never passed a factor.
    const org = await createOrg()
    const user = await createUser({ org })
    const client = new TestClient(base)
    expect((await signIn(client, user.email)).headers.get('location')).toBe('/')
    const res = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toMatch(/^\/settings\/security\/confirm/)
    expect(await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))).toEqual([])
  })

  it('over the API: with a fresh email code the token gets codes without `code`; later it needs a recovery code', async () => {
    const user = await emailOnlyMember()
    const since = Date.now()
    const signedIn = (await apiCall(base, '/api/auth/signin', { json: { email: user.email, password: 'correct horse battery staple', region: 'us' } })).body.data
    // Email first: the sign-in sent the code (decision 081).
    expect(signedIn).toMatchObject({ method: 'email', emailCodeSent: true })
    const { challengeId } = signedIn
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    const token = (await apiCall(base, '/api/auth/2fa/verify', { json: { challengeId, code: codeFrom(mail.text), method: 'email' } })).body.data.token
    const made = await apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: {}, token })
    expect(made.status, JSON.stringify(made.body)).toBe(200)
    expect(made.body.data.backupCodes).toHaveLength(10)
    // Five minutes later the session's factor is stale: a recovery code is the step-up.
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '10 minutes'` }).where(eq(schema.sessions.userId, user.id))
    const stale = await apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: {}, token })
    expect(stale.status).toBe(403)
    expect(stale.body.error.code).toBe('step_up_required')
    const again = await apiCall(base, '/api/auth/2fa/backup-codes/regenerate', { json: { code: made.body.data.backupCodes[0] }, token })
    expect(again.status).toBe(200)
    expect(again.body.data.backupCodes).not.toContain(made.body.data.backupCodes[1])
    const status = await apiCall(base, '/api/auth/2fa/status', { token })
    expect(status.body.data).toMatchObject({ enabled: false, backupCodesRemaining: 10 })
  })
})

describe('no recovery codes left', () => {
  it('the prompt says so with the other ways; a recovery code is refused with the same words (web and API)', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    await db.update(schema.recoveryCodes).set({ usedAt: sql`now()` }).where(and(eq(schema.recoveryCodes.userId, user.id), isNull(schema.recoveryCodes.usedAt)))
    const client = await pending(user.email)
    const page = await client.text('/login/verify')
    expect(page.html).toContain('No recovery codes left.')
    expect(page.html).toContain('Use email verification instead')
    expect(page.html).not.toContain('Use a recovery code')
    const refused = await client.post('/login/verify', { intent: 'recovery_code', code: 'abcd-efgh' })
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('No recovery codes left')

    const { challengeId, methods } = (await apiCall(base, '/api/auth/signin', { json: { email: user.email, password: 'correct horse battery staple', region: 'us' } })).body.data
    expect(methods).not.toContain('recovery_code')
    const api = await apiCall(base, '/api/auth/2fa/verify', { json: { challengeId, code: 'abcd-efgh', method: 'recovery_code' } })
    expect(api.status).toBe(403)
    expect(api.body.error.message).toContain('No recovery codes left. Use one of: totp, email')
  })

  it('is not said to a member who never had codes', async () => {
    const user = await emailOnlyMember()
    const client = await pending(user.email)
    expect((await client.text('/login/verify')).html).not.toContain('No recovery codes left')
  })
})

describe('the step-up page sends the email code when the member lands on it (decision 081)', () => {
  /** An email-only member signed in with the email code, whose factor is now stale: the confirm page for new backup codes. */
  async function staleEmailMember() {
    const user = await emailOnlyMember()
    const client = await pending(user.email)
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/ })
    expect((await client.post('/login/verify', { intent: 'email', code: codeFrom(mail.text) })).status).toBe(302)
    // Five minutes later (moved in the data, never a clock override) the sign-in's factor no longer counts.
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(schema.sessions.userId, user.id))
    const asked = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    const confirm = asked.headers.get('location')!
    expect(confirm).toMatch(/^\/settings\/security\/confirm\?/)
    return { user, client, confirm }
  }

  const stepUpCodes = async (userId: string) =>
    db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'email_code'), sql`${schema.verifications.target} like 'step_up:%'`))

  it('sends it on landing, once; a reload sends none; the page says when a new one may be asked for; the code confirms', async () => {
    const { user, client, confirm } = await staleEmailMember()
    expect(await stepUpCodes(user.id)).toEqual([])
    const since = Date.now()
    const page = await client.text(confirm)
    expect(page.status).toBe(200)
    const html = visible(page.html)
    expect(html).toContain(`We sent a 6-digit code to ${user.email}`)
    const [row] = await stepUpCodes(user.id)
    expect(row).toBeTruthy()
    const resendAt = new Date(row.createdAt.getTime() + 60_000).toISOString()
    expect(html).toContain(`You can ask for a new code after <time dateTime="${resendAt}">${resendAt.slice(11, 19)} UTC</time>`)
    const mail = await smtp.waitFor(user.email, { subject: /confirmation code/, since })

    // A reload keeps the code already sent; "Send a new code" within the minute is refused.
    expect((await client.text(confirm)).status).toBe(200)
    expect(await stepUpCodes(user.id)).toHaveLength(1)
    expect((await client.post(confirm, { intent: 'email_send' })).status).toBe(429)
    expect(await stepUpCodes(user.id)).toHaveLength(1)

    const done = await client.post(confirm, { intent: 'email', code: codeFrom(mail.text) })
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toMatch(/^\/settings\/security\/recovery-codes/)
  })

  it('after a minute, a reload with the code still live sends none; once it expired, landing sends a new one', async () => {
    const { user, client, confirm } = await staleEmailMember()
    await client.text(confirm)
    expect(await stepUpCodes(user.id)).toHaveLength(1)
    await db.update(schema.verifications).set({ createdAt: sql`created_at - interval '2 minutes'` }).where(eq(schema.verifications.userId, user.id))
    await client.text(confirm)
    expect(await stepUpCodes(user.id)).toHaveLength(1)
    await db.update(schema.verifications).set({ expiresAt: sql`now() - interval '1 second'` }).where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'email_code')))
    const page = visible((await client.text(confirm)).html)
    expect(page).toContain(`We sent a 6-digit code to ${user.email}`)
    expect(await stepUpCodes(user.id)).toHaveLength(2)
  })

  it('a member with an app lands on the app: nothing is emailed', async () => {
    const user = await createUser()
    const { secret } = await enableTotp(user.id)
    const client = await pending(user.email)
    expect((await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })).status).toBe(302)
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(schema.sessions.userId, user.id))
    const confirm = (await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })).headers.get('location')!
    const html = (await client.text(confirm)).html
    expect(html).toContain('Enter the 6-digit code from your authenticator app')
    expect(await emailCodes(user.id)).toBe(0)
  })
})
