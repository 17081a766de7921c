/**
 * Two DESIGN rules about telling members, checked end to end (real Redis, workers and SMTP):
 * - "After 10 failed second-factor attempts in an hour the member is emailed" (any method, across
 *   several pending sign-ins, once per burst; nine are not enough);
 * - "Setting a region to disabled ... emails the affected members" (every non-exempt member of
 *   that organization in that region, nobody else), after step-up, audited.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp, outboundOf } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

async function pending(email: string) {
  const client = new TestClient(base)
  const res = await signIn(client, email)
  expect(res.headers.get('location')).toBe('/login/verify')
  return client
}

describe('failed second factors', () => {
  it('nine wrong codes send nothing; the tenth (app and email codes, over several sign-ins) emails the member once', async () => {
    const user = await createUser({ email: 'unlucky@example.test' })
    await enableTotp(user.id)
    const since = Date.now()
    let first = await pending(user.email)
    for (let i = 0; i < 4; i++) expect((await first.post('/login/verify', { intent: 'totp', code: '000000' })).status).toBe(400)
    const second = await pending(user.email)
    for (let i = 0; i < 4; i++) expect((await second.post('/login/verify', { intent: 'totp', code: '111111' })).status).toBe(400)
    const third = await pending(user.email)
    // A wrong email code counts as a second-factor failure too.
    expect((await third.post('/login/verify', { intent: 'email_send' })).status).toBe(200)
    expect((await third.post('/login/verify', { intent: 'email', code: '222222' })).status).toBe(400)
    expect((await outboundOf(user.id)).filter((m) => m.template === 'mfa_failures')).toHaveLength(0)

    expect((await third.post('/login/verify', { intent: 'totp', code: '444444' })).status).toBe(400)
    const mail = await smtp.waitFor(user.email, { subject: /Failed sign-in attempts/, since })
    expect(mail.text).toContain('10')
    // More failures in the same hour do not send another.
    first = await pending(user.email)
    for (let i = 0; i < 3; i++) await first.post('/login/verify', { intent: 'totp', code: '333333' })
    expect((await outboundOf(user.id)).filter((m) => m.template === 'mfa_failures')).toHaveLength(1)
  })
})

describe('setting a region to disabled', () => {
  it('needs step-up, is audited, and emails every non-exempt member of that organization in that region, nobody else', async () => {
    const org = await createOrg({ name: 'Massive Dynamic', regions: ['us', 'eu'] })
    await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const admin = await createUser({ org, role: 'admin', email: 'admin@massive.test' })
    const usMember = await createUser({ org, email: 'us.one@massive.test' })
    const euMember = await createUser({ org, region: 'eu', email: 'eu.one@massive.test' })
    const bot = await createUser({ org, kind: 'service', email: 'bot@massive.test' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI' })
    const outsider = await createUser({ email: 'outsider@example.test' })

    const client = new TestClient(base)
    const { session } = await signInAs(client, admin.id)
    const form = { region: 'us', intent: 'save', mode: 'disabled', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: '7', onDeadline: 'force_enrollment', rememberDeviceDays: '14' }
    // A stale second factor: sent to step-up, nothing changes.
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 3_600_000) }).where(eq(schema.sessions.id, session.id))
    // The change is reviewed first; Save carries the review's token.
    const reviewed = await client.post(`/orgs/${org.slug}/policy`, { ...form, intent: 'preview' })
    const reviewToken = /name="reviewToken" value="([^"]+)"/.exec(await reviewed.text())![1]
    const stale = await client.post(`/orgs/${org.slug}/policy`, { ...form, reviewToken })
    expect(stale.headers.get('location')).toMatch(/^\/settings\/security\/confirm/)
    const policy = async () => (await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us'))))[0]
    expect((await policy()).mode).toBe('required')

    await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.id, session.id))
    const since = Date.now()
    expect((await client.post(`/orgs/${org.slug}/policy`, { ...form, reviewToken })).status).toBe(302)
    expect((await policy()).mode).toBe('disabled')
    for (const email of ['us.one@massive.test', 'admin@massive.test']) {
      const mail = await smtp.waitFor(email, { subject: /Massive Dynamic turned off two-factor authentication/, since })
      expect(mail.text).toContain('no longer asks for a second factor in US')
    }
    // The run is finished: nobody else was written to.
    await expect.poll(async () => (await db.select().from(schema.notificationRuns).where(eq(schema.notificationRuns.organizationId, org.id)))[0]?.status, { timeout: 10_000 }).toBe('done')
    for (const other of [euMember, bot, outsider]) {
      expect((await outboundOf(other.id)).filter((m) => m.template === 'policy_disabled'), other.email).toHaveLength(0)
    }
    expect((await outboundOf(usMember.id)).filter((m) => m.template === 'policy_disabled')).toHaveLength(1)
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, org.id), eq(schema.auditEvents.action, 'org.policy_changed')))
    expect(JSON.stringify(event.details)).toContain('disabled')
  })
})
