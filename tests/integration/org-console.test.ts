/**
 * The organization admin console over real HTTP: scoping (404 elsewhere), the policy page (impact
 * preview, warnings, validation, audit, required_since, step-up for disabled, member emails),
 * exemptions, members (filters, CSV, invite, roles, the last owner), extensions, audit page.
 */
import { and, desc, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
let admin: TestClient
let owner: TestClient
let acmeId: string
beforeAll(async () => {
  const { orgIds } = await seedDemo()
  acmeId = orgIds.get('acme')!
  ;({ url: base, smtp } = await startTestApp())
  admin = new TestClient(base)
  expect((await signIn(admin, 'admin@acme.test')).status).toBe(302)
  owner = new TestClient(base)
  expect((await signIn(owner, 'owner@acme.test')).status).toBe(302)
})

const policyForm = (over: Record<string, string | string[]> = {}) => ({
  region: 'eu', intent: 'preview', mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: '14', onDeadline: 'force_enrollment', rememberDeviceDays: '14', ...over,
})
const euPolicy = async () => (await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu'))))[0]

describe('scoping', () => {
  it('admins get 404 for another organization; plain members get 404 for their own console', async () => {
    for (const path of ['/orgs/globex', '/orgs/globex/members', '/orgs/globex/policy', '/orgs/globex/exemptions', '/orgs/globex/audit', '/orgs/globex/members/csv']) {
      expect((await admin.get(path)).status, path).toBe(404)
    }
    expect((await admin.post('/orgs/globex/policy', policyForm())).status).toBe(404)
    const member = new TestClient(base)
    await signIn(member, 'member@acme.test')
    expect((await member.get('/orgs/acme/policy')).status).toBe(404)
    expect((await admin.get('/orgs/acme')).status).toBe(200)
  })
})

describe('policy console', () => {
  it('previews the impact, then saves with audit, required_since and member emails', async () => {
    const preview = await admin.post('/orgs/acme/policy', policyForm())
    expect(preview.status).toBe(200)
    const html = await preview.text()
    expect(html).toMatch(/1 member in EU has no allowed factor; they will have until \d+ \w+ \d{4} to enrol; 0 are exempt/)
    expect(html).not.toContain('only allowed factor')
    expect((await euPolicy()).mode).toBe('optional') // nothing saved by a preview

    const since = Date.now()
    const saved = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save' }))
    expect(saved.status).toBe(302)
    const p = await euPolicy()
    expect(p.mode).toBe('required')
    expect(p.requiredSince).not.toBeNull()
    const [event] = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.policy_changed')).orderBy(desc(schema.auditEvents.id))
    expect(event.organizationId).toBe(acmeId)
    expect(event.actorLabel).toBe('admin@acme.test')
    expect(event.details).toMatchObject({ region: 'eu', old: { mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'] }, new: { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 14 } })

    const mail = await smtp.waitFor('eu.member@acme.test', { subject: /now requires two-factor/, since })
    expect(mail.text).toMatch(/You have until \d+ \w+ \d{4}/)
    // The admin sees the run's progress.
    let page = ''
    for (let i = 0; i < 50; i++) {
      page = (await admin.text('/orgs/acme/policy')).html.replaceAll('<!-- -->', '')
      if (page.includes('(done)')) break
      await new Promise((r) => setTimeout(r, 100))
    }
    expect(page).toContain('1 / 1 (done)')

    // A later change keeps required_since.
    expect((await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '30' }))).status).toBe(302)
    expect((await euPolicy()).requiredSince?.getTime()).toBe(p.requiredSince!.getTime())
  })

  it('warns (without refusing) when email would be the only factor', async () => {
    const res = await admin.post('/orgs/acme/policy', policyForm({ allowedMethods: 'email', region: 'us' }))
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Email code would be the only allowed factor')
  })

  it('refuses bad input with a 400 and saves nothing', async () => {
    for (const bad of [{ gracePeriodDays: '91' }, { allowedMethods: [] as string[] }, { rememberDeviceDays: '31' }, { mode: 'sometimes' }, { allowedMethods: 'sms' }] as Record<string, string | string[]>[]) {
      const res = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', region: 'us', ...bad }))
      expect(res.status, JSON.stringify(bad)).toBe(400)
    }
    const [us] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'us')))
    expect(us.mode).toBe('optional')
  })

  it('disabling needs a fresh second factor, then emails the members', async () => {
    const stale = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', mode: 'disabled' }))
    expect(stale.status).toBe(302)
    expect(stale.headers.get('location')).toMatch(/^\/settings\/security\/confirm\?redirectTo=%2Forgs%2Facme%2Fpolicy/)
    expect((await euPolicy()).mode).toBe('required')

    const adminUser = await findDemoUser('admin@acme.test')
    await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.userId, adminUser.id))
    const since = Date.now()
    expect((await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', mode: 'disabled' }))).status).toBe(302)
    expect((await euPolicy()).mode).toBe('disabled')
    await smtp.waitFor('eu.member@acme.test', { subject: /turned off two-factor/, since })
  })
})

