/**
 * Admins cannot take over admins (decision 057), tried as an attacker would through the real
 * server: an admin demoting or removing another admin, demote-then-reset, approving one's own
 * request, support acting on their own account, and unlocking a frozen or privileged account
 * alone. Every refusal writes nothing but a `security.change_refused` event naming who tried.
 */
import { and, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
type Person = { id: string; email: string; client: TestClient }
let org: { id: string; slug: string }
let owner: Person
let adminA: Person
let alice: Person
let bob: Person

async function person(input: Parameters<typeof createUser>[0]): Promise<Person> {
  const user = await createUser(input)
  const client = new TestClient(base)
  await signInAs(client, user.id)
  return { id: user.id, email: user.email, client }
}

beforeAll(async () => {
  ;({ url: base } = await startTestApp())
  org = await createOrg({ slug: 'takeover', name: 'Takeover Inc' })
  owner = await person({ email: 'owner@takeover.test', org, role: 'owner' })
  adminA = await person({ email: 'admin-a@takeover.test', org, role: 'admin' })
  alice = await person({ email: 'alice.support@gatehouse.test', platformRole: 'support' })
  bob = await person({ email: 'bob.support@gatehouse.test', platformRole: 'support' })
})

const MEMBERS = () => `/orgs/${org.slug}/members`
const resetPath = (userId: string) => `/orgs/${org.slug}/members/${userId}/reset`
const ORG_RESET = { intent: 'reset', reason: 'Lost phone, confirmed in person at the office', ticket: '', checks: ['manager', 'video_id'], confirm: 'yes' }
const SUPPORT_RESET = { intent: 'reset', reason: 'Lost every device, identity checked twice', ticket: 'SUP-9', checks: ['video_id', 'callback'], confirm: 'yes' }
const UNLOCK = { intent: 'unlock', reason: 'Member confirmed on a video call' }

const roleOf = async (userId: string) =>
  (await db.select({ role: schema.memberships.role }).from(schema.memberships).where(and(eq(schema.memberships.userId, userId), eq(schema.memberships.organizationId, org.id))))[0]?.role
const userRow = async (userId: string) => (await db.select().from(schema.users).where(eq(schema.users.id, userId)))[0]

async function refusals(actorId: string, subjectId: string) {
  return db
    .select()
    .from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.action, 'security.change_refused'), eq(schema.auditEvents.actorId, actorId), eq(schema.auditEvents.subjectId, subjectId)))
}
const events = (subjectId: string, action: string) => db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, subjectId), eq(schema.auditEvents.action, action)))
const pendingRequests = (targetUserId: string) =>
  db.select().from(schema.supportRequests).where(and(eq(schema.supportRequests.targetUserId, targetUserId), eq(schema.supportRequests.status, 'pending')))
const decideForm = (r: typeof schema.supportRequests.$inferSelect, intent: 'approve' | 'refuse' = 'approve') => ({ intent, requestId: r.id, targetUserId: r.targetUserId, requestAction: r.action, reason: r.reason })
const lockFor = (userId: string, interval: string) => db.update(schema.users).set({ lockedUntil: sql`now() + ${interval}::interval`, failedAttempts: 0 }).where(eq(schema.users.id, userId))

describe('only owners change the role of an admin or owner', () => {
  it('an admin cannot demote, remove or make an admin: 403, nothing written, audited with who tried', async () => {
    const adminB = await createUser({ email: 'admin-b@takeover.test', org, role: 'admin' })
    const plain = await createUser({ email: 'plain@takeover.test', org, role: 'member' })
    const changedBefore = (await events(adminB.id, 'org.role_changed')).length

    const demote = await adminA.client.post(MEMBERS(), { intent: 'role', userId: adminB.id, role: 'member' })
    expect(demote.status).toBe(403)
    expect(await demote.text()).toContain('Only an owner can change the role of an admin')
    const remove = await adminA.client.post(MEMBERS(), { intent: 'remove', userId: adminB.id })
    expect(remove.status).toBe(403)
    const promote = await adminA.client.post(MEMBERS(), { intent: 'role', userId: plain.id, role: 'admin' })
    expect(promote.status).toBe(403)

    expect(await roleOf(adminB.id)).toBe('admin')
    expect(await roleOf(plain.id)).toBe('member')
    expect((await userRow(adminB.id)).privilegedUntil).toBeNull()
    expect(await events(adminB.id, 'org.role_changed')).toHaveLength(changedBefore)
    const refused = await refusals(adminA.id, adminB.id)
    expect(refused.map((e) => e.details.attempt).sort()).toEqual(['org.member_remove', 'org.role_change'])
    expect(refused[0]).toMatchObject({ actorLabel: adminA.email, organizationId: org.id })
    expect(refused[0].details).toMatchObject({ code: 'forbidden', actorRole: 'admin' })
    expect((await refusals(adminA.id, plain.id))[0].details).toMatchObject({ code: 'forbidden', attempt: 'org.role_change', new: 'admin' })

    // An admin still manages plain members; an owner manages everyone.
    expect((await adminA.client.post(MEMBERS(), { intent: 'remove', userId: plain.id })).status).toBe(302)
    expect((await owner.client.post(MEMBERS(), { intent: 'role', userId: adminB.id, role: 'owner' })).status).toBe(302)
    expect(await roleOf(adminB.id)).toBe('owner')
  })
})

