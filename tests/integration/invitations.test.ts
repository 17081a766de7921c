/**
 * Joining an organization needs the account's consent (decision 055), tried as an attacker would
 * over the real server: an admin of another organization invites an existing account and tries to
 * act on it; the answer must look the same as for a new address; accepting and declining (web and
 * API) are single-use; cancelling touches only the inviting organization's invitation; service
 * accounts are created by their organization, never pulled in by address.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

type Org = Awaited<ReturnType<typeof createOrg>>
const META = { ip: '127.0.0.1', userAgent: 'test' }

async function setPolicy(org: Org, policy: Partial<typeof schema.regionPolicies.$inferInsert>) {
  await db.update(schema.regionPolicies).set(policy).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
}
/** An organization with a signed-in (MFA-level) admin and owner. */
async function orgWithAdmins(name: string) {
  const org = await createOrg({ name })
  const admin = await createUser({ org, role: 'admin', email: `admin@${org.slug}.test` })
  const owner = await createUser({ org, role: 'owner', email: `owner@${org.slug}.test` })
  const adminClient = new TestClient(base)
  await signInAs(adminClient, admin.id)
  const ownerClient = new TestClient(base)
  await signInAs(ownerClient, owner.id)
  return { org, admin, owner, adminClient, ownerClient }
}
async function apiToken(userId: string, level: 'password' | 'mfa' = 'mfa', secondFactorMethod: string | undefined = level === 'mfa' ? 'totp' : undefined) {
  return (await createSession({ userId, level, meta: META, secondFactorMethod, channel: 'api' })).token
}
const invite = (client: TestClient, org: Org, email: string, role = 'member') => client.post(`/orgs/${org.slug}/members`, { intent: 'invite', email, region: 'us', role })
const membershipsOf = async (userId: string) => (await db.select().from(schema.memberships).where(eq(schema.memberships.userId, userId))).map((m) => m.organizationId)
const invitationsTo = (org: Org, email: string) =>
  db.select().from(schema.invitations).where(and(eq(schema.invitations.organizationId, org.id), eq(schema.invitations.email, email)))
const events = (action: string, organizationId?: string) =>
  db.select().from(schema.auditEvents).where(organizationId ? and(eq(schema.auditEvents.action, action), eq(schema.auditEvents.organizationId, organizationId)) : eq(schema.auditEvents.action, action))
/** The row of `email` in the members page's pending invitations, with what differs by address blanked out. */
function invitationRow(html: string, email: string) {
  const row = html.replaceAll('<!-- -->', '').match(new RegExp(`<tr>(?:(?!</tr>).)*${email.replace(/[.]/g, '\\.')}(?:(?!</tr>).)*</tr>`, 's'))?.[0]
  expect(row, email).toBeDefined()
  return row!.replaceAll(email, 'EMAIL').replace(/value="[0-9a-f-]{36}"/g, 'value="ID"').replace(/<td>[^<]*\d{4}[^<]*<\/td>/g, '<td>DATE</td>').replace(/<time[^>]*>[^<]*<\/time>/g, 'DATE').replace(/(cancel|remove)=[0-9a-f-]{36}/g, '$1=ID')
}

