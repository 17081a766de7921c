/**
 * The organization admin console over real HTTP: scoping (404 elsewhere), the policy page (review
 * of impact and old → new values, saves bound to the review: none without one, none when stale or
 * for other values; warnings, validation, audit, required_since, step-up for disabled, member emails),
 * exemptions, members (filters, CSV, invite, roles, the last owner), extensions, audit page.
 */
import { and, desc, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { policyReviewToken, regionPolicyInput } from '#app/policy/region-policy.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { signInAs } from '#tests/factories/security.ts'
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
  // Sessions that passed a second factor just now: owners and admins change nothing without one,
  // and lowering protection needs it within 5 minutes (decision 056).
  admin = new TestClient(base)
  await signInAs(admin, (await findDemoUser('admin@acme.test')).id)
  owner = new TestClient(base)
  await signInAs(owner, (await findDemoUser('owner@acme.test')).id)
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

/** "Review changes": the page's review of a change, with the token its Save button carries. */
async function review(client: TestClient, over: Record<string, string | string[]> = {}, path = '/orgs/acme/policy') {
  const res = await client.post(path, policyForm({ ...over, intent: 'preview' }))
  expect(res.status).toBe(200)
  const html = (await res.text()).replaceAll('<!-- -->', '')
  const token = /name="reviewToken" value="([^"]+)"/.exec(html)?.[1]
  return { html, token }
}
const policyEvents = async () =>
  (await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, acmeId), eq(schema.auditEvents.action, 'org.policy_changed')))).length

