/**
 * Organization API keys over the API, their scopes, and the cross-organization sweep over every
 * organization-scoped endpoint in the registry.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { passedSecondFactorAtSignIn } from '#tests/factories/security.ts'
import { createUser } from '#tests/factories/users.ts'
import { apiCall, apiSignIn, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { sweepOtherOrganization } from '#tests/setup/org-sweep.ts'

let base: string
let acme: typeof schema.organizations.$inferSelect
let globex: typeof schema.organizations.$inferSelect
let adminToken: string
let ciBot: typeof schema.users.$inferSelect

beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  const orgs = await db.select().from(schema.organizations)
  acme = orgs.find((o) => o.slug === 'acme')!
  globex = orgs.find((o) => o.slug === 'globex')!
  adminToken = await apiSignIn(base, 'admin@acme.test')
  await passedSecondFactorAtSignIn((await findDemoUser('admin@acme.test')).id)
  ciBot = await findDemoUser('ci-bot@acme.test')
})

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

async function stepUp(token: string) {
  // The step-up page (issue 3) sets this after a fresh second factor; tests set the data directly.
  const me = await apiCall(base, '/api/me', { token })
  const sessions = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, me.body.data.user.id))
  for (const s of sessions) await db.update(schema.sessions).set({ secondFactorAt: new Date(), secondFactorMethod: 'totp' }).where(eq(schema.sessions.id, s.id))
}

async function issue(token: string, body: unknown, org = acme.id) {
  return apiCall(base, `/api/organizations/${org}/api-keys`, { token, json: body })
}

const auditOf = async (action: string) =>
  db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, action as typeof schema.auditEvents.$inferSelect.action))

describe('issuing and using API keys', () => {
  it('an admin issues a read key to a service account: shown once, stored hashed, audited, usable as a bearer', async () => {
    const res = await issue(adminToken, { serviceAccountId: ciBot.id, name: 'CI policy reader', scopes: ['policy:read'] })
    expect(res.status).toBe(201)
    const { key, apiKey } = res.body.data
    expect(key).toMatch(/^ghk_[A-Za-z0-9_-]{40,}$/)
    expect(apiKey).toMatchObject({ name: 'CI policy reader', scopes: ['policy:read'], serviceAccount: { id: ciBot.id, email: 'ci-bot@acme.test' }, lastUsedAt: null, revokedAt: null })
    expect(key.startsWith(apiKey.prefix)).toBe(true)
    const [row] = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, apiKey.id))
    expect(row.tokenHash).not.toContain(key)
    expect(JSON.stringify(row)).not.toContain(key)
    const [event] = (await auditOf('org.api_key_issued')).filter((e) => (e.details as { keyId?: string }).keyId === apiKey.id)
    expect(event).toMatchObject({ organizationId: acme.id, subjectId: ciBot.id })
    expect(JSON.stringify(event)).not.toContain(key)

    // The list shows it, never the key.
    const list = await apiCall(base, `/api/organizations/${acme.id}/api-keys`, { token: adminToken })
    expect(list.status).toBe(200)
    expect(list.body.data.apiKeys.map((k: { id: string }) => k.id)).toContain(apiKey.id)
    expect(JSON.stringify(list.body)).not.toContain(key)

    // The key works, as the service account, within its organization, and its use is recorded.
    const me = await apiCall(base, '/api/me', { token: key })
    expect(me.status).toBe(200)
    expect(me.body.data).toMatchObject({ user: { email: 'ci-bot@acme.test', kind: 'service' }, apiKey: { id: apiKey.id, scopes: ['policy:read'], organizationId: acme.id } })
    expect(me.body.data.organizations.map((o: { slug: string }) => o.slug)).toEqual(['acme'])
    const summary = await apiCall(base, `/api/organizations/${acme.id}`, { token: key })
    expect(summary.status).toBe(200)
    expect(summary.body.data.organization.slug).toBe('acme')
    expect(summary.body.data.regions.map((r: { region: string }) => r.region).sort()).toEqual(['eu', 'us'])
    expect((await apiCall(base, '/api/organizations/acme', { token: key })).status).toBe(200)
    const [used] = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.id, apiKey.id))
    expect(used.lastUsedAt).not.toBeNull()
  })

  it('a key acts only with its scopes, never manages keys, and never signs out', async () => {
    const res = await issue(adminToken, { serviceAccountId: ciBot.id, name: 'members only', scopes: ['members:read', 'audit:read'] })
    expect(res.status).toBe(201)
    const key = res.body.data.key
    const summary = await apiCall(base, `/api/organizations/${acme.id}`, { token: key })
    expectError(summary, 403, 'insufficient_scope')
    expect(summary.body.error.message).toContain('policy:read')
    expectError(await apiCall(base, `/api/organizations/${acme.id}/api-keys`, { token: key }), 403, 'forbidden')
    expectError(await issue(key, { serviceAccountId: ciBot.id, name: 'escalate', scopes: ['policy:write'] }), 403, 'forbidden')
    expectError(await apiCall(base, '/api/auth/signout', { method: 'POST', token: key }), 403, 'forbidden')
  })

  it('a write scope needs the issuer’s step-up; without it nothing is written', async () => {
    const token = await apiSignIn(base, 'owner@acme.test')
    await passedSecondFactorAtSignIn((await findDemoUser('owner@acme.test')).id)
    const before = (await db.select().from(schema.apiKeys)).length
    const auditBefore = (await auditOf('org.api_key_issued')).length
    const refused = await issue(token, { serviceAccountId: ciBot.id, name: 'policy bot', scopes: ['policy:read', 'policy:write'] })
    expectError(refused, 403, 'step_up_required')
    expect((await db.select().from(schema.apiKeys)).length).toBe(before)
    expect((await auditOf('org.api_key_issued')).length).toBe(auditBefore)

    await stepUp(token)
    const issued = await issue(token, { serviceAccountId: ciBot.id, name: 'policy bot', scopes: ['policy:write', 'policy:read', 'policy:read'] })
    expect(issued.status).toBe(201)
    expect(issued.body.data.apiKey.scopes).toEqual(['policy:read', 'policy:write'])

    // A step-up older than five minutes no longer counts.
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 6 * 60_000) }).where(eq(schema.sessions.channel, 'api'))
    expectError(await issue(token, { serviceAccountId: ciBot.id, name: 'again', scopes: ['policy:write'] }), 403, 'step_up_required')
  })

  it('refuses a key for a human, for another organization’s service account, or with bad input', async () => {
    const mia = await findDemoUser('member@acme.test')
    const foreignBot = await createUser({ kind: 'service', org: globex, region: 'eu' })
    const before = (await db.select().from(schema.apiKeys)).length
    for (const id of [mia.id, foreignBot.id]) {
      const res = await issue(adminToken, { serviceAccountId: id, name: 'x', scopes: ['policy:read'] })
      expectError(res, 400, 'invalid_request')
      expect(res.body.error.fields.serviceAccountId).toBeTruthy()
    }
    const bad: [unknown, string][] = [
      [{ serviceAccountId: ciBot.id, name: 'x', scopes: ['root'] }, 'scopes.0'],
      [{ serviceAccountId: ciBot.id, name: 'x', scopes: [] }, 'scopes'],
      [{ serviceAccountId: ciBot.id, name: '', scopes: ['policy:read'] }, 'name'],
      [{ serviceAccountId: 'ci-bot', name: 'x', scopes: ['policy:read'] }, 'serviceAccountId'],
      [{ serviceAccountId: ciBot.id, name: 'x', scopes: 'policy:read' }, 'scopes'],
      [{ serviceAccountId: ciBot.id, name: 'x', scopes: ['policy:read'], organizationId: globex.id }, 'organizationId'],
      [{ name: 'x', scopes: ['policy:read'] }, 'serviceAccountId'],
    ]
    for (const [body, field] of bad) {
      const res = await issue(adminToken, body)
      expectError(res, 400, 'invalid_request')
      expect(Object.keys(res.body.error.fields)).toContain(field)
    }
    expect((await db.select().from(schema.apiKeys)).length).toBe(before)
  })

  it('plain members get 403, outsiders 404', async () => {
    const member = await apiSignIn(base, 'member@acme.test')
    expectError(await apiCall(base, `/api/organizations/${acme.id}/api-keys`, { token: member }), 403, 'forbidden')
    expectError(await apiCall(base, `/api/organizations/${acme.id}`, { token: member }), 403, 'forbidden')
    const outsider = await apiSignIn(base, 'member@globex.test', 'eu')
    expectError(await apiCall(base, `/api/organizations/${acme.id}/api-keys`, { token: outsider }), 404, 'not_found')
    expectError(await apiCall(base, '/api/organizations/no-such-org', { token: outsider }), 404, 'not_found')
  })
})

describe('revoking', () => {
  it('a revoked key stops working at once; revoking is audited and happens once', async () => {
    const { body } = await issue(adminToken, { serviceAccountId: ciBot.id, name: 'short-lived', scopes: ['policy:read'] })
    const { key, apiKey } = body.data
    expect((await apiCall(base, '/api/me', { token: key })).status).toBe(200)
    const revoked = await apiCall(base, `/api/organizations/${acme.id}/api-keys/${apiKey.id}`, { method: 'DELETE', token: adminToken })
    expect(revoked).toMatchObject({ status: 200, body: { data: { revoked: true } } })
    expectError(await apiCall(base, '/api/me', { token: key }), 401, 'unauthorized')
    expectError(await apiCall(base, `/api/organizations/${acme.id}`, { token: key }), 401, 'unauthorized')
    expect((await auditOf('org.api_key_revoked')).filter((e) => (e.details as { keyId?: string }).keyId === apiKey.id)).toHaveLength(1)
    expectError(await apiCall(base, `/api/organizations/${acme.id}/api-keys/${apiKey.id}`, { method: 'DELETE', token: adminToken }), 404, 'not_found')
    expectError(await apiCall(base, `/api/organizations/${acme.id}/api-keys/not-a-uuid`, { method: 'DELETE', token: adminToken }), 404, 'not_found')
  })

  it('a key whose service account left the organization no longer works', async () => {
    const bot = await createUser({ kind: 'service', org: acme })
    const { body } = await issue(adminToken, { serviceAccountId: bot.id, name: 'leaver', scopes: ['policy:read'] })
    expect((await apiCall(base, '/api/me', { token: body.data.key })).status).toBe(200)
    await db.delete(schema.memberships).where(and(eq(schema.memberships.userId, bot.id), eq(schema.memberships.organizationId, acme.id)))
    expectError(await apiCall(base, '/api/me', { token: body.data.key }), 401, 'unauthorized')
  })
})

describe('cross-organization sweep (every organization-scoped endpoint in the registry)', () => {
  it('an owner of another organization gets 404 everywhere, by id and by slug, and nothing is written', async () => {
    const globexOwner = await createUser({ org: globex, role: 'owner', region: 'eu' })
    const token = await apiSignIn(base, globexOwner.email, 'eu')
    await stepUp(token)
    const swept = await sweepOtherOrganization({ base, token, foreignOrg: acme, label: 'globex owner' })
    expect(swept).toBeGreaterThanOrEqual(4)
  })

  it('an API key of another organization, with every scope, gets 404 everywhere', async () => {
    const globexAdmin = await createUser({ org: globex, role: 'admin', region: 'eu' })
    const globexBot = await createUser({ kind: 'service', org: globex, region: 'eu' })
    const token = await apiSignIn(base, globexAdmin.email, 'eu')
    await stepUp(token)
    const res = await issue(token, { serviceAccountId: globexBot.id, name: 'everything', scopes: ['policy:read', 'policy:write', 'members:read', 'audit:read'] }, globex.id)
    expect(res.status).toBe(201)
    await sweepOtherOrganization({ base, token: res.body.data.key, foreignOrg: acme, label: 'globex key' })
  })

  it('a member of another organization with no role there gets 404 too', async () => {
    const token = await apiSignIn(base, 'member@globex.test', 'eu')
    await sweepOtherOrganization({ base, token, foreignOrg: acme, label: 'globex member' })
  })
})