describe('an admin of another organization invites an existing account', () => {
  it('creates only a pending invitation, answers exactly as for a new address, and gains no power over the account', async () => {
    const a = await createOrg({ name: 'Alpha' })
    const victim = await createUser({ org: a, email: 'victim@alpha.test' })
    const b = await orgWithAdmins('Bravo')
    const since = Date.now()

    const existing = await invite(b.adminClient, b.org, 'victim@alpha.test')
    const fresh = await invite(b.adminClient, b.org, 'nobody-yet@bravo.test')
    // Same answer for both.
    expect(existing.status).toBe(302)
    expect(fresh.status).toBe(existing.status)
    expect(fresh.headers.get('location')).toBe(existing.headers.get('location'))
    expect(existing.headers.get('location')).toBe(`/orgs/${b.org.slug}/members?done=invited`)
    const page = (await b.adminClient.text(`/orgs/${b.org.slug}/members?done=invited`)).html
    expect(page).toContain('Invited.')
    expect(invitationRow(page, 'victim@alpha.test')).toBe(invitationRow(page, 'nobody-yet@bravo.test'))
    expect(page).not.toContain('Existing account')

    // The organization's audit says the same about both: no hint of an existing account, no subject.
    const invited = await events('org.member_invited', b.org.id)
    expect(invited).toHaveLength(2)
    const [ev1, ev2] = invited
    expect(Object.keys(ev1.details as object).sort()).toEqual(Object.keys(ev2.details as object).sort())
    for (const ev of invited) {
      expect(ev.details).not.toHaveProperty('existingAccount')
      expect(ev.subjectId).toBeNull()
    }
    const audit = (await b.adminClient.text(`/orgs/${b.org.slug}/audit`)).html
    expect(audit).not.toMatch(/existingAccount|existing account/i)
    // A mail is queued either way: a sign-in notice (no token) to the account, a link to the new address.
    const toVictim = await smtp.waitFor('victim@alpha.test', { subject: /invited to Bravo/, since })
    expect(toVictim.text).not.toContain('/invite/')
    expect(toVictim.text).toContain('/settings/security')
    expect(toVictim.text).toContain('admin')
    const toNew = await smtp.waitFor('nobody-yet@bravo.test', { subject: /invited to Bravo/, since })
    expect(toNew.text).toMatch(/\/invite\/\S+/)

    // Nothing joined.
    expect(await membershipsOf(victim.id)).toEqual([a.id])
    const [pending] = await invitationsTo(b.org, 'victim@alpha.test')
    expect(pending.state).toBe('pending')

    // B's harshest policy does not reach the account at sign-in ...
    await setPolicy(b.org, { mode: 'required', allowedMethods: ['webauthn'], gracePeriodDays: 0, onDeadline: 'block', requiredSince: new Date(Date.now() - 86_400_000) })
    const control = await createUser({ org: b.org, email: 'plain@bravo.test' })
    expect((await signIn(new TestClient(base), control.email)).status).toBe(403) // it does bite B's own members
    const victimSignIn = await signIn(new TestClient(base), 'victim@alpha.test')
    expect(victimSignIn.status).toBe(302)
    expect(victimSignIn.headers.get('location')).toBe('/')

    // ... and B's admin cannot act on it: not a member of B.
    const before = await securityCounts(victim.id)
    expect((await b.adminClient.get(`/orgs/${b.org.slug}/members/${victim.id}/reset`)).status).toBe(404)
    expect((await b.adminClient.post(`/orgs/${b.org.slug}/members/${victim.id}/reset`, { intent: 'reset', reason: 'Lost phone, confirmed on a video call', ticket: '', checks: ['manager', 'video_id'], confirm: 'yes' })).status).toBe(404)
    const deadline = new Date(Date.now() + 30 * 86_400_000).toISOString().slice(0, 10)
    expect((await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'extend', userId: victim.id, deadline, reason: 'more time please' })).status).toBe(404)
    expect((await b.ownerClient.post(`/orgs/${b.org.slug}/members`, { intent: 'role', userId: victim.id, role: 'admin' })).status).toBe(404)
    expect((await b.adminClient.post(`/orgs/${b.org.slug}/exemptions`, { intent: 'add', email: 'victim@alpha.test', region: 'us', reason: 'a build robot', expiresAt: '' })).status).toBe(400)
    const key = await apiCall(base, `/api/organizations/${b.org.id}/api-keys`, { token: await apiToken(b.admin.id), json: { serviceAccountId: victim.id, name: 'k', scopes: ['policy:read'] } })
    expect(key.status).toBe(400)
    expect(await securityCounts(victim.id)).toEqual(before)
    for (const table of [schema.exemptions, schema.deadlineExtensions, schema.apiKeys]) {
      expect(await db.select().from(table).where(eq(table.userId, victim.id))).toEqual([])
    }
    expect(await membershipsOf(victim.id)).toEqual([a.id])
  })

  it('re-inviting an address with a live invitation is a 409 and writes nothing; after cancelling it works again', async () => {
    const b = await orgWithAdmins('Charlie')
    const person = await createUser({ email: 'twice@charlie.test' })
    expect((await invite(b.adminClient, b.org, person.email)).status).toBe(302)
    const again = await invite(b.adminClient, b.org, person.email)
    expect(again.status).toBe(409)
    expect(await again.text()).toContain('already has a pending invitation')
    expect((await invite(b.adminClient, b.org, 'Twice@Charlie.test')).status).toBe(409)
    expect(await invitationsTo(b.org, person.email)).toHaveLength(1)
    expect(await events('org.member_invited', b.org.id)).toHaveLength(1)
    // A member is not invited again either.
    expect((await invite(b.adminClient, b.org, b.owner.email)).status).toBe(409)

    const [row] = await invitationsTo(b.org, person.email)
    expect((await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: row.id })).status).toBe(302)
    expect((await invite(b.adminClient, b.org, person.email)).status).toBe(302)
    expect((await invitationsTo(b.org, person.email)).map((r) => r.state).sort()).toEqual(['cancelled', 'pending'])
  })

  it('admins invite members; only owners invite admins and owners (a refusal is audited and writes nothing)', async () => {
    const b = await orgWithAdmins('Delta')
    for (const role of ['admin', 'owner']) {
      const res = await invite(b.adminClient, b.org, `${role}-to-be@delta.test`, role)
      expect(res.status, role).toBe(403)
      expect(await invitationsTo(b.org, `${role}-to-be@delta.test`)).toEqual([])
    }
    const refused = await events('security.change_refused', b.org.id)
    expect(refused.map((e) => e.actorId)).toEqual([b.admin.id, b.admin.id])
    expect((await invite(b.adminClient, b.org, 'member-to-be@delta.test', 'member')).status).toBe(302)
    expect((await invite(b.ownerClient, b.org, 'admin-to-be@delta.test', 'admin')).status).toBe(302)
  })
})