describe('demote then reset', () => {
  it('an admin demoted by an owner is reset only through support, with a second person', async () => {
    const adminB = await createUser({ email: 'demoted@takeover.test', org, role: 'admin' })
    await giveFactors(adminB.id)
    expect((await owner.client.post(MEMBERS(), { intent: 'role', userId: adminB.id, role: 'member' })).status).toBe(302)
    expect(await roleOf(adminB.id)).toBe('member')
    // The demotion is remembered for 30 days, in the same transaction.
    const until = (await userRow(adminB.id)).privilegedUntil!
    expect(until.getTime() - Date.now()).toBeGreaterThan(29.9 * 86_400_000)
    expect(until.getTime() - Date.now()).toBeLessThanOrEqual(30 * 86_400_000)

    // The org admin is told to ask support, and a forged POST is refused and audited.
    const page = await adminA.client.text(resetPath(adminB.id))
    expect(page.status).toBe(200)
    expect(page.html).toContain('was an admin or owner in the last 30 days')
    expect(page.html).not.toContain('Identity checks done')
    const res = await adminA.client.post(resetPath(adminB.id), ORG_RESET)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('was an admin or owner in the last 30 days: ask support')
    expect((await securityCounts(adminB.id)).totp).toBe(1)
    expect(await events(adminB.id, 'auth.mfa_reset_by_org_admin')).toHaveLength(0)
    const [refused] = await refusals(adminA.id, adminB.id)
    expect(refused).toMatchObject({ organizationId: org.id, actorLabel: adminA.email })
    expect(refused.details).toMatchObject({ code: 'two_person_required', attempt: 'auth.mfa_reset_by_org_admin' })

    // Support's reset waits for a second support person, then happens.
    const asked = await alice.client.post(`/support/users/${adminB.id}`, SUPPORT_RESET)
    expect(asked.headers.get('location')).toBe(`/support/users/${adminB.id}?notice=requested`)
    expect((await securityCounts(adminB.id)).totp).toBe(1)
    const [request] = await pendingRequests(adminB.id)
    expect(request).toMatchObject({ action: 'reset_mfa', requestedBy: alice.id })
    const [requested] = await events(adminB.id, 'support.approval_requested')
    expect(requested.details).toMatchObject({ why: 'an owner or admin of an organization in the last 30 days' })
    expect((await bob.client.post('/support/approvals', decideForm(request))).status).toBe(302)
    expect((await securityCounts(adminB.id)).totp).toBe(0)
  })

  it('removing an admin is remembered too; once 30 days have passed the org admin may reset again', async () => {
    const adminC = await createUser({ email: 'removed@takeover.test', org, role: 'admin' })
    expect((await owner.client.post(MEMBERS(), { intent: 'remove', userId: adminC.id })).status).toBe(302)
    expect((await userRow(adminC.id)).privilegedUntil!.getTime()).toBeGreaterThan(Date.now() + 29 * 86_400_000)

    // Time passes by changing data: the demotion was 31 days ago.
    const old = await createUser({ email: 'long-ago@takeover.test', org, role: 'member' })
    await giveFactors(old.id)
    await db.update(schema.users).set({ privilegedUntil: sql`now() - interval '1 day'` }).where(eq(schema.users.id, old.id))
    expect((await adminA.client.post(resetPath(old.id), ORG_RESET)).status).toBe(302)
    expect((await securityCounts(old.id)).totp).toBe(0)
  })

  it('an org admin cannot reset themselves through the members page', async () => {
    await giveFactors(adminA.id)
    const res = await adminA.client.post(resetPath(adminA.id), ORG_RESET)
    expect(res.status).toBe(403)
    expect(await res.text()).toContain('cannot reset your own two-factor authentication here')
    expect((await securityCounts(adminA.id)).totp).toBe(1)
    expect((await refusals(adminA.id, adminA.id))[0].details).toMatchObject({ code: 'forbidden', attempt: 'auth.mfa_reset_by_org_admin' })
  })
})

