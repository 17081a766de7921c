import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
let supportId: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
  supportId = (await findDemoUser('support@gatehouse.test')).id
})

async function supportClient() {
  const client = new TestClient(base)
  await signInAs(client, supportId, { level: 'mfa', secondFactorMethod: 'totp' })
  return client
}

const GOOD_RESET = { intent: 'reset', reason: 'Lost phone and recovery codes, verified on call', ticket: 'SUP-1234', checks: ['video_id', 'callback'], confirm: 'yes' }

describe('who reaches the support console', () => {
  it('support at the MFA level only; everyone else gets 404 or sign-in', async () => {
    const member = await findDemoUser('member@acme.test')
    const paths = ['/support', `/support/users/${member.id}`, '/support/approvals']
    for (const path of paths) {
      const anonymous = await new TestClient(base).get(path)
      expect(anonymous.status).toBe(302)
      expect(anonymous.headers.get('location')).toMatch(/^\/login\?redirectTo=/)

      for (const email of ['member@acme.test', 'owner@acme.test', 'admin@acme.test']) {
        const client = new TestClient(base)
        await signInAs(client, (await findDemoUser(email)).id, { level: 'mfa' })
        expect((await client.get(path)).status, `${email} on ${path}`).toBe(404)
      }
      // Support with a password only: the second step (an email code, then enrollment) comes first.
      const halfway = new TestClient(base)
      const signedIn = await signIn(halfway, 'support@gatehouse.test')
      expect(signedIn.headers.get('location')).toBe('/login/verify')
      expect((await halfway.get(path)).headers.get('location')).toMatch(/^\/login\?redirectTo=/)
      // Enrollment-only (mailbox proven, no app or key yet): sent to enrol, not in.
      await signInAs(halfway, (await findDemoUser('support@gatehouse.test')).id, { level: 'enroll_only' })
      const res = await halfway.get(path)
      expect(res.status).toBe(302)
      expect(res.headers.get('location')).toBe('/enroll')

      expect((await (await supportClient()).get(path)).status).toBe(200)
    }
    // A member posting to the console's actions gets 404 and changes nothing.
    const intruder = new TestClient(base)
    await signInAs(intruder, (await findDemoUser('admin@acme.test')).id)
    const target = await findDemoUser('member@acme.test')
    await giveFactors(target.id)
    expect((await intruder.post(`/support/users/${target.id}`, GOOD_RESET)).status).toBe(404)
    expect((await securityCounts(target.id)).totp).toBe(1)
  })
})

describe('search and member page', () => {
  it('finds members by email, name or organization across regions, paginated', async () => {
    const client = await supportClient()
    const byEmail = await client.text('/support?q=member%40acme')
    expect(byEmail.html).toContain('member@acme.test')
    expect(byEmail.html).toContain('eu.member@acme.test') // another region
    expect(byEmail.html).not.toContain('member@globex.test')
    const byName = await client.text('/support?q=greta')
    expect(byName.html).toContain('member@globex.test')
    const byOrg = await client.text('/support?q=Globex')
    expect(byOrg.html).toContain('member@globex.test')
    expect(byOrg.html).not.toContain('owner@acme.test')

    const org = await createOrg({ slug: 'pagination-co', name: 'Pagination Co', regions: ['us', 'eu'] })
    for (let i = 0; i < 30; i++) await createUser({ email: `pg${String(i).padStart(2, '0')}@pagination.test`, region: i % 2 ? 'eu' : 'us', org })
    const first = await client.text('/support?q=pagination')
    expect(first.html).toContain('30 members found')
    expect(first.html).toContain('pg00@pagination.test')
    expect(first.html).not.toContain('pg29@pagination.test')
    expect(first.html).toContain('Page 1 of 2')
    const second = await client.text('/support?q=pagination&page=2')
    expect(second.html).toContain('pg29@pagination.test')
    expect(second.html).not.toContain('pg00@pagination.test')
    // LIKE wildcards are taken literally.
    expect((await client.text('/support?q=%25')).html).toContain('No member matches')
  })

  it('shows factors, codes left, devices, lockout and events, never a secret', async () => {
    const user = await createUser({ email: 'detail@acme.test', name: 'Dora Detail' })
    const { ciphertext } = await giveFactors(user.id)
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000), lockCount: 1 }).where(eq(schema.users.id, user.id))
    const client = await supportClient()
    const page = await client.text(`/support/users/${user.id}`)
    expect(page.status).toBe(200)
    for (const text of ['Dora Detail', 'Authenticator app', 'YubiKey 5C', 'MacBook Touch ID (passkey)', 'Firefox on Linux', 'Locked']) expect(page.html).toContain(text)
    expect(page.html).toMatch(/Recovery codes left: <strong>9<\/strong>/)
    expect(page.html).not.toContain(ciphertext.split('.')[2])
    const [cred] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(page.html).not.toContain(cred.publicKey)
    expect(page.html).not.toContain('$argon2id$')
    expect((await client.get('/support/users/00000000-0000-4000-8000-000000000000')).status).toBe(404)
    expect((await client.get('/support/users/not-a-uuid')).status).toBe(404)
  })
})