describe('inviting over the API', () => {
  it('answers the same for an existing account and a new address; 409 invitation_pending again; scoped list and cancel', async () => {
    const a = await orgWithAdmins('Sierra')
    const b = await orgWithAdmins('Tango')
    const existing = await createUser({ org: a.org, email: 'existing@sierra.test' })
    const token = await apiToken(b.admin.id)
    const path = `/api/organizations/${b.org.id}/invitations`
    const one = await apiCall(base, path, { token, json: { email: existing.email, region: 'us', role: 'member' } })
    const two = await apiCall(base, path, { token, json: { email: 'brand-new@tango.test', region: 'us', role: 'member' } })
    expect(one.status).toBe(201)
    expect(two.status).toBe(one.status)
    const shape = (body: { data: { invitation: Record<string, unknown> } }) => ({ ...body.data.invitation, id: 'ID' })
    expect(shape(two.body)).toEqual(shape(one.body))
    expect(Object.keys(one.body)).toEqual(Object.keys(two.body))
    expect(await membershipsOf(existing.id)).toEqual([a.org.id])

    const again = await apiCall(base, path, { token, json: { email: existing.email, region: 'us', role: 'member' } })
    expect(again.status).toBe(409)
    expect(again.body.error.code).toBe('invitation_pending')
    const admin = await apiCall(base, path, { token, json: { email: 'boss@tango.test', region: 'us', role: 'admin' } })
    expect(admin.status).toBe(403)
    expect(await invitationsTo(b.org, 'boss@tango.test')).toEqual([])
    expect((await apiCall(base, path, { token, json: { email: 'x@tango.test', region: 'us', role: 'member', password: 'set by the admin' } })).status).toBe(400)

    const list = await apiCall(base, path, { token })
    expect(list.body.data.invitations.map((x: { email: string }) => x.email).sort()).toEqual(['brand-new@tango.test', 'existing@sierra.test'])
    // Sierra's admin cannot see or cancel Tango's invitations.
    const sierraToken = await apiToken(a.admin.id)
    expect((await apiCall(base, path, { token: sierraToken })).status).toBe(404)
    const id = one.body.data.invitation.id
    expect((await apiCall(base, `/api/organizations/${a.org.id}/invitations/${id}`, { method: 'DELETE', token: sierraToken })).status).toBe(404)
    expect((await invitationsTo(b.org, existing.email))[0].state).toBe('pending')
    expect((await apiCall(base, `${path}/${id}`, { method: 'DELETE', token })).status).toBe(200)
    expect((await invitationsTo(b.org, existing.email))[0].state).toBe('cancelled')
    expect((await apiCall(base, `${path}/${id}`, { method: 'DELETE', token })).status).toBe(404)
  })
})

