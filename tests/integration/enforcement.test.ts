/**
 * loadSignInDecision over real database rows (not through the sign-in pages): the same decisions
 * the pure function makes, from data; and the SQL status of the members table agrees with it.
 */
import { and, eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { loadEffectivePolicy as loadSignInDecision } from '#app/policy/member-status.server.ts'
import { orgStatus } from '#app/policy/effective-policy.ts'
import { listMembers } from '#app/orgs/members.server.ts'
import { DomainError } from '#app/errors.ts'
import { extendDeadline } from '#app/policy/exemptions.server.ts'
import { updateRegionPolicy } from '#app/policy/region-policy.server.ts'
import { sweepGrace } from '#app/policy/grace-sweep.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'

const DAY = 86_400_000
/** An admin who confirmed their second factor just now (lowering protection needs it: decision 056). */
const fresh2fa = () => ({ kind: 'session' as const, secondFactorAt: new Date() })
const ago = (days: number) => new Date(Date.now() - days * DAY)

async function setPolicy(orgId: string, region: string, values: Partial<typeof schema.regionPolicies.$inferInsert>) {
  await db.update(schema.regionPolicies).set(values).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, region)))
}
/** A member who joined long ago, so that the deadline follows required_since. */
async function oldMember(input: Parameters<typeof createUser>[0]) {
  const user = await createUser(input)
  await db.update(schema.memberships).set({ joinedAt: ago(365) }).where(eq(schema.memberships.userId, user.id))
  return user
}
async function addTotp(userId: string, confirmed = true) {
  await db.insert(schema.totpFactors).values({ userId, secretCiphertext: 'x.y.z', keyId: 't1', confirmedAt: confirmed ? new Date() : null })
}
async function addKey(userId: string) {
  await db.insert(schema.webauthnCredentials).values({ userId, credentialId: `cred-${userId}`, publicKey: 'pk', label: 'Key' })
}
async function addRecoveryCodes(userId: string) {
  await db.insert(schema.recoveryCodes).values({ userId, batchId: userId, codeHash: 'h' })
}