describe('policy console', () => {
  it('reviews the impact and old → new values, then saves with audit, required_since and member emails', async () => {
    const { html, token } = await review(admin)
    expect(html).toMatch(/1 member in EU has no allowed factor; they will have until \d+ \w+ \d{4} to enrol; 0 are exempt/)
    expect(html).not.toContain('only allowed factor')
    // Old → new values, only the fields that change.
    expect(html).toContain('Changes to the EU policy')
    expect(html).toMatch(/<th scope="row">Mode<\/th><td>Optional<\/td><td><strong>Required<\/strong><\/td>/)
    expect(html).toMatch(/<th scope="row">Allowed methods<\/th><td>Email code, Authenticator app, Security key<\/td><td><strong>Authenticator app, Security key<\/strong><\/td>/)
    expect(html).toMatch(/<th scope="row">Grace period<\/th><td>7 days<\/td><td><strong>14 days<\/strong><\/td>/)
    expect(html).not.toContain('<th scope="row">Remember device</th>')
    expect(html).toContain('Save EU policy')
    expect(html).toContain('Back to edit')
    expect(token).toMatch(/^\d+\.\d+\.[\w-]+$/)
    expect((await euPolicy()).mode).toBe('optional') // nothing saved by a review

    // "Back to edit" keeps the reviewed values in the form.
    const back = await admin.post('/orgs/acme/policy', policyForm({ intent: 'edit' }))
    expect(back.status).toBe(200)
    const form = await back.text()
    expect(form).toMatch(/name="gracePeriodDays"[^>]*value="14"/)
    expect(form).toContain('Review changes')
    expect(form).not.toContain('Save EU policy')

    const since = Date.now()
    const saved = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', reviewToken: token! }))
    expect(saved.status).toBe(302)
    expect(saved.headers.get('location')).toBe('/orgs/acme/policy?saved=eu')
    const p = await euPolicy()
    expect(p.mode).toBe('required')
    expect(p.requiredSince).not.toBeNull()
    const [event] = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.policy_changed')).orderBy(desc(schema.auditEvents.id))
    expect(event.organizationId).toBe(acmeId)
    expect(event.actorLabel).toBe('admin@acme.test')
    expect(event.details).toMatchObject({ region: 'eu', old: { mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 7 }, new: { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 14 } })

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

    // The token was for that change only: replaying it now is refused, nothing written.
    const events = await policyEvents()
    const replay = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '30', reviewToken: token! }))
    expect(replay.status).toBe(409)
    expect(await policyEvents()).toBe(events)

    // A later change keeps required_since.
    const later = await review(admin, { gracePeriodDays: '30' })
    expect((await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '30', reviewToken: later.token! }))).status).toBe(302)
    expect((await euPolicy()).requiredSince?.getTime()).toBe(p.requiredSince!.getTime())
    expect((await euPolicy()).gracePeriodDays).toBe(30)
  })

  it('refuses a save without a review (409): no write, no audit event', async () => {
    const before = await euPolicy()
    const events = await policyEvents()
    for (const token of [undefined, '']) {
      const res = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '45', ...(token === undefined ? {} : { reviewToken: token }) }))
      expect(res.status).toBe(409)
      expect((await res.text()).replaceAll('<!-- -->', '')).toContain('Review the change first: nothing was saved.')
    }
    expect(await euPolicy()).toEqual(before)
    expect(await policyEvents()).toBe(events)
  })

  it('refuses a stale review: another save came in between', async () => {
    const mine = await review(admin, { gracePeriodDays: '20' })
    // The owner reviews and saves another change meanwhile.
    const theirs = await review(owner, { gracePeriodDays: '25' })
    expect((await owner.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '25', reviewToken: theirs.token! }))).status).toBe(302)
    const events = await policyEvents()
    const res = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '20', reviewToken: mine.token! }))
    expect(res.status).toBe(409)
    const html = (await res.text()).replaceAll('<!-- -->', '')
    expect(html).toContain('The policy changed since you reviewed it')
    // The admin's values stay in the form, to review again.
    expect(html).toMatch(/name="gracePeriodDays"[^>]*value="20"/)
    expect((await euPolicy()).gracePeriodDays).toBe(25)
    expect(await policyEvents()).toBe(events)
    // Reviewed afresh, it saves.
    const again = await review(admin, { gracePeriodDays: '20' })
    expect(again.html).toMatch(/<th scope="row">Grace period<\/th><td>25 days<\/td><td><strong>20 days<\/strong><\/td>/)
    expect((await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '20', reviewToken: again.token! }))).status).toBe(302)
    expect((await euPolicy()).gracePeriodDays).toBe(20)
    expect(await policyEvents()).toBe(events + 1)
  })

  it('refuses values other than the reviewed ones, a token of another region, and a forged token', async () => {
    const before = await euPolicy()
    const events = await policyEvents()
    const { token } = await review(admin, { gracePeriodDays: '40' })
    const us = await review(admin, { region: 'us', gracePeriodDays: '40' })
    const attempts: Record<string, string | string[]>[] = [
      { gracePeriodDays: '90', reviewToken: token! },
      { gracePeriodDays: '40', allowedMethods: ['email', 'totp', 'webauthn'], reviewToken: token! },
      { gracePeriodDays: '40', onDeadline: 'block', reviewToken: token! },
      { gracePeriodDays: '40', reviewToken: us.token! }, // reviewed for US, sent for EU
      { gracePeriodDays: '40', reviewToken: `${before.updatedAt.getTime()}.${'A'.repeat(43)}` },
    ]
    for (const over of attempts) {
      const res = await admin.post('/orgs/acme/policy', policyForm({ ...over, intent: 'save' }))
      expect(res.status, JSON.stringify(over)).toBe(409)
      const text = await res.text()
      expect(text).toContain('Nothing was saved.')
      // The same version with other values (not a stale review): says so.
      if (over.reviewToken === token) expect(text).toContain('These are not the values you reviewed')
    }
    expect(await euPolicy()).toEqual(before)
    expect(await policyEvents()).toBe(events)
  })

  it("refuses another admin's review, and a review older than 30 minutes", async () => {
    const before = await euPolicy()
    const events = await policyEvents()
    const theirs = await review(owner, { gracePeriodDays: '35' })
    const borrowed = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '35', reviewToken: theirs.token! }))
    expect(borrowed.status).toBe(409)
    // A review made 31 minutes ago (its time is in the signed token: made here with the app's own key).
    const adminUser = await findDemoUser('admin@acme.test')
    const proposed = regionPolicyInput.parse(policyForm({ gracePeriodDays: '35' }))
    const old = policyReviewToken(acmeId, 'eu', before, proposed, adminUser.id, Date.now() - 31 * 60_000)
    const expired = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '35', reviewToken: old }))
    expect(expired.status).toBe(409)
    expect(await expired.text()).toContain('more than 30 minutes old')
    expect(await euPolicy()).toEqual(before)
    expect(await policyEvents()).toBe(events)
    // The same token made now is accepted: only its age was wrong.
    const fresh = policyReviewToken(acmeId, 'eu', before, proposed, adminUser.id)
    expect((await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', gracePeriodDays: '35', reviewToken: fresh }))).status).toBe(302)
  })

  it('says "Nothing to save" for a change that changes nothing', async () => {
    const p = await euPolicy()
    const same = { mode: p.mode, allowedMethods: p.allowedMethods, gracePeriodDays: String(p.gracePeriodDays), onDeadline: p.onDeadline, rememberDeviceDays: String(p.rememberDeviceDays) }
    const { html, token } = await review(admin, same)
    expect(html).toContain('Nothing to save: these are the current values.')
    expect(html).not.toContain('Save EU policy')
    expect(token).toBeUndefined()
    const events = await policyEvents()
    const res = await admin.post('/orgs/acme/policy', policyForm({ ...same, intent: 'save' }))
    expect(res.headers.get('location')).toBe('/orgs/acme/policy?unchanged=eu')
    expect(await policyEvents()).toBe(events)
  })

  it('warns (without refusing) when email would be the only factor', async () => {
    const { html, token } = await review(admin, { allowedMethods: 'email', region: 'us' })
    expect(html).toContain('Email code would be the only allowed factor')
    expect(token).toBeDefined()
  })

  it('refuses bad input with a 400 and saves nothing', async () => {
    for (const bad of [{ gracePeriodDays: '91' }, { allowedMethods: [] as string[] }, { rememberDeviceDays: '31' }, { mode: 'sometimes' }, { allowedMethods: 'sms' }] as Record<string, string | string[]>[]) {
      for (const intent of ['preview', 'save']) {
        const res = await admin.post('/orgs/acme/policy', policyForm({ intent, region: 'us', ...bad }))
        expect(res.status, JSON.stringify(bad)).toBe(400)
      }
    }
    const [us] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'us')))
    expect(us.mode).toBe('optional')
  })

  it('disabling needs a fresh second factor, comes back to the review, then emails the members', async () => {
    const adminUser = await findDemoUser('admin@acme.test')
    await db.update(schema.sessions).set({ secondFactorAt: null }).where(eq(schema.sessions.userId, adminUser.id))
    const { html, token } = await review(admin, { mode: 'disabled' })
    expect(html).toContain('will no longer be asked for a second factor')
    expect(html).toContain('Lowers protection for 1 member')
    expect(html).toContain('saving asks for a fresh second factor first')
    const stale = await admin.post('/orgs/acme/policy', policyForm({ intent: 'save', mode: 'disabled', reviewToken: token! }))
    expect(stale.status).toBe(302)
    const location = stale.headers.get('location')!
    expect(location).toMatch(/^\/settings\/security\/confirm\?redirectTo=%2Forgs%2Facme%2Fpolicy/)
    expect((await euPolicy()).mode).toBe('required')

    // Step-up sends the admin back to the same review, with a Save that still holds.
    await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.userId, adminUser.id))
    const back = decodeURIComponent(new URL(location, base).searchParams.get('redirectTo')!)
    const again = (await admin.text(back)).html.replaceAll('<!-- -->', '')
    expect(again).toContain('Review the change to EU')
    expect(again).toMatch(/<th scope="row">Mode<\/th><td>Required<\/td><td><strong>Disabled<\/strong><\/td>/)
    const backToken = /name="reviewToken" value="([^"]+)"/.exec(again)?.[1]
    // A fresh review of the same change against the same stored policy version.
    expect(backToken!.split('.')[0]).toBe(token!.split('.')[0])
    const since = Date.now()
    expect((await admin.post(back, policyForm({ intent: 'save', mode: 'disabled', reviewToken: backToken! }))).status).toBe(302)
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
    // The organization's event never says whether the address had an account (decision 055).
    expect(ev.details).toMatchObject({ email: 'new.person@acme.test', region: 'us', role: 'member' })
    expect(ev.details).not.toHaveProperty('existingAccount')
    // The account and its membership exist only from the acceptance on.
    const [person] = await db.select().from(schema.users).where(eq(schema.users.email, 'new.person@acme.test'))
    expect(await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, person.id), eq(schema.memberships.organizationId, acmeId)))).toHaveLength(1)
  })

  it('inviting an existing account of that region leaves a pending invitation: no membership until it accepts, password untouched', async () => {
    const greta = await findDemoUser('member@globex.test')
    const since = Date.now()
    const res = await admin.post('/orgs/acme/members', { intent: 'invite', email: 'member@globex.test', region: 'eu', role: 'member' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/orgs/acme/members?done=invited')
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, greta.id))
    expect(after.passwordHash).toBe(greta.passwordHash)
    const memberships = async () => (await db.select().from(schema.memberships).where(eq(schema.memberships.userId, greta.id))).map((m) => m.organizationId)
    expect(await memberships()).not.toContain(acmeId)
    const mail = await smtp.waitFor('member@globex.test', { subject: /invited to Acme/, since })
    expect(mail.text).not.toContain('/invite/')
    // Greta accepts, signed in: only now is she a member.
    const greetClient = new TestClient(base)
    expect((await signIn(greetClient, 'member@globex.test', 'eu')).status).toBe(302)
    const [inv] = await db.select().from(schema.invitations).where(and(eq(schema.invitations.organizationId, acmeId), eq(schema.invitations.email, 'member@globex.test')))
    expect((await greetClient.post('/settings/security', { intent: 'accept_invitation', invitationId: inv.id })).status).toBe(200)
    expect(await memberships()).toContain(acmeId)
  })

  it('only owners invite admins and owners; the last owner stays; roles and removal are audited', async () => {
    expect((await admin.post('/orgs/acme/members', { intent: 'invite', email: 'boss2@acme.test', region: 'us', role: 'owner' })).status).toBe(403)
    expect((await admin.post('/orgs/acme/members', { intent: 'invite', email: 'boss2@acme.test', region: 'us', role: 'admin' })).status).toBe(403)
    const ownerUser = await findDemoUser('owner@acme.test')
    const demote = await owner.post('/orgs/acme/members', { intent: 'role', userId: ownerUser.id, role: 'admin' })
    expect(demote.status).toBe(400)
    expect(await demote.text()).toContain('at least one owner')
    expect((await owner.post('/orgs/acme/members', { intent: 'remove', userId: ownerUser.id })).status).toBe(400)
    expect((await admin.post('/orgs/acme/members', { intent: 'role', userId: ownerUser.id, role: 'member' })).status).toBe(403)
    const mia = await findDemoUser('member@acme.test')
    // Only owners make admins and remove them (decision 057).
    expect((await admin.post('/orgs/acme/members', { intent: 'role', userId: mia.id, role: 'admin' })).status).toBe(403)
    expect((await owner.post('/orgs/acme/members', { intent: 'role', userId: mia.id, role: 'admin' })).status).toBe(302)
    expect((await admin.post('/orgs/acme/members', { intent: 'remove', userId: mia.id })).status).toBe(403)
    expect((await owner.post('/orgs/acme/members', { intent: 'remove', userId: mia.id })).status).toBe(302)
    const actions = (await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.subjectId, mia.id))).map((e) => e.action)
    expect(actions).toEqual(expect.arrayContaining(['org.role_changed', 'org.member_removed']))
  })
})

describe('overview and audit', () => {
  it('shows compliance per region with numbers, and the audit log with CSV', async () => {
    const overview = (await admin.text('/orgs/acme')).html
    expect(overview).toContain('Compliance per region')
    // Every console page is one click away, API keys included.
    for (const path of ['/members', '/policy', '/exemptions', '/api-keys', '/audit']) expect(overview).toContain(`href="/orgs/acme${path}"`)
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