describe('the invited account answers', () => {
  it('sees the organization and its policy on its security page, and accepts: a member from now on', async () => {
    const b = await orgWithAdmins('Acme Echo')
    await setPolicy(b.org, { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, requiredSince: new Date(Date.now() - 60 * 86_400_000) })
    const person = await createUser({ email: 'echo@example.test' })
    await giveFactors(person.id)
    await invite(b.adminClient, b.org, person.email)

    // With a password-only session, an account with an app or key is sent to confirm it first; nothing joins.
    const weak = new TestClient(base)
    await signInAs(weak, person.id, { level: 'password' })
    const [inv] = await invitationsTo(b.org, person.email)
    const page = (await weak.text('/settings/security')).html.replaceAll('<!-- -->', '')
    expect(page).toContain('Acme Echo requires an authenticator app or a security key within 7 days')
    const tooWeak = await weak.post('/settings/security', { intent: 'accept_invitation', invitationId: inv.id })
    expect(tooWeak.status).toBe(302)
    expect(tooWeak.headers.get('location')).toMatch(/^\/settings\/security\/confirm/)
    expect(await membershipsOf(person.id)).toEqual([])

    const member = new TestClient(base)
    await signInAs(member, person.id)
    const res = await member.post('/settings/security', { intent: 'accept_invitation', invitationId: inv.id })
    expect(res.status).toBe(200)
    expect(await membershipsOf(person.id)).toEqual([b.org.id])
    const [membership] = await db.select().from(schema.memberships).where(eq(schema.memberships.userId, person.id))
    // joined_at = now: the grace period of a Required organization starts when the account joins.
    expect(Math.abs(membership.joinedAt.getTime() - Date.now())).toBeLessThan(60_000)
    expect(membership.role).toBe('member')
    const [accepted] = await events('org.invitation_accepted', b.org.id)
    expect(accepted).toMatchObject({ actorId: person.id, subjectId: person.id })
    // Single use: the second answer finds nothing open.
    expect((await member.post('/settings/security', { intent: 'accept_invitation', invitationId: inv.id })).status).toBe(404)
    expect((await member.post('/settings/security', { intent: 'decline_invitation', invitationId: inv.id })).status).toBe(404)
    expect(await events('org.invitation_accepted', b.org.id)).toHaveLength(1)
    expect((await member.text('/settings/security')).html).not.toContain('invitations-heading')
  })

  it('a password-only session is enough for an account without an app or key; declining joins nothing', async () => {
    const b = await orgWithAdmins('Foxtrot')
    await setPolicy(b.org, { mode: 'optional' })
    const c = await orgWithAdmins('Golf')
    await setPolicy(c.org, { mode: 'disabled' })
    const person = await createUser({ email: 'plain@example.test' })
    await invite(b.adminClient, b.org, person.email)
    await invite(c.adminClient, c.org, person.email)
    const client = new TestClient(base)
    await signInAs(client, person.id, { level: 'password' })
    const page = (await client.text('/settings/security')).html.replaceAll('<!-- -->', '')
    expect(page).toContain('Foxtrot asks for a second factor if you set one up (optional)')
    expect(page).toContain('Golf does not ask for a second factor')
    const [toB] = await invitationsTo(b.org, person.email)
    const [toC] = await invitationsTo(c.org, person.email)
    expect((await client.post('/settings/security', { intent: 'decline_invitation', invitationId: toB.id })).status).toBe(200)
    expect((await client.post('/settings/security', { intent: 'accept_invitation', invitationId: toC.id })).status).toBe(200)
    expect(await membershipsOf(person.id)).toEqual([c.org.id])
    expect((await invitationsTo(b.org, person.email))[0].state).toBe('declined')
    expect(await events('org.invitation_declined', b.org.id)).toHaveLength(1)
    // Someone else's invitation cannot be answered.
    const other = await createUser({ email: 'other@example.test' })
    await invite(b.adminClient, b.org, other.email)
    const [toOther] = await invitationsTo(b.org, other.email)
    expect((await client.post('/settings/security', { intent: 'accept_invitation', invitationId: toOther.id })).status).toBe(404)
    expect(await membershipsOf(other.id)).toEqual([])
  })

  it('over the API: list with the policy, accept, decline; step-up needed; API keys and strangers refused', async () => {
    const b = await orgWithAdmins('Hotel')
    await setPolicy(b.org, { mode: 'required', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 14 })
    const c = await orgWithAdmins('India')
    const person = await createUser({ email: 'api-person@example.test' })
    await giveFactors(person.id)
    await invite(b.adminClient, b.org, person.email, 'member')
    await invite(c.ownerClient, c.org, person.email, 'admin')
    const token = await apiToken(person.id)

    const list = await apiCall(base, '/api/me/invitations', { token })
    expect(list.status).toBe(200)
    expect(list.body.data.invitations).toHaveLength(2)
    const hotel = list.body.data.invitations.find((x: { organization: { name: string } }) => x.organization.name === 'Hotel')
    expect(hotel).toMatchObject({ role: 'member', region: 'us', policy: 'Hotel requires an authenticator app, a security key or an email code within 14 days' })
    const india = list.body.data.invitations.find((x: { organization: { name: string } }) => x.organization.name === 'India')

    // A password-level session of an account with an app: 403 step_up_required, nothing written.
    const weak = await apiCall(base, `/api/me/invitations/${hotel.id}/accept`, { method: 'POST', token: await apiToken(person.id, 'password') })
    expect(weak.status).toBe(403)
    expect(weak.body.error.code).toBe('step_up_required')
    expect(await membershipsOf(person.id)).toEqual([])

    // Another member cannot answer it; a bad id is a 404.
    const stranger = await createUser({ email: 'stranger@example.test' })
    expect((await apiCall(base, `/api/me/invitations/${hotel.id}/accept`, { method: 'POST', token: await apiToken(stranger.id) })).status).toBe(404)
    expect((await apiCall(base, '/api/me/invitations/not-a-uuid/accept', { method: 'POST', token })).status).toBe(404)
    expect(await membershipsOf(stranger.id)).toEqual([])

    const accepted = await apiCall(base, `/api/me/invitations/${india.id}/accept`, { method: 'POST', token })
    expect(accepted.status).toBe(200)
    expect(accepted.body.data.invitation).toMatchObject({ id: india.id, organizationId: c.org.id, role: 'admin', state: 'accepted' })
    const declined = await apiCall(base, `/api/me/invitations/${hotel.id}/decline`, { method: 'POST', token })
    expect(declined.status).toBe(200)
    expect(await membershipsOf(person.id)).toEqual([c.org.id])
    expect((await apiCall(base, '/api/me/invitations', { token })).body.data.invitations).toEqual([])
    expect((await apiCall(base, `/api/me/invitations/${hotel.id}/accept`, { method: 'POST', token })).status).toBe(404)

    // An organization API key is not a person: it cannot list or answer invitations.
    const adminToken = await apiToken(b.admin.id)
    const bot = await apiCall(base, `/api/organizations/${b.org.id}/service-accounts`, { token: adminToken, json: { name: 'Bot', email: 'bot@hotel.test', region: 'us' } })
    expect(bot.status, JSON.stringify(bot.body)).toBe(201)
    await db.insert(schema.exemptions).values({ organizationId: b.org.id, userId: bot.body.data.serviceAccount.id, region: 'us', reason: 'ci', createdBy: b.admin.id })
    const key = await apiCall(base, `/api/organizations/${b.org.id}/api-keys`, { token: adminToken, json: { serviceAccountId: bot.body.data.serviceAccount.id, name: 'ci', scopes: ['policy:read'] } })
    expect(key.status).toBe(201)
    expect((await invite(c.adminClient, c.org, 'bot@hotel.test')).status).toBe(302)
    const [toBot] = await invitationsTo(c.org, 'bot@hotel.test')
    expect((await apiCall(base, '/api/me/invitations', { token: key.body.data.key })).status).toBe(403)
    expect((await apiCall(base, `/api/me/invitations/${toBot.id}/accept`, { method: 'POST', token: key.body.data.key })).status).toBe(403)
    expect((await invitationsTo(c.org, 'bot@hotel.test'))[0].state).toBe('pending')
    expect(await membershipsOf(bot.body.data.serviceAccount.id)).toEqual([b.org.id])
  })

  it('two racing accepts: exactly one wins, one membership, one event', async () => {
    const b = await orgWithAdmins('Juliett')
    const person = await createUser({ email: 'racer@example.test' })
    await invite(b.adminClient, b.org, person.email)
    const [inv] = await invitationsTo(b.org, person.email)
    const [t1, t2] = await Promise.all([apiToken(person.id), apiToken(person.id)])
    const web = new TestClient(base)
    await signInAs(web, person.id)
    const answers = await Promise.all([
      apiCall(base, `/api/me/invitations/${inv.id}/accept`, { method: 'POST', token: t1 }),
      apiCall(base, `/api/me/invitations/${inv.id}/accept`, { method: 'POST', token: t2 }),
      apiCall(base, `/api/me/invitations/${inv.id}/decline`, { method: 'POST', token: t2 }),
      web.post('/settings/security', { intent: 'accept_invitation', invitationId: inv.id }),
    ])
    const statuses = answers.map((a) => a.status).sort()
    expect(statuses.filter((s) => s === 200)).toHaveLength(1)
    expect(statuses.filter((s) => s === 404)).toHaveLength(3)
    const closed = [...(await events('org.invitation_accepted', b.org.id)), ...(await events('org.invitation_declined', b.org.id))]
    expect(closed).toHaveLength(1)
    expect(await membershipsOf(person.id)).toEqual(closed[0].action === 'org.invitation_accepted' ? [b.org.id] : [])
  })
})