describe('loadSignInDecision', () => {
  it('no membership in the region: optional, password only', async () => {
    const user = await createUser({ region: 'jp' })
    const d = await loadSignInDecision(user.id)
    expect(d.mode).toBe('optional')
    expect(d.signIn.kind).toBe('none')
  })

  it('membership in an org that does not operate in the member region does not count', async () => {
    const org = await createOrg({ regions: ['eu'] })
    await setPolicy(org.id, 'eu', { mode: 'required', allowedMethods: ['totp'], requiredSince: ago(30) })
    const user = await createUser({ region: 'us', org })
    expect((await loadSignInDecision(user.id)).signIn.kind).toBe('none')
  })

  it('required with email allowed: asked for an email code', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'required', requiredSince: ago(1) })
    const user = await oldMember({ org })
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'second_factor', methods: ['email'] })
  })

  it('required app/key: grace, then enroll-only or blocked with the owners as contacts', async () => {
    const org = await createOrg({ name: 'Initech' })
    const owner = await createUser({ org, role: 'owner', email: 'boss@initech.test' })
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: ago(2), gracePeriodDays: 7 })
    const user = await oldMember({ org })
    const grace = await loadSignInDecision(user.id)
    expect(grace.signIn.kind).toBe('grace_prompt')
    expect(grace.signIn.kind === 'grace_prompt' && grace.signIn.organizations).toEqual(['Initech'])
    expect(grace.deadline!.getTime()).toBeGreaterThan(Date.now() + 4.9 * DAY)

    // Time moves past the deadline (by data): force enrollment.
    await setPolicy(org.id, 'us', { requiredSince: ago(8) })
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'enroll_only', allowedMethods: ['totp', 'webauthn'], prove: ['email'] })
    await setPolicy(org.id, 'us', { onDeadline: 'block' })
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'blocked', organizations: ['Initech'], contacts: ['boss@initech.test'] })
    void owner

    // Recovery codes and an unconfirmed app do not count; a confirmed app does.
    await addRecoveryCodes(user.id)
    await addTotp(user.id, false)
    expect((await loadSignInDecision(user.id)).signIn.kind).toBe('blocked')
    await db.update(schema.totpFactors).set({ confirmedAt: new Date() }).where(eq(schema.totpFactors.userId, user.id))
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'second_factor', methods: ['totp'] })
  })

  it('a factor the policy does not allow does not satisfy it', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['webauthn'], requiredSince: ago(30) })
    const user = await oldMember({ org })
    await addTotp(user.id)
    expect((await loadSignInDecision(user.id)).status).toBe('overdue')
    await addKey(user.id)
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'second_factor', methods: ['webauthn'] })
  })

  it('two organizations: strictest mode; email only where every organization asking this member allows it', async () => {
    const a = await createOrg()
    const b = await createOrg()
    await setPolicy(a.id, 'us', { mode: 'optional', allowedMethods: ['totp', 'webauthn'] })
    await setPolicy(b.id, 'us', { mode: 'required', requiredSince: ago(1) })
    const user = await oldMember({ org: a })
    await db.insert(schema.memberships).values({ userId: user.id, organizationId: b.id })
    // Optional asks nothing of a member without an app or key: B's email code stands.
    const d = await loadSignInDecision(user.id)
    expect(d.mode).toBe('required')
    expect(d.allowedMethods).toEqual(['email', 'totp', 'webauthn'])
    expect(d.signIn).toEqual({ kind: 'second_factor', methods: ['email'] })
    // Once the member has an app, A asks for it too, and A does not allow email.
    await addTotp(user.id)
    expect((await loadSignInDecision(user.id)).signIn).toEqual({ kind: 'second_factor', methods: ['totp'] })
  })

  it('exempt service account is not asked; a lapsed exemption no longer protects it (without any worker)', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp'], requiredSince: ago(30), onDeadline: 'block' })
    const bot = await oldMember({ org, kind: 'service' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI', expiresAt: new Date(Date.now() + DAY) })
    expect((await loadSignInDecision(bot.id)).status).toBe('exempt')
    await db.update(schema.exemptions).set({ expiresAt: ago(0.01) }).where(eq(schema.exemptions.userId, bot.id))
    expect((await loadSignInDecision(bot.id)).signIn.kind).toBe('blocked')
  })

  it('an extension moves the deadline', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp'], requiredSince: ago(30) })
    const user = await oldMember({ org })
    expect((await loadSignInDecision(user.id)).status).toBe('overdue')
    const until = new Date(Date.now() + 3 * DAY)
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: user.id, region: 'us', deadline: until, reason: 'travel' })
    const d = await loadSignInDecision(user.id)
    expect(d.status).toBe('in_grace')
    expect(d.deadline?.getTime()).toBe(until.getTime())
  })

  it('staff always need an app or key; disabled asks nothing', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'disabled' })
    const staff = await createUser({ org, platformRole: 'support' })
    expect((await loadSignInDecision(staff.id)).signIn.kind).toBe('enroll_only')
    const member = await createUser({ org })
    await addTotp(member.id)
    expect((await loadSignInDecision(member.id)).signIn.kind).toBe('none')
  })

  it('the members table status and deadline (SQL) agree with the pure function, extensions included', async () => {
    const org = await createOrg({ regions: ['us'] })
    // Required since 3 days, 2 days of grace: old members are past it, new joiners are not.
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: ago(3), gracePeriodDays: 2 })
    const inGrace = await createUser({ org, name: 'a-grace' })
    const compliant = await createUser({ org, name: 'b-compliant' })
    await addKey(compliant.id)
    const late = await oldMember({ org, name: 'c-late' })
    // An extension that lapsed after the computed deadline: the later one, still overdue.
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: late.id, region: 'us', deadline: ago(0.5), reason: 'x' })
    const bot = await createUser({ org, kind: 'service', name: 'd-bot' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI' })
    // An extension later than the computed deadline: back in grace until the extension.
    const extended = await oldMember({ org, name: 'e-extended' })
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: extended.id, region: 'us', deadline: new Date(Date.now() + 3 * DAY), reason: 'travel' })
    // A stale extension earlier than the computed deadline: ignored, still in grace.
    const stale = await createUser({ org, name: 'f-stale' })
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: stale.id, region: 'us', deadline: ago(1), reason: 'old period' })
    const now = new Date()
    const page = await listMembers(orgScope(org), { sort: 'name', dir: 'asc', page: 1, pageSize: 50 }, now)
    const byId = new Map(page.rows.map((r) => [r.userId, r]))
    const [policy] = await db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, org.id))
    for (const u of [inGrace, compliant, late, bot, extended, stale]) {
      const [mem] = await db.select().from(schema.memberships).where(eq(schema.memberships.userId, u.id))
      const [ext] = await db.select().from(schema.deadlineExtensions).where(eq(schema.deadlineExtensions.userId, u.id))
      const [ex] = await db.select().from(schema.exemptions).where(eq(schema.exemptions.userId, u.id))
      const expected = orgStatus({
        kind: u.kind, policy: { ...policy, joinedAt: mem.joinedAt }, exemption: ex ?? null, extension: ext?.deadline ?? null,
        enrolled: u.id === compliant.id ? ['webauthn'] : [], now,
      })
      expect(byId.get(u.id)?.status, u.name).toBe(expected.status)
      expect(byId.get(u.id)?.deadline?.getTime() ?? null, u.name).toBe(expected.deadline?.getTime() ?? null)
      // And sign-in (the combination, here of one organization) sees the same deadline.
      if (u.kind === 'human' && expected.deadline) expect((await loadSignInDecision(u.id, now)).deadline?.getTime(), u.name).toBe(expected.deadline.getTime())
    }
    expect(byId.get(late.id)?.status).toBe('overdue')
    expect(byId.get(extended.id)?.status).toBe('in_grace')
    expect(byId.get(stale.id)?.status).toBe('in_grace')
    expect([...byId.values()].map((r) => r.status).sort()).toEqual(['compliant', 'exempt', 'in_grace', 'in_grace', 'in_grace', 'overdue'])
  })
})