describe('unlock under the two-person rule', () => {
  it('a frozen account waits for a second person; the requester cannot approve; the approver unlocks', async () => {
    const member = await createUser({ email: 'froze-it@takeover.test', org, role: 'member' })
    await lockFor(member.id, '100 years')
    const asked = await alice.client.post(`/support/users/${member.id}`, UNLOCK)
    expect(asked.status).toBe(302)
    expect(asked.headers.get('location')).toBe(`/support/users/${member.id}?notice=unlock_requested`)
    expect((await userRow(member.id)).lockedUntil!.getTime()).toBeGreaterThan(Date.now() + 365 * 86_400_000)
    expect(await events(member.id, 'support.unlock')).toHaveLength(0)
    const [request] = await pendingRequests(member.id)
    expect(request).toMatchObject({ action: 'unlock', requestedBy: alice.id, reason: UNLOCK.reason })

    // Self-approval: refused, audited, still locked and pending.
    const self = await alice.client.post('/support/approvals', decideForm(request))
    expect(self.status).toBe(403)
    expect(await self.text()).toContain('another support person must approve')
    expect((await pendingRequests(member.id))[0]?.id).toBe(request.id)
    expect((await userRow(member.id)).lockedUntil).not.toBeNull()
    expect((await refusals(alice.id, member.id))[0].details).toMatchObject({ code: 'forbidden', attempt: 'support.approval_granted', requestId: request.id, why: 'self' })

    const approved = await bob.client.post('/support/approvals', decideForm(request))
    expect(approved.headers.get('location')).toBe('/support/approvals?notice=unlocked')
    expect((await userRow(member.id)).lockedUntil).toBeNull()
    const [unlock] = await events(member.id, 'support.unlock')
    expect(unlock.actorId).toBe(alice.id)
    expect(unlock.details).toMatchObject({ requestId: request.id, approvedBy: bob.email, reason: UNLOCK.reason })
    expect((await signIn(new TestClient(base), member.email)).status).toBe(302)
  })

  it('an admin, or an admin of the last 30 days, waits for a second person even for a plain lockout', async () => {
    const admin = await createUser({ email: 'locked-admin@takeover.test', org, role: 'admin' })
    const former = await createUser({ email: 'locked-former@takeover.test', org, role: 'member' })
    await db.update(schema.users).set({ privilegedUntil: sql`now() + interval '10 days'` }).where(eq(schema.users.id, former.id))
    for (const target of [admin, former]) {
      await lockFor(target.id, '1 hour')
      const res = await alice.client.post(`/support/users/${target.id}`, UNLOCK)
      expect(res.headers.get('location')).toContain('notice=unlock_requested')
      expect((await userRow(target.id)).lockedUntil).not.toBeNull()
      expect(await pendingRequests(target.id)).toHaveLength(1)
    }
  })

  it("a plain member's plain lockout is still a one-person unlock", async () => {
    const member = await createUser({ email: 'locked-plain@takeover.test', org, role: 'member' })
    await lockFor(member.id, '1 hour')
    const res = await alice.client.post(`/support/users/${member.id}`, UNLOCK)
    expect(res.headers.get('location')).toBe(`/support/users/${member.id}?notice=unlocked`)
    expect((await userRow(member.id)).lockedUntil).toBeNull()
    expect(await pendingRequests(member.id)).toHaveLength(0)
  })
})

describe('nobody acts on their own account', () => {
  it('support cannot reset or unlock themselves, nor decide a request about themselves', async () => {
    await giveFactors(alice.id)
    const reset = await alice.client.post(`/support/users/${alice.id}`, SUPPORT_RESET)
    expect(reset.status).toBe(403)
    expect(await reset.text()).toContain('cannot reset your own account')
    await lockFor(alice.id, '1 hour')
    const unlock = await alice.client.post(`/support/users/${alice.id}`, UNLOCK)
    expect(unlock.status).toBe(403)
    expect(await unlock.text()).toContain('cannot unlock your own account')
    expect((await userRow(alice.id)).lockedUntil).not.toBeNull()
    expect((await securityCounts(alice.id)).totp).toBe(1)
    expect(await pendingRequests(alice.id)).toHaveLength(0)
    expect((await refusals(alice.id, alice.id)).map((e) => e.details.attempt).sort()).toEqual(['auth.mfa_reset_by_support', 'support.unlock'])

    // Bob asks to unlock Alice (a platform account: a request); Alice cannot approve it.
    expect((await bob.client.post(`/support/users/${alice.id}`, UNLOCK)).headers.get('location')).toContain('notice=unlock_requested')
    const [request] = await pendingRequests(alice.id)
    const decided = await alice.client.post('/support/approvals', decideForm(request))
    expect(decided.status).toBe(403)
    expect(await decided.text()).toContain('about your own account')
    expect((await userRow(alice.id)).lockedUntil).not.toBeNull()
    expect((await refusals(alice.id, alice.id)).some((e) => e.details.why === 'self_target')).toBe(true)
  })
})
