/**
 * Organization security over the API: read and change region policies and exemptions with the
 * console's validation, impact and audit, all or nothing; members and audit lists; who may do
 * it (owners and admins, keys with scopes); and API keys of service accounts under Required.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall, apiSignIn, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { snapshot, sweepOtherOrganization } from '#tests/setup/org-sweep.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

/**
 * An organization in us and eu with an owner (fresh second factor), an admin whose session passed a
 * second factor 10 minutes ago (may change, may not lower: decision 056), a member, a service account.
 */
async function setup() {
  const org = await createOrg({ regions: ['us', 'eu'] })
  const owner = await createUser({ org, role: 'owner' })
  const admin = await createUser({ org, role: 'admin' })
  const member = await createUser({ org, role: 'member' })
  const euMember = await createUser({ org, role: 'member', region: 'eu' })
  const bot = await createUser({ org, kind: 'service', email: `bot-${org.slug}@example.test` })
  const ownerToken = await apiSignIn(base, owner.email)
  await db.update(schema.sessions).set({ secondFactorAt: new Date() }).where(eq(schema.sessions.userId, owner.id))
  const adminToken = await apiSignIn(base, admin.email)
  await db.update(schema.sessions).set({ level: 'mfa', secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.userId, admin.id))
  const memberToken = await apiSignIn(base, member.email)
  return { org, owner, admin, member, euMember, bot, ownerToken, adminToken, memberToken }
}

async function issueKey(orgId: string, ownerToken: string, serviceAccountId: string, scopes: string[]) {
  const res = await apiCall(base, `/api/organizations/${orgId}/api-keys`, { json: { serviceAccountId, name: 'script', scopes }, token: ownerToken })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.data.key as string
}

const policies = (orgId: string) => db.select().from(schema.regionPolicies).where(eq(schema.regionPolicies.organizationId, orgId))
const orgAudit = (orgId: string, action: string) => db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, orgId), eq(schema.auditEvents.action, action as never)))