describe('exemptions', () => {
  it('exempts only service accounts, says why not for a person, and audits add and remove', async () => {
    const person = await admin.post('/orgs/acme/exemptions', { intent: 'add', email: 'member@acme.test', region: 'us', reason: 'travel' })
    expect(person.status).toBe(400)
    expect(await person.text()).toContain('Only service accounts can be exempted')
    const ok = await admin.post('/orgs/acme/exemptions', { intent: 'add', email: 'ci-bot@acme.test', region: 'us', reason: 'CI pipeline', expiresAt: '2099-01-01' })
    expect(ok.status).toBe(302)
    const [x] = await db.select().from(schema.exemptions)
    expect(x.reason).toBe('CI pipeline')
    expect((await admin.text('/orgs/acme/exemptions')).html).toContain('ci-bot@acme.test')
    expect((await admin.post('/orgs/acme/exemptions', { intent: 'remove', id: x.id })).status).toBe(302)
    const actions = (await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.organizationId, acmeId))).map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['org.exemption_added', 'org.exemption_removed']))
    // Another organization's admin cannot touch them.
    expect((await admin.post('/orgs/globex/exemptions', { intent: 'add', email: 'ci-bot@acme.test', region: 'us', reason: 'x' })).status).toBe(404)
  })
})

describe('members', () => {
  it('filters by status in SQL, sorts, exports CSV, extends a deadline (audited)', async () => {
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, acmeId))
    const page = (await admin.text('/orgs/acme/members?status=in_grace&sort=email&dir=desc')).html
    expect(page).toContain('eu.member@acme.test')
    expect(page).toContain('member@acme.test')
    const overdue = (await admin.text('/orgs/acme/members?status=overdue')).html.replaceAll('<!-- -->', '')
    expect(overdue).toContain('0 matching members')
    const csv = await admin.get('/orgs/acme/members/csv?status=in_grace&sort=email')
    expect(csv.headers.get('content-type')).toContain('text/csv')
    const lines = (await csv.text()).trim().split('\r\n')
    expect(lines[0]).toBe('name,email,region,role,kind,factors,status,deadline,last_sign_in')
    expect(lines.slice(1).every((l) => l.includes(',in_grace,'))).toBe(true)

    const eu = await findDemoUser('eu.member@acme.test')
    const deadline = new Date(Date.now() + 40 * 86_400_000).toISOString().slice(0, 10)
    const since = Date.now()
    expect((await admin.post('/orgs/acme/members', { intent: 'extend', userId: eu.id, deadline, reason: 'on leave' })).status).toBe(302)
    await smtp.waitFor('eu.member@acme.test', { subject: /deadline .* was extended/, since })
    const [ev] = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.deadline_extended'))
    expect(ev.details).toMatchObject({ region: 'eu', reason: 'on leave' })
    expect((await admin.post('/orgs/acme/members', { intent: 'extend', userId: eu.id, deadline: '2001-01-01', reason: 'x y z' })).status).toBe(400)
    // An earlier date than the current deadline (now the 40-day extension) is refused: no write, no event.
    const events = async () => (await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.deadline_extended'))).length
    const before = await events()
    const earlier = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10)
    const refused = await admin.post('/orgs/acme/members', { intent: 'extend', userId: eu.id, deadline: earlier, reason: 'shorter' })
    expect(refused.status).toBe(400)
    expect((await refused.text()).replaceAll('&#x27;', "'")).toContain("The new deadline must be later than the member's current deadline")
    expect(await events()).toBe(before)
    const [ext] = await db.select().from(schema.deadlineExtensions).where(eq(schema.deadlineExtensions.userId, eu.id))
    expect(ext.deadline.toISOString().slice(0, 10)).toBe(deadline)
  })

  it('invites a new person: the link sets a password once', async () => {
    const since = Date.now()
    const res = await admin.post('/orgs/acme/members', { intent: 'invite', email: 'New.Person@acme.test', region: 'us', role: 'member' })
    expect(res.status).toBe(302)
    const mail = await smtp.waitFor('new.person@acme.test', { subject: /invited to Acme/, since })
    const token = mail.text.match(/\/invite\/(\S+)/)![1]
    expect((await new TestClient(base).text(`/invite/${token}`)).html.replaceAll('<!-- -->', '')).toContain('Join Acme Corporation')
    const done = await new TestClient(base).post(`/invite/${token}`, { password: 'a long new passphrase', confirm: 'a long new passphrase' })
    expect(done.status).toBe(302)
    expect((await signIn(new TestClient(base), 'new.person@acme.test', 'us', 'a long new passphrase')).status).toBe(302)
    expect((await new TestClient(base).post(`/invite/${token}`, { password: 'another passphrase!', confirm: 'another passphrase!' })).status).toBe(400)
    const [ev] = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.member_invited'))
    expect(ev.details).toMatchObject({ email: 'new.person@acme.test', existingAccount: false })
  })

  it('inviting an existing account of that region adds a membership without touching its password', async () => {
    const greta = await findDemoUser('member@globex.test')
    const since = Date.now()
    expect((await admin.post('/orgs/acme/members', { intent: 'invite', email: 'member@globex.test', region: 'eu', role: 'member' })).status).toBe(302)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, greta.id))
    expect(after.passwordHash).toBe(greta.passwordHash)
    const ms = await db.select().from(schema.memberships).where(eq(schema.memberships.userId, greta.id))
    expect(ms.map((m) => m.organizationId)).toContain(acmeId)
    await smtp.waitFor('member@globex.test', { subject: /added to Acme/, since })
  })

  it('only owners invite owners; the last owner stays; roles and removal are audited', async () => {
    expect((await admin.post('/orgs/acme/members', { intent: 'invite', email: 'boss2@acme.test', region: 'us', role: 'owner' })).status).toBe(403)
    const ownerUser = await findDemoUser('owner@acme.test')
    const demote = await owner.post('/orgs/acme/members', { intent: 'role', userId: ownerUser.id, role: 'admin' })
    expect(demote.status).toBe(400)
    expect(await demote.text()).toContain('at least one owner')
    expect((await owner.post('/orgs/acme/members', { intent: 'remove', userId: ownerUser.id })).status).toBe(400)
    expect((await admin.post('/orgs/acme/members', { intent: 'role', userId: ownerUser.id, role: 'member' })).status).toBe(403)
    const mia = await findDemoUser('member@acme.test')
    expect((await admin.post('/orgs/acme/members', { intent: 'role', userId: mia.id, role: 'admin' })).status).toBe(302)
    expect((await admin.post('/orgs/acme/members', { intent: 'remove', userId: mia.id })).status).toBe(302)
    const actions = (await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.subjectId, mia.id))).map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['org.role_changed', 'org.member_removed']))
  })
})

describe('overview and audit', () => {
  it('shows compliance per region with numbers, and the audit log with CSV', async () => {
    const overview = (await admin.text('/orgs/acme')).html
    expect(overview).toContain('Compliance per region')
    expect(overview.replaceAll('<!-- -->', '')).toMatch(/In grace: \d/)
    const audit = (await admin.text('/orgs/acme/audit?action=org.policy_changed')).html
    expect(audit).toContain('org.policy_changed')
    expect(audit).not.toContain('org.member_invited</code>')
    const csv = await (await admin.get('/orgs/acme/audit/csv')).text()
    expect(csv.split('\r\n')[0]).toBe('time,action,actor,member,scope,ip,details')
    expect(csv).toContain('org.exemption_added')
    // Members' own security events (platform chain) show too.
    expect(csv).toContain('auth.login_success')
  })
})
