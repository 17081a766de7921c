/**
 * Issue 4 #12: the invitation link lets a new member set a password "and, where the policy
 * requires it, enrol before anything else". Accepting signs the member in through the same
 * decision as the login form; the emailed link counts as proof of the mailbox (decision 050).
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { totpCode } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

const NEW_PASSWORD = 'a long new passphrase'
let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

/** An organization operating in US with `policy`, whose admin invites `email`; returns the link token. */
async function invited(email: string, policy: Partial<typeof schema.regionPolicies.$inferInsert>, name = 'Pied Piper') {
  const org = await createOrg({ name })
  await db.update(schema.regionPolicies).set(policy).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
  const admin = await createUser({ org, role: 'admin', email: `admin-${org.slug}@example.test` })
  const client = new TestClient(base)
  await signInAs(client, admin.id)
  const since = Date.now()
  const res = await client.post(`/orgs/${org.slug}/members`, { intent: 'invite', email, region: 'us', role: 'member' })
  expect(res.status).toBe(302)
  const mail = await smtp.waitFor(email, { subject: /invited to/, since })
  return { org, token: mail.text.match(/\/invite\/(\S+)/)![1] }
}

async function accept(token: string) {
  const client = new TestClient(base)
  const res = await client.post(`/invite/${token}`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
  return { client, res }
}

async function sessionLevel(client: TestClient) {
  const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, (await userOf(client)).id))
  return session?.level
}
async function userOf(client: TestClient) {
  const sessions = await db.select().from(schema.sessions)
  const token = client.cookies.get('gh_session')
  expect(token).toBeTruthy()
  const { keyedHash } = await import('#app/auth/crypto.server.ts')
  const found = sessions.find((s) => s.tokenHash === keyedHash('session', token!))
  expect(found).toBeDefined()
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, found!.userId))
  return user
}

describe('accepting an invitation applies the region policy', () => {
  it('Required, email not allowed, deadline already passed (no grace): held to enrollment at once, then enrols an app', async () => {
    const { token } = await invited('new.overdue@example.test', { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 0, requiredSince: new Date() })
    const { client, res } = await accept(token)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/enroll')
    expect(await sessionLevel(client)).toBe('enroll_only')
    // Nothing but enrollment is reachable.
    for (const path of ['/', '/settings/security', '/settings/security/devices']) {
      const page = await client.get(path)
      expect(page.status, path).toBe(302)
      expect(page.headers.get('location'), path).toBe('/enroll')
    }
    const enroll = (await client.text('/enroll')).html.replaceAll('<!-- -->', '')
    expect(enroll).toContain('Pied Piper requires a second step at sign-in.')
    expect(enroll).toContain('href="/settings/security/totp"')

    const setup = (await client.text('/settings/security/totp')).html
    const secret = setup.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)![1].replaceAll(' ', '')
    const done = await client.post('/settings/security/totp', { intent: 'confirm', code: await totpCode(secret) })
    expect(done.status).toBe(200)
    // The enrollment-only session was replaced by a full one.
    expect((await client.get('/')).status).toBe(200)
    const user = await userOf(client)
    expect(user.mfaEnabledAt).not.toBeNull()
  })

  it('Required during the grace period: the grace prompt names the organization and the deadline', async () => {
    const { token } = await invited('new.grace@example.test', { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, requiredSince: new Date() }, 'Hooli XYZ')
    const { client, res } = await accept(token)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toMatch(/^\/login\/grace/)
    const page = (await client.text(res.headers.get('location')!)).html.replaceAll('<!-- -->', '')
    expect(page).toContain('Hooli XYZ requires two-factor authentication')
    expect(page).toContain('7 days left')
    expect(page).toContain('Remind me later')
  })

  it('Required with email allowed: the emailed link counts as the email code; a full session follows', async () => {
    const { token } = await invited('new.email@example.test', { mode: 'required', requiredSince: new Date() })
    const { client, res } = await accept(token)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/')
    expect(await sessionLevel(client)).toBe('mfa')
    // The next sign-in asks for an email code as usual.
    const again = await signIn(new TestClient(base), 'new.email@example.test', 'us', NEW_PASSWORD)
    expect(again.headers.get('location')).toBe('/login/verify')
  })

  it('Optional: signed in with the password; the account and its membership exist only from the acceptance on', async () => {
    const { org, token } = await invited('new.optional@example.test', { mode: 'optional' })
    // Decision 055: inviting creates neither an account nor a membership.
    expect(await db.select().from(schema.users).where(eq(schema.users.email, 'new.optional@example.test'))).toEqual([])
    const { client, res } = await accept(token)
    const user = await userOf(client)
    const [membership] = await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, user.id), eq(schema.memberships.organizationId, org.id)))
    expect(membership.role).toBe('member')
    expect(res.headers.get('location')).toBe('/')
    expect(await sessionLevel(client)).toBe('password')
  })

  it('the same refusal on a Japanese page: the whole message, its inner sentence included, in Japanese (decision 079)', async () => {
    const { org, token } = await invited('new.blocked.ja@example.test', { mode: 'required', allowedMethods: ['webauthn'], gracePeriodDays: 0, onDeadline: 'block', requiredSince: new Date() }, 'Blockco JP')
    const client = new TestClient(base)
    client.cookies.set('gh_lang', 'ja')
    const res = await client.post(`/invite/${token}`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
    expect(res.status).toBe(403)
    const html = (await res.text()).replaceAll('<!-- -->', '')
    expect(html).toContain(`パスワードは設定されましたが、まだログインできません。Blockco JPでは2段階認証が必須で、設定の期限が過ぎたため、ログインはブロックされています。アクセスを回復するには、admin-${org.slug}@example.testにお問い合わせください。`)
    // The English is only in the hydration data (what the action returned), not in what is shown.
    expect(html.split('<script')[0]).not.toContain('cannot sign in yet')
  })

  it('Required with block at the deadline and no grace: the password is set, sign-in is refused naming whom to contact', async () => {
    const { org, token } = await invited('new.blocked@example.test', { mode: 'required', allowedMethods: ['webauthn'], gracePeriodDays: 0, onDeadline: 'block', requiredSince: new Date() }, 'Blockco')
    const { client, res } = await accept(token)
    expect(res.status).toBe(403)
    const html = (await res.text()).replaceAll('<!-- -->', '')
    expect(html).toContain('<h1>Sign-in refused</h1>')
    expect(html).toContain('Your password is set, but you cannot sign in yet.')
    expect(html).toContain(`Contact admin-${org.slug}@example.test to get access again.`)
    expect(client.cookies.has('gh_session')).toBe(false)
    const [user] = await db.select().from(schema.users).where(eq(schema.users.email, 'new.blocked@example.test'))
    expect(user.passwordHash).not.toBeNull()
  })
})