describe('GET and POST /security', () => {
  it('shows every region and the exemptions to admins; members get 403', async () => {
    const s = await setup()
    const res = await apiCall(base, `/api/organizations/${s.org.slug}/security`, { token: s.adminToken })
    expect(res.status).toBe(200)
    expect(res.body.data.regions.map((r: { region: string }) => r.region)).toEqual(['eu', 'us'])
    expect(res.body.data.regions[0]).toMatchObject({ mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14, requiredSince: null })
    expect(res.body.data.exemptions).toEqual([])
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: s.memberToken }), 403, 'forbidden')
  })

  it('require2FA in every region: saved, audited, with each region’s impact; exemptions added in the same change', async () => {
    const s = await setup()
    const res = await apiCall(base, `/api/organizations/${s.org.id}/security`, {
      json: { require2FA: true, gracePeriodDays: 14, exemptions: [{ userId: s.bot.id, reason: 'CI pipeline', expiresAt: '2099-12-31' }] },
      token: s.ownerToken,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    const us = res.body.data.regions.find((r: { region: string }) => r.region === 'us')
    expect(us).toMatchObject({ changed: true, policy: { mode: 'required', gracePeriodDays: 14, requiredSince: expect.any(String) }, impact: { becomesRequired: true, members: 4, summary: expect.any(String) }, notificationRunId: expect.any(String) })
    expect(res.body.data.regions.find((r: { region: string }) => r.region === 'eu').policy.mode).toBe('required')
    expect(res.body.data.exemptions).toEqual([expect.objectContaining({ userId: s.bot.id, region: 'us', reason: 'CI pipeline', expiresAt: '2099-12-31T23:59:59.000Z' })])
    expect((await policies(s.org.id)).map((p) => [p.region, p.mode, p.gracePeriodDays]).sort()).toEqual([['eu', 'required', 14], ['us', 'required', 14]])
    expect(await orgAudit(s.org.id, 'org.policy_changed')).toHaveLength(2)
    expect(await orgAudit(s.org.id, 'org.exemption_added')).toHaveLength(1)
    const got = await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: s.adminToken })
    expect(got.body.data.exemptions).toEqual([expect.objectContaining({ userId: s.bot.id, email: s.bot.email, region: 'us' })])

    // require2FA: false means Optional, in the one region named; the other stays.
    const relaxed = await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: false, region: 'eu' }, token: s.ownerToken })
    expect(relaxed.body.data.regions).toEqual([expect.objectContaining({ region: 'eu', changed: true, policy: expect.objectContaining({ mode: 'optional' }) })])
    expect((await policies(s.org.id)).find((p) => p.region === 'us')!.mode).toBe('required')
  })

  it('is all or nothing: a bad exemption leaves the policies as they were', async () => {
    const s = await setup()
    const before = await snapshot()
    const res = await apiCall(base, `/api/organizations/${s.org.id}/security`, {
      json: { require2FA: true, exemptions: [{ userId: s.bot.id, reason: 'CI pipeline' }, { userId: s.member.id, reason: 'a person' }] },
      token: s.ownerToken,
    })
    expectError(res, 400, 'invalid_request')
    expect(Object.keys(res.body.error.fields)).toEqual(['exemptions.1.userId'])
    expect(res.body.error.message).toContain('Only service accounts')
    expect(await snapshot()).toEqual(before)
    expect((await policies(s.org.id)).every((p) => p.mode === 'optional')).toBe(true)
  })

  it('refuses bad values with the console’s messages, unknown regions with 404', async () => {
    const s = await setup()
    const bad = async (json: unknown, field: string) => {
      const res = await apiCall(base, `/api/organizations/${s.org.id}/security`, { json, token: s.ownerToken })
      expectError(res, 400, 'invalid_request')
      expect(Object.keys(res.body.error.fields)).toContain(field)
    }
    await bad({ require2FA: 'yes' }, 'require2FA')
    await bad({ require2FA: true, gracePeriodDays: 91 }, 'gracePeriodDays')
    await bad({ require2FA: true, gracePeriodDays: 1.5 }, 'gracePeriodDays')
    await bad({ require2FA: true, exemptions: [{ userId: s.bot.id, reason: 'x' }] }, 'exemptions.0.reason')
    await bad({ require2FA: true, exemptions: [{ userId: s.bot.id, reason: 'long enough', expiresAt: 'soon' }] }, 'exemptions.0.expiresAt')
    await bad({ require2FA: true, exemptions: [{ userId: s.bot.id, reason: 'long enough', expiresAt: '2001-01-01' }] }, 'exemptions.0.expiresAt')
    await bad({ require2FA: true, exemptions: [{ userId: s.bot.id, reason: 'long enough', extra: 1 }] }, 'exemptions.0.extra')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: true, region: 'jp' }, token: s.ownerToken }), 404, 'not_found')
    expect((await policies(s.org.id)).every((p) => p.mode === 'optional' && p.gracePeriodDays === 7)).toBe(true)
  })
})