describe('deadline extensions', () => {
  it('a stale extension from an earlier Required period does not shorten a fresh grace period', async () => {
    const org = await createOrg({ name: 'Flipflop' })
    const actor = { id: (await createUser({ org, role: 'owner' })).id, label: 'owner' }
    // First Required period, long ago: the member got an extension, which has lapsed since.
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: ago(40), gracePeriodDays: 7 })
    const user = await oldMember({ org })
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: user.id, region: 'us', deadline: ago(20), reason: 'first period' })
    expect((await loadSignInDecision(user.id)).status).toBe('overdue')
    // Optional, then Required again (through the domain, so required_since moves to now).
    const fields = { allowedMethods: ['totp', 'webauthn'] as ('totp' | 'webauthn')[], gracePeriodDays: 7, onDeadline: 'block' as const, rememberDeviceDays: 14 }
    await updateRegionPolicy({ orgId: org.id, region: 'us', proposed: { mode: 'optional', ...fields }, actor, authority: fresh2fa() })
    const since = Date.now()
    await updateRegionPolicy({ orgId: org.id, region: 'us', proposed: { mode: 'required', ...fields }, actor, authority: fresh2fa() })
    const [policy] = await db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, org.id))
    expect(policy.requiredSince!.getTime()).toBeGreaterThanOrEqual(since)
    const fresh = policy.requiredSince!.getTime() + 7 * DAY

    // Sign-in: in grace until the fresh deadline (not blocked by the stale extension).
    const d = await loadSignInDecision(user.id)
    expect(d.status).toBe('in_grace')
    expect(d.signIn.kind).toBe('grace_prompt')
    expect(d.deadline?.getTime()).toBe(fresh)
    // The members table says the same.
    const page = await listMembers(orgScope(org), { sort: 'name', dir: 'asc', page: 1, pageSize: 50 })
    const row = page.rows.find((r) => r.userId === user.id)!
    expect(row.status).toBe('in_grace')
    expect(row.deadline?.getTime()).toBe(fresh)
    // The sweep records no grace_expired and sends no reminder yet (7 days out: the 7-day one only).
    await sweepGrace()
    const expired = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'policy.grace_expired'), eq(schema.auditEvents.subjectId, user.id)))
    expect(expired).toHaveLength(0)
    const keys = await db.select().from(schema.graceReminders).where(eq(schema.graceReminders.userId, user.id))
    expect(keys.map((k) => [k.offsetDays, k.deadline.getTime()])).toEqual([[7, fresh]])
  })

  it('refuses a date not later than the current deadline: nothing written, nothing audited', async () => {
    const org = await createOrg()
    await setPolicy(org.id, 'us', { mode: 'required', allowedMethods: ['totp'], requiredSince: ago(1), gracePeriodDays: 7 })
    const owner = await createUser({ org, role: 'owner' })
    const actor = { id: owner.id, label: owner.email }
    const user = await oldMember({ org })
    const scope = orgScope(org)
    const current = (await loadSignInDecision(user.id)).deadline! // about 6 days from now
    const audits = async () => (await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.deadline_extended'), eq(schema.auditEvents.subjectId, user.id)))).length
    const extensions = async () => db.select().from(schema.deadlineExtensions).where(eq(schema.deadlineExtensions.userId, user.id))

    for (const earlier of [new Date(Date.now() + 3 * DAY), current]) {
      const refused = await extendDeadline(scope, { userId: user.id, deadline: earlier, reason: 'shorter' }, actor, fresh2fa()).catch((e) => e)
      expect(refused).toBeInstanceOf(DomainError)
      expect(refused).toMatchObject({ field: 'deadline', code: 'invalid_request' })
      expect(refused.message).toMatch(/later than the member's current deadline/)
    }
    expect(await extensions()).toHaveLength(0)
    expect(await audits()).toBe(0)

    // A later date is accepted; after it, the extension itself is the date to beat.
    const later = new Date(current.getTime() + 10 * DAY)
    await extendDeadline(scope, { userId: user.id, deadline: later, reason: 'on leave' }, actor, fresh2fa())
    expect((await loadSignInDecision(user.id)).deadline?.getTime()).toBe(later.getTime())
    expect(await audits()).toBe(1)
    const between = new Date(current.getTime() + 5 * DAY)
    await expect(extendDeadline(scope, { userId: user.id, deadline: between, reason: 'shorter' }, actor, fresh2fa())).rejects.toThrow(/later than the member's current deadline/)
    const [ext] = await extensions()
    expect(ext.deadline.getTime()).toBe(later.getTime())
    expect(await audits()).toBe(1)

    // No deadline at all where the region is not Required.
    await setPolicy(org.id, 'us', { mode: 'optional' })
    await expect(extendDeadline(scope, { userId: user.id, deadline: new Date(later.getTime() + DAY), reason: 'more' }, actor, fresh2fa())).rejects.toThrow(/no deadline to extend/)
    expect(await audits()).toBe(1)
  })
})