describe('cancelling', () => {
  it('cancels only the inviting organization’s invitation; never an account, a membership or another organization’s invitation', async () => {
    const a = await orgWithAdmins('Kilo')
    const b = await orgWithAdmins('Lima')
    const person = await createUser({ org: a.org, email: 'both@example.test' })
    await invite(b.adminClient, b.org, person.email)
    const c = await orgWithAdmins('Mike')
    await invite(c.adminClient, c.org, person.email)
    const [toB] = await invitationsTo(b.org, person.email)
    const [toC] = await invitationsTo(c.org, person.email)

    // B's admin tries to cancel C's invitation: 404, C's stays open, nothing audited in C.
    const cross = await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: toC.id })
    expect(cross.status).toBe(404)
    expect((await invitationsTo(c.org, person.email))[0].state).toBe('pending')
    expect(await events('org.invitation_cancelled', c.org.id)).toEqual([])
    // And C's cancel form on B's slug reaches nothing either.
    expect((await c.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: toB.id })).status).toBe(404)

    const own = await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: toB.id })
    expect(own.status).toBe(302)
    expect((await invitationsTo(b.org, person.email))[0]).toMatchObject({ state: 'cancelled', closedBy: b.admin.id })
    expect((await invitationsTo(c.org, person.email))[0].state).toBe('pending')
    const [user] = await db.select().from(schema.users).where(eq(schema.users.id, person.id))
    expect(user.passwordHash).toBe(person.passwordHash)
    expect(await membershipsOf(person.id)).toEqual([a.org.id])
    expect(await events('org.invitation_cancelled', b.org.id)).toHaveLength(1)
    // A cancelled invitation cannot be accepted, and is gone from the member's page.
    const client = new TestClient(base)
    await signInAs(client, person.id)
    expect((await client.post('/settings/security', { intent: 'accept_invitation', invitationId: toB.id })).status).toBe(404)
    const page = (await client.text('/settings/security')).html
    expect(page).not.toContain('Lima')
    expect(page).toContain('Mike')
    // Twice: 404.
    expect((await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: toB.id })).status).toBe(404)
  })

  it('a cancelled link for a new address creates no account', async () => {
    const b = await orgWithAdmins('November')
    const since = Date.now()
    await invite(b.adminClient, b.org, 'link@november.test')
    const mail = await smtp.waitFor('link@november.test', { subject: /invited to November/, since })
    const token = mail.text.match(/\/invite\/(\S+)/)![1]
    const [inv] = await invitationsTo(b.org, 'link@november.test')
    await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'cancel_invitation', invitationId: inv.id })
    const res = await new TestClient(base).post(`/invite/${token}`, { password: 'a long new passphrase', confirm: 'a long new passphrase' })
    expect(res.status).toBe(400)
    expect(await db.select().from(schema.users).where(eq(schema.users.email, 'link@november.test'))).toEqual([])
  })
})