describe('PUT /security/regions/:region', () => {
  const full = { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 0, onDeadline: 'block', rememberDeviceDays: 7 }

  it('replaces one region’s policy and answers the impact', async () => {
    const s = await setup()
    // Required, block, no grace: a password-level session of a member without a factor ends at its
    // next request (decision 026), the admin's own included, so this admin's session passed a second factor.
    await db.update(schema.sessions).set({ level: 'mfa' }).where(eq(schema.sessions.userId, s.admin.id))
    const res = await apiCall(base, `/api/organizations/${s.org.slug}/security/regions/us`, { method: 'PUT', json: full, token: s.adminToken })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.data.regions[0]).toMatchObject({ region: 'us', changed: true, policy: full, impact: { members: 4, withoutAllowedFactor: 4, overdueAtOnce: 4, becomesRequired: true } })
    const [event] = await orgAudit(s.org.id, 'org.policy_changed')
    expect(event.details).toMatchObject({ region: 'us', old: { mode: 'optional' }, new: { mode: 'required', onDeadline: 'block' } })
    // The same again changes nothing and records nothing.
    const again = await apiCall(base, `/api/organizations/${s.org.slug}/security/regions/us`, { method: 'PUT', json: full, token: s.adminToken })
    expect(again.body.data.regions[0].changed).toBe(false)
    expect(await orgAudit(s.org.id, 'org.policy_changed')).toHaveLength(1)
    // The member's password-only token is blocked by the new policy at once.
    expectError(await apiCall(base, '/api/me', { token: s.memberToken }), 403, 'sign_in_blocked')
  })

  it('disabling needs a fresh second factor (keys never have one); nothing is written without it', async () => {
    const s = await setup()
    const disabled = { ...full, mode: 'disabled' }
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security/regions/us`, { method: 'PUT', json: disabled, token: s.adminToken }), 403, 'step_up_required')
    const key = await issueKey(s.org.id, s.ownerToken, s.bot.id, ['policy:read', 'policy:write'])
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security/regions/us`, { method: 'PUT', json: disabled, token: key }), 403, 'person_required')
    expect(await orgAudit(s.org.id, 'org.policy_changed')).toHaveLength(0)
    const ok = await apiCall(base, `/api/organizations/${s.org.id}/security/regions/us`, { method: 'PUT', json: disabled, token: s.ownerToken })
    expect(ok.body.data.regions[0]).toMatchObject({ policy: { mode: 'disabled' }, impact: { becomesDisabled: true }, notificationRunId: expect.any(String) })
  })

  it('refuses bad policies field by field and unknown regions with 404', async () => {
    const s = await setup()
    const put = (json: unknown, region = 'us') => apiCall(base, `/api/organizations/${s.org.id}/security/regions/${region}`, { method: 'PUT', json, token: s.adminToken })
    for (const [json, field] of [
      [{ ...full, allowedMethods: [] }, 'allowedMethods'],
      [{ ...full, allowedMethods: ['sms'] }, 'allowedMethods.0'],
      [{ ...full, gracePeriodDays: -1 }, 'gracePeriodDays'],
      [{ ...full, rememberDeviceDays: 31 }, 'rememberDeviceDays'],
      [{ ...full, mode: 'strict' }, 'mode'],
      [{ mode: 'required' }, 'allowedMethods'],
    ] as const) {
      const res = await put(json)
      expectError(res, 400, 'invalid_request')
      expect(Object.keys(res.body.error.fields)).toContain(field)
    }
    expectError(await put(full, 'jp'), 404, 'not_found')
    expectError(await put(full, 'US!'), 404, 'not_found')
    expect(await orgAudit(s.org.id, 'org.policy_changed')).toHaveLength(0)
  })
})