describe('unlock', () => {
  it('needs a reason, lifts the lockout and is audited', async () => {
    const user = await createUser({ email: 'locked@acme.test' })
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000), failedAttempts: 0, lockCount: 1 }).where(eq(schema.users.id, user.id))
    expect((await signIn(new TestClient(base), 'locked@acme.test')).status).not.toBe(302)
    const client = await supportClient()
    const noReason = await client.post(`/support/users/${user.id}`, { intent: 'unlock', reason: '' })
    expect(noReason.status).toBe(400)
    expect(await noReason.text()).toContain('Give a reason')
    const done = await client.post(`/support/users/${user.id}`, { intent: 'unlock', reason: 'Member confirmed on the phone' })
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe(`/support/users/${user.id}?notice=unlocked`)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(after.lockedUntil).toBeNull()
    expect((await signIn(new TestClient(base), 'locked@acme.test')).status).toBe(302)
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'support.unlock'), eq(schema.auditEvents.subjectId, user.id)))
    expect(event.actorLabel).toBe('support@gatehouse.test')
    expect(event.details).toMatchObject({ reason: 'Member confirmed on the phone' })
    // Not locked any more: a clear message, no second event.
    const again = await client.post(`/support/users/${user.id}`, { intent: 'unlock', reason: 'Member confirmed on the phone' })
    expect(again.status).toBe(400)
    expect(await again.text()).toContain('not locked')
  })
})

describe('reset', () => {
  it('refuses an incomplete form and changes nothing', async () => {
    const user = await createUser({ email: 'incomplete@acme.test' })
    await giveFactors(user.id)
    const client = await supportClient()
    for (const [form, message] of [
      [{ ...GOOD_RESET, reason: 'short' }, 'Give a reason of at least 10 characters'],
      [{ ...GOOD_RESET, ticket: '' }, 'Give the ticket reference'],
      [{ ...GOOD_RESET, checks: ['video_id'] }, 'Tick at least 2 identity checks'],
      [{ ...GOOD_RESET, checks: ['video_id', 'made_up'] }, 'Tick checks from the list only'],
      [{ ...GOOD_RESET, confirm: '' }, 'Tick the box to confirm'],
    ] as const) {
      const res = await client.post(`/support/users/${user.id}`, form as unknown as Record<string, string | string[]>)
      expect(res.status).toBe(400)
      expect(await res.text()).toContain(message)
    }
    expect(await securityCounts(user.id)).toEqual({ totp: 1, webauthn: 2, recoveryCodes: 10, trustedDevices: 2, sessions: 0 })
  })

  it('removes every factor, code and device, ends every session, emails the member, audits; the freeze link locks', async () => {
    const user = await createUser({ email: 'lost.phone@acme.test', name: 'Lee Lost' })
    await giveFactors(user.id)
    const memberBrowser = new TestClient(base)
    await signInAs(memberBrowser, user.id, { level: 'mfa' })
    const other = new TestClient(base)
    await signInAs(other, user.id, { level: 'mfa' })
    expect((await memberBrowser.get('/')).status).toBe(200)

    const since = Date.now()
    const client = await supportClient()
    const res = await client.post(`/support/users/${user.id}`, GOOD_RESET)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(`/support/users/${user.id}?notice=reset`)

    expect(await securityCounts(user.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
    expect((await memberBrowser.get('/')).status).toBe(302)
    expect((await other.get('/')).status).toBe(302)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(after.mfaEnabledAt).toBeNull()
    expect(after.preferredMethod).toBeNull()
    expect(after.mfaResetAt).toBeInstanceOf(Date)

    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'auth.mfa_reset_by_support'), eq(schema.auditEvents.subjectId, user.id)))
    expect(event.actorId).toBe(supportId)
    expect(event.organizationId).toBeNull()
    expect(event.details).toMatchObject({ reason: GOOD_RESET.reason, ticket: 'SUP-1234', checks: ['video_id', 'callback'], removed: { totp: 1, webauthn: 2, recoveryCodes: 9, trustedDevices: 2, sessions: 2 } })

    const mail = await smtp.waitFor('lost.phone@acme.test', { subject: /two-factor authentication was reset/, since })
    expect(mail.text).toContain('Gatehouse support')
    expect(mail.text).toContain('one-time code to this email address')
    const link = mail.text.match(/https?:\/\/\S+\/freeze\/(\S+)/)
    expect(link).toBeTruthy()
    const token = link![1]
    expect(JSON.stringify(await db.select().from(schema.outboundEmails))).not.toContain(token)

    // The support page shows the reset in the member's events.
    expect((await client.text(`/support/users/${user.id}`)).html).toContain('auth.mfa_reset_by_support')

    // Opening the link changes nothing; the button freezes, once.
    const visitor = new TestClient(base)
    expect((await visitor.text(`/freeze/${token}`)).html).toContain('Freeze your account?')
    expect((await signIn(new TestClient(base), 'lost.phone@acme.test')).status).toBe(302)
    const frozen = await visitor.post(`/freeze/${token}`, {})
    expect(frozen.status).toBe(200)
    expect(await frozen.text()).toContain('Your account is frozen')
    const [locked] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(locked.lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000)
    expect((await securityCounts(user.id)).sessions).toBe(0)
    const refused = await signIn(new TestClient(base), 'lost.phone@acme.test')
    expect(refused.status).toBe(403)
    expect(await refused.text()).toContain('This account is frozen')
    expect((await visitor.post(`/freeze/${token}`, {})).status).toBe(400)
    const frozenEvents = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'auth.account_frozen'), eq(schema.auditEvents.subjectId, user.id)))
    expect(frozenEvents).toHaveLength(1)
    // Support is told at once, with a link to the member's page.
    const told = await smtp.waitFor('support@gatehouse.test', { subject: /Account frozen by its member: lost\.phone@acme\.test/, since })
    expect(told.text).toContain(`/support/users/${user.id}`)
  })

  it('refuses a support person resetting their own account', async () => {
    const client = await supportClient()
    const res = await client.post(`/support/users/${supportId}`, GOOD_RESET)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('cannot reset your own account')
  })
})