describe('service accounts', () => {
  it('are created by their organization (console and API), never invited, and an address in use is refused', async () => {
    const b = await orgWithAdmins('Oscar')
    const a = await createOrg({ name: 'Papa' })
    const victim = await createUser({ org: a, email: 'victim@papa.test' })
    const foreignBot = await createUser({ org: a, email: 'bot@papa.test', kind: 'service', password: null })

    const made = await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'service_account', saName: 'Deploy bot', saEmail: 'Deploy-Bot@oscar.test', saRegion: 'us' })
    expect(made.status).toBe(302)
    const [bot] = await db.select().from(schema.users).where(eq(schema.users.email, 'deploy-bot@oscar.test'))
    expect(bot).toMatchObject({ kind: 'service', passwordHash: null, name: 'Deploy bot', region: 'us' })
    expect(await membershipsOf(bot.id)).toEqual([b.org.id])
    expect(await events('org.service_account_created', b.org.id)).toHaveLength(1)

    const token = await apiToken(b.admin.id)
    const viaApi = await apiCall(base, `/api/organizations/${b.org.id}/service-accounts`, { token, json: { name: 'Backup bot', email: 'backup-bot@oscar.test', region: 'us' } })
    expect(viaApi.status).toBe(201)
    expect(viaApi.body.data.serviceAccount).toMatchObject({ email: 'backup-bot@oscar.test', name: 'Backup bot', region: 'us' })
    expect(await membershipsOf(viaApi.body.data.serviceAccount.id)).toEqual([b.org.id])

    // An address already used in that region (a person, another organization's service account): 409, nothing created or joined.
    const usersBefore = (await db.select().from(schema.users)).length
    for (const email of [victim.email, foreignBot.email]) {
      const web = await b.adminClient.post(`/orgs/${b.org.slug}/members`, { intent: 'service_account', saName: 'Grab', saEmail: email, saRegion: 'us' })
      expect(web.status, email).toBe(409)
      const html = await web.text()
      expect(html).toContain('already exists in US')
      expect(html).toContain('id="sa-email-error"')
      const api = await apiCall(base, `/api/organizations/${b.org.id}/service-accounts`, { token, json: { name: 'Grab', email, region: 'us' } })
      expect(api.status, email).toBe(409)
      expect(api.body.error.code).toBe('conflict')
    }
    expect((await db.select().from(schema.users)).length).toBe(usersBefore)
    expect(await membershipsOf(victim.id)).toEqual([a.id])
    expect(await membershipsOf(foreignBot.id)).toEqual([a.id])
    expect((await events('security.change_refused', b.org.id)).filter((e) => (e.details as { attempt?: string }).attempt === 'org.service_account_create')).toHaveLength(4)

    // Bad input (an extra field such as a password included): 400; a plain member: 403 (the API's answer to a too-low role).
    expect((await apiCall(base, `/api/organizations/${b.org.id}/service-accounts`, { token, json: { name: '', email: 'x@oscar.test', region: 'us', password: 'sneaky password' } })).status).toBe(400)
    const plain = await createUser({ org: b.org, email: 'plain@oscar.test' })
    expect((await apiCall(base, `/api/organizations/${b.org.id}/service-accounts`, { token: await apiToken(plain.id), json: { name: 'Bot', email: 'x@oscar.test', region: 'us' } })).status).toBe(403)
    expect((await db.select().from(schema.users).where(eq(schema.users.email, 'x@oscar.test')))).toEqual([])
  })

  it('inviting a service account’s address sends no link and never sets its password', async () => {
    const a = await createOrg({ name: 'Quebec' })
    const bot = await createUser({ org: a, email: 'ci@quebec.test', kind: 'service', password: null })
    const b = await orgWithAdmins('Romeo')
    const since = Date.now()
    expect((await invite(b.adminClient, b.org, bot.email)).status).toBe(302)
    const mail = await smtp.waitFor(bot.email, { subject: /invited to Romeo/, since })
    expect(mail.text).not.toContain('/invite/')
    const [inv] = await invitationsTo(b.org, bot.email)
    expect(await db.select().from(schema.verifications).where(eq(schema.verifications.target, inv.id))).toEqual([])
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, bot.id))
    expect(after.passwordHash).toBeNull()
    expect(await membershipsOf(bot.id)).toEqual([a.id])
    // Invited is not a member: Romeo can neither exempt it nor issue it a key.
    const exempt = await b.adminClient.post(`/orgs/${b.org.slug}/exemptions`, { intent: 'add', email: bot.email, region: 'us', reason: 'our robot now' })
    expect(exempt.status).toBe(400)
    expect(await exempt.text()).toContain('No member of this organization')
    const key = await apiCall(base, `/api/organizations/${b.org.id}/api-keys`, { token: await apiToken(b.admin.id), json: { serviceAccountId: bot.id, name: 'grab', scopes: ['policy:read'] } })
    expect(key.status).toBe(400)
    for (const table of [schema.exemptions, schema.apiKeys]) expect(await db.select().from(table).where(eq(table.userId, bot.id))).toEqual([])
  })
})