describe('members and audit', () => {
  it('lists members paginated and filtered like the console', async () => {
    const s = await setup()
    const all = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email`, { token: s.adminToken })
    expect(all.status).toBe(200)
    expect(all.body.data).toMatchObject({ page: 1, pageSize: 2, total: 5 })
    expect(all.body.data.members).toHaveLength(2)
    const page2 = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email&page=2`, { token: s.adminToken })
    const page3 = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email&page=3`, { token: s.adminToken })
    expect(page3.body.data.members).toHaveLength(1)
    const emails = [...all.body.data.members, ...page2.body.data.members, ...page3.body.data.members].map((m: { email: string }) => m.email)
    expect(new Set(emails).size).toBe(5)
    // Keyset pages (decision 076): the same five by `next`, back by `prev`; `page` above is the deprecated offset form.
    expect(all.body.data).toMatchObject({ totalExact: true, prev: null, next: expect.any(String) })
    const k2 = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email&after=${all.body.data.next}`, { token: s.adminToken })
    const k3 = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email&after=${k2.body.data.next}`, { token: s.adminToken })
    expect(k3.body.data.next).toBeNull()
    const byCursor = [...all.body.data.members, ...k2.body.data.members, ...k3.body.data.members].map((m: { email: string }) => m.email)
    expect(byCursor).toEqual(emails)
    const back = await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=2&sort=email&before=${k3.body.data.prev}`, { token: s.adminToken })
    expect(back.body.data.members).toEqual(k2.body.data.members)
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members?after=garbage`, { token: s.adminToken }), 400, 'invalid_request')
    // Last sign-in is no longer a sort (it is not in the read model).
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members?sort=lastSignIn`, { token: s.adminToken }), 400, 'invalid_request')
    const admins = await apiCall(base, `/api/organizations/${s.org.id}/members?role=admin`, { token: s.adminToken })
    expect(admins.body.data.members).toEqual([expect.objectContaining({ userId: s.admin.id, role: 'admin', kind: 'human', status: 'compliant', factors: [], joinedAt: expect.any(String) })])
    const eu = await apiCall(base, `/api/organizations/${s.org.id}/members?region=eu`, { token: s.adminToken })
    expect(eu.body.data.members.map((m: { userId: string }) => m.userId)).toEqual([s.euMember.id])
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members?status=bogus`, { token: s.adminToken }), 400, 'invalid_request')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members?pageSize=500`, { token: s.adminToken }), 400, 'invalid_request')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members?color=red`, { token: s.adminToken }), 400, 'invalid_request')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/members`, { token: s.memberToken }), 403, 'forbidden')
  })

  it('lists the audit log newest first, filtered and paginated', async () => {
    const s = await setup()
    await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: true }, token: s.ownerToken })
    const res = await apiCall(base, `/api/organizations/${s.org.id}/audit?action=org.policy_changed`, { token: s.adminToken })
    expect(res.status).toBe(200)
    expect(res.body.data).toMatchObject({ page: 1, pageSize: 50, total: 2 })
    expect(res.body.data.events[0]).toMatchObject({ action: 'org.policy_changed', actor: s.owner.email, scope: 'organization', details: { region: expect.any(String) } })
    // Members' own security events are there too (their sign-ins).
    const logins = await apiCall(base, `/api/organizations/${s.org.id}/audit?action=auth.login_success`, { token: s.adminToken })
    expect(logins.body.data.total).toBeGreaterThanOrEqual(3)
    const empty = await apiCall(base, `/api/organizations/${s.org.id}/audit?page=9`, { token: s.adminToken })
    expect(empty.body.data.events).toEqual([])
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/audit?page=0`, { token: s.adminToken }), 400, 'invalid_request')
  })

  it('API keys reach exactly what their scopes allow', async () => {
    const s = await setup()
    const members = await issueKey(s.org.id, s.ownerToken, s.bot.id, ['members:read'])
    expect((await apiCall(base, `/api/organizations/${s.org.id}/members`, { token: members })).status).toBe(200)
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/audit`, { token: members }), 403, 'insufficient_scope')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: members }), 403, 'insufficient_scope')
    expectError(await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: true }, token: members }), 403, 'insufficient_scope')
    const writer = await issueKey(s.org.id, s.ownerToken, s.bot.id, ['policy:write', 'audit:read'])
    const set = await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: false, gracePeriodDays: 3 }, token: writer })
    expect(set.status, JSON.stringify(set.body)).toBe(200)
    const [event] = await orgAudit(s.org.id, 'org.policy_changed')
    expect(event.actorLabel).toContain(`${s.bot.email} (API key ghk_`)
    expect((await apiCall(base, `/api/organizations/${s.org.id}/audit`, { token: writer })).status).toBe(200)
  })
})

describe('API keys under a Required policy', () => {
  it('a key works while its service account is exempt, or the region is not Required', async () => {
    const s = await setup()
    const key = await issueKey(s.org.id, s.ownerToken, s.bot.id, ['policy:read'])
    expect((await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: key })).status).toBe(200)
    await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: true, region: 'us' }, token: s.ownerToken })
    const refused = await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: key })
    expectError(refused, 403, 'exemption_required')
    expect(refused.body.error.message).toContain('not exempt')
    expectError(await apiCall(base, '/api/me', { token: key }), 403, 'exemption_required')
    // An exemption (the API's own shape) lets it work again; a lapsed one does not.
    await apiCall(base, `/api/organizations/${s.org.id}/security`, { json: { require2FA: true, region: 'us', exemptions: [{ userId: s.bot.id, reason: 'nightly export' }] }, token: s.ownerToken })
    expect((await apiCall(base, `/api/organizations/${s.org.id}/security`, { token: key })).status).toBe(200)
    await db.update(schema.exemptions).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.exemptions.userId, s.bot.id))
    expectError(await apiCall(base, '/api/me', { token: key }), 403, 'exemption_required')
  })
})

describe('cross-organization', () => {
  it('every organization-scoped endpoint answers 404 to another organization’s admin, and writes nothing', async () => {
    const s = await setup()
    const acme = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
    const count = await sweepOtherOrganization({ base, token: s.ownerToken, foreignOrg: acme, label: 'other owner' })
    expect(count).toBeGreaterThanOrEqual(9)
    const key = await issueKey(s.org.id, s.ownerToken, s.bot.id, ['policy:read', 'policy:write', 'members:read', 'audit:read'])
    await sweepOtherOrganization({ base, token: key, foreignOrg: acme, label: 'other org key' })
    void findDemoUser
  })
})
