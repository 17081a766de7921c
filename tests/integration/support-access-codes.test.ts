/**
 * Temporary access codes (decision 070) through the real server: issued by support and by an
 * organization admin (web and API), the member emailed with the freeze link through the SMTP
 * listener, used once at the second step of a sign-in into an enrollment-only session, refused
 * when used, expired or revoked (and counted like any wrong code), the two-person rule, another
 * organization's admin refused, audit events.
 */
import { and, desc, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { apiCall, apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
let alice: { id: string; client: TestClient }
let bob: { id: string; client: TestClient }
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
  const a = await findDemoUser('support@gatehouse.test')
  alice = { id: a.id, client: new TestClient(base) }
  await signInAs(alice.client, a.id)
  const b = await createUser({ email: 'bob.support@gatehouse.test', platformRole: 'support' })
  bob = { id: b.id, client: new TestClient(base) }
  await signInAs(bob.client, b.id)
})

const issueForm = (extra: Record<string, string | string[]> = {}) => ({
  intent: 'access_code', reason: 'Lost their phone, identity checked on a video call', ticket: 'SUP-900', checks: ['video_id', 'callback'], validHours: '2', ...extra,
})

const CODE = /data-testid="access-code"[^>]*>([0-9A-Z-]{19})</

async function auditFor(subjectId: string, action: string) {
  return db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, subjectId), eq(schema.auditEvents.action, action))).orderBy(desc(schema.auditEvents.createdAt))
}

async function codesOf(userId: string) {
  return db.select().from(schema.verifications).where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'temporary_access'))).orderBy(desc(schema.verifications.createdAt))
}

async function supportIssues(targetId: string, extra: Record<string, string | string[]> = {}) {
  const res = await alice.client.post(`/support/users/${targetId}/access-code`, issueForm(extra))
  const html = await res.text()
  expect(res.status, html.slice(0, 300)).toBe(200)
  const code = CODE.exec(html)?.[1]
  expect(code).toBeTruthy()
  return code!
}

/** The password step of a fresh browser: the pending sign-in's cookie, at /login/verify. */
async function atSecondStep(email: string) {
  const client = new TestClient(base)
  const res = await signIn(client, email)
  expect(res.headers.get('location')).toBe('/login/verify')
  return client
}

const useCode = (client: TestClient, code: string) => client.post('/login/verify?method=temporary_access', { intent: 'temporary_access', code })

describe('a support person issues a code; the member uses it once', () => {
  it('issues (shown once, hashed, emailed with the freeze link, audited), signs in once to adding a factor, touches nothing else', async () => {
    const m = await createUser({ email: 'lost-phone@example.test' })
    await db.insert(schema.memberships).values({ userId: m.id, organizationId: (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0].id, role: 'member' })
    await giveFactors(m.id)
    const before = await securityCounts(m.id)
    const since = Date.now()
    const code = await supportIssues(m.id)
    expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}(-[0-9A-HJKMNP-TV-Z]{4}){3}$/)

    // Stored as a keyed hash only: not in the row, not in the mail's parameters.
    const [row] = await codesOf(m.id)
    expect(row.codeHash).toBeTruthy()
    expect(JSON.stringify(row)).not.toContain(code.replace(/-/g, ''))
    expect(row.expiresAt.getTime() - row.createdAt.getTime()).toBeCloseTo(2 * 3_600_000, -4)
    const outbound = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.userId, m.id))
    expect(JSON.stringify(outbound)).not.toContain(code.replace(/-/g, ''))
    // Shown once: the page shows it no more.
    expect((await alice.client.text(`/support/users/${m.id}/access-code`)).html).not.toContain(code)

    const [issued] = await auditFor(m.id, 'auth.temporary_access_issued')
    expect(issued).toMatchObject({ actorId: alice.id })
    expect(issued.details).toMatchObject({ accessCodeId: row.id, ticket: 'SUP-900', checks: ['video_id', 'callback'], validHours: 2 })

    const mail = await smtp.waitFor('lost-phone@example.test', { subject: /temporary access code was issued/, since })
    expect(mail.text).not.toContain(code)
    const link = mail.text.match(/https?:\/\/\S+\/freeze\/(\S+)/)
    expect(link).toBeTruthy()

    // The member: password, then "Use a temporary access code".
    const client = await atSecondStep('lost-phone@example.test')
    const page = await client.text('/login/verify')
    expect(page.html).toContain('Use a temporary access code')
    expect((await client.text('/login/verify?method=temporary_access')).html).toContain('Temporary access code')
    const ok = await useCode(client, code.toLowerCase())
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe('/enroll')
    const enroll = await client.text('/enroll')
    expect(enroll.html).toContain('You signed in with a temporary access code')
    // Only enrollment: the rest of the app sends back to /enroll; adding a key needs no further step-up.
    expect((await client.text('/settings/security')).location).toBe('/enroll')
    const keys = await client.get('/settings/security/keys')
    expect(keys.status).toBe(200)
    const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, m.id))
    expect(session).toMatchObject({ level: 'enroll_only', secondFactorMethod: 'temporary_access' })

    const [used] = await auditFor(m.id, 'auth.temporary_access_used')
    expect(used.details).toMatchObject({ accessCodeId: row.id, issuedBy: 'support@gatehouse.test' })
    // Nothing else touched: factors, recovery codes and devices stay.
    const after = await securityCounts(m.id)
    expect({ ...after, sessions: 0 }).toEqual({ ...before, sessions: 0 })

    // Used once: a second sign-in with the same code is refused, counted, and starts nothing.
    const again = await atSecondStep('lost-phone@example.test')
    const failuresBefore = (await auditFor(m.id, 'auth.mfa_failed')).length
    const sessionsBefore = (await securityCounts(m.id)).sessions
    const reuse = await useCode(again, code)
    expect(reuse.status).toBe(400)
    expect(await reuse.text()).toContain('not valid')
    expect((await auditFor(m.id, 'auth.mfa_failed')).length).toBe(failuresBefore + 1)
    expect((await securityCounts(m.id)).sessions).toBe(sessionsBefore)
    expect(await auditFor(m.id, 'auth.temporary_access_used')).toHaveLength(1)
  })

  it('an expired code is refused; a revoked one too; revoking twice is a 409; a new code replaces the old', async () => {
    const m = await createUser({ email: 'expiry@example.test' })
    await giveFactors(m.id)
    const expired = await supportIssues(m.id)
    await db.update(schema.verifications).set({ expiresAt: sql`now() - interval '1 second'` }).where(and(eq(schema.verifications.userId, m.id), eq(schema.verifications.purpose, 'temporary_access')))
    const c1 = await atSecondStep('expiry@example.test')
    expect((await useCode(c1, expired)).status).toBe(400)

    const first = await supportIssues(m.id)
    const second = await supportIssues(m.id, { validHours: '1' })
    const rows = await codesOf(m.id)
    expect(rows.filter((r) => r.consumedAt === null && r.expiresAt > new Date())).toHaveLength(1)
    expect((await auditFor(m.id, 'auth.temporary_access_revoked'))[0].details).toMatchObject({ why: 'replaced' })
    const c2 = await atSecondStep('expiry@example.test')
    expect((await useCode(c2, first)).status).toBe(400)

    const revoke = await alice.client.post(`/support/users/${m.id}/access-code`, { intent: 'revoke_access_code' })
    expect(revoke.status).toBe(302)
    expect((await auditFor(m.id, 'auth.temporary_access_revoked')).length).toBe(2)
    expect((await alice.client.text(`/support/users/${m.id}/access-code`)).html).toContain('revoked')
    const c3 = await atSecondStep('expiry@example.test')
    expect((await useCode(c3, second)).status).toBe(400)
    expect((await alice.client.post(`/support/users/${m.id}/access-code`, { intent: 'revoke_access_code' })).status).toBe(409)
    expect(await auditFor(m.id, 'auth.temporary_access_used')).toHaveLength(0)
  })

  it('wrong codes count toward the pending sign-in’s limit and the account lockout, and a right code cannot bypass an ended sign-in', async () => {
    const m = await createUser({ email: 'guesser@example.test' })
    await giveFactors(m.id)
    const code = await supportIssues(m.id)
    const client = await atSecondStep('guesser@example.test')
    const [{ failedAttempts: before }] = await db.select({ failedAttempts: schema.users.failedAttempts }).from(schema.users).where(eq(schema.users.id, m.id))
    for (let i = 0; i < 4; i++) expect((await useCode(client, 'ABCD-EFGH-JKMN-PQRS')).status).toBe(400)
    const fifth = await useCode(client, 'ABCD-EFGH-JKMN-PQR0')
    expect(fifth.status).toBe(400)
    expect(await fifth.text()).toContain('sign in again')
    const [{ failedAttempts: after }] = await db.select({ failedAttempts: schema.users.failedAttempts }).from(schema.users).where(eq(schema.users.id, m.id))
    expect(after).toBe(before + 5)
    // The pending sign-in has ended: even the right code does nothing now, and the code stays live.
    expect((await useCode(client, code)).status).toBe(401)
    expect((await codesOf(m.id))[0].consumedAt).toBeNull()
    // Malformed input: a clear message, 400, not counted.
    const other = await atSecondStep('guesser@example.test')
    const bad = await useCode(other, 'short')
    expect(bad.status).toBe(400)
    expect(await bad.text()).toContain('16 letters and digits')
    expect((await other.post('/login/verify', { intent: 'temporary_access', code: 'x'.repeat(41) })).status).toBe(400)
    // The code is a sign-in answer only: the step-up page does not take it.
    const member = new TestClient(base)
    await signInAs(member, m.id, { level: 'mfa' })
    expect((await member.post('/settings/security/confirm', { intent: 'temporary_access', code })).status).toBe(400)
    expect((await codesOf(m.id))[0].consumedAt).toBeNull()
  })

  it('bad input writes nothing: hours out of range, missing checks', async () => {
    const m = await createUser({ email: 'bad-input@example.test' })
    for (const extra of [{ validHours: '25' }, { validHours: '0' }, { validHours: 'abc' }, { checks: ['video_id'] }, { ticket: '' }] as Record<string, string | string[]>[]) {
      const res = await alice.client.post(`/support/users/${m.id}/access-code`, issueForm(extra))
      expect(res.status).toBe(400)
    }
    expect(await codesOf(m.id)).toHaveLength(0)
    expect(await auditFor(m.id, 'auth.temporary_access_issued')).toHaveLength(0)
    // Their own account: refused and audited.
    const own = await alice.client.post(`/support/users/${alice.id}/access-code`, issueForm())
    expect(own.status).toBe(403)
    expect(await codesOf(alice.id)).toHaveLength(0)
  })

  it('freezing from the notice revokes the live code', async () => {
    const m = await createUser({ email: 'freezer@example.test' })
    await giveFactors(m.id)
    const since = Date.now()
    await supportIssues(m.id)
    const mail = await smtp.waitFor('freezer@example.test', { subject: /temporary access code was issued/, since })
    const token = mail.text.match(/https?:\/\/\S+\/freeze\/(\S+)/)![1]
    const visitor = new TestClient(base)
    expect((await visitor.post(`/freeze/${token}`, {})).status).toBeLessThan(400)
    const [row] = await codesOf(m.id)
    expect(row.consumedAt).not.toBeNull()
    expect((await auditFor(m.id, 'auth.temporary_access_revoked'))[0].details).toMatchObject({ why: 'frozen' })
  })
})

describe('two-person rule and organization admins', () => {
  it('an admin’s code waits for a second support person; only the requester issues it, once', async () => {
    const admin = await findDemoUser('admin@acme.test')
    await giveFactors(admin.id)
    const since = Date.now()
    const asked = await alice.client.post(`/support/users/${admin.id}/access-code`, issueForm())
    expect(asked.status).toBe(302)
    expect(asked.headers.get('location')).toBe(`/support/users/${admin.id}/access-code?notice=requested`)
    expect(await codesOf(admin.id)).toHaveLength(0)
    const [request] = await db.select().from(schema.supportRequests).where(and(eq(schema.supportRequests.targetUserId, admin.id), eq(schema.supportRequests.action, 'temporary_access')))
    expect(request.status).toBe('pending')
    await smtp.waitFor('bob.support@gatehouse.test', { subject: /Approval needed: temporary access code of admin@acme\.test/, since })

    // Not yet approved: asking for the code is refused.
    const early = await alice.client.post(`/support/users/${admin.id}/access-code`, { intent: 'access_code_approved', requestId: request.id, validHours: '1' })
    expect(early.status).toBe(403)
    const approve = await bob.client.post('/support/approvals', { intent: 'approve', requestId: request.id, targetUserId: admin.id, requestAction: 'temporary_access', reason: request.reason })
    expect(approve.headers.get('location')).toBe('/support/approvals?notice=access_code')
    expect(await codesOf(admin.id)).toHaveLength(0)
    // Bob approved, but only Alice (who asked and talks to the member) gets the code.
    expect((await bob.client.post(`/support/users/${admin.id}/access-code`, { intent: 'access_code_approved', requestId: request.id, validHours: '1' })).status).toBe(403)
    const res = await alice.client.post(`/support/users/${admin.id}/access-code`, { intent: 'access_code_approved', requestId: request.id, validHours: '1' })
    expect(res.status).toBe(200)
    const code = CODE.exec(await res.text())?.[1]
    expect(code).toBeTruthy()
    const [issued] = await auditFor(admin.id, 'auth.temporary_access_issued')
    expect(issued.details).toMatchObject({ requestId: request.id, approvedBy: 'bob.support@gatehouse.test', validHours: 1 })
    expect((await alice.client.post(`/support/users/${admin.id}/access-code`, { intent: 'access_code_approved', requestId: request.id, validHours: '1' })).status).toBe(409)
    expect(await codesOf(admin.id)).toHaveLength(1)
  })

  it('a plain member demoted from admin within 30 days needs two people too (privileged_until)', async () => {
    const m = await createUser({ email: 'ex-admin@example.test' })
    await db.update(schema.users).set({ privilegedUntil: sql`now() + interval '10 days'` }).where(eq(schema.users.id, m.id))
    const asked = await alice.client.post(`/support/users/${m.id}/access-code`, issueForm())
    expect(asked.headers.get('location')).toBe(`/support/users/${m.id}/access-code?notice=requested`)
    expect(await codesOf(m.id)).toHaveLength(0)
  })

  it('an organization admin issues for a plain member, not for an owner; another organization’s admin gets 404', async () => {
    const acme = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
    const adminUser = await createUser({ email: 'second-admin@example.test', org: acme, role: 'admin' })
    await db.update(schema.users).set({ privilegedUntil: null }).where(eq(schema.users.id, adminUser.id))
    const admin = new TestClient(base)
    await signInAs(admin, adminUser.id)
    const plain = await createUser({ email: 'plain@example.test', org: acme, role: 'member' })
    await giveFactors(plain.id)
    const path = `/orgs/acme/members/${plain.id}/access-code`
    expect((await admin.text(path)).status).toBe(200)
    const res = await admin.post(path, { ...issueForm(), ticket: '' })
    const html = await res.text()
    expect(res.status, html.slice(0, 300)).toBe(200)
    const code = CODE.exec(html)![1]
    const [issued] = await auditFor(plain.id, 'auth.temporary_access_issued')
    expect(issued).toMatchObject({ actorId: adminUser.id, organizationId: acme.id })
    const client = await atSecondStep('plain@example.test')
    expect((await useCode(client, code)).headers.get('location')).toBe('/enroll')

    const owner = await findDemoUser('owner@acme.test')
    const refused = await admin.post(`/orgs/acme/members/${owner.id}/access-code`, issueForm())
    expect(refused.status).toBe(403)
    expect(await codesOf(owner.id)).toHaveLength(0)

    const globex = await createOrg({ slug: 'globex-2', regions: ['us'] })
    const otherAdmin = await createUser({ email: 'globex-admin@example.test', org: globex, role: 'admin' })
    const other = new TestClient(base)
    await signInAs(other, otherAdmin.id)
    expect((await other.post(`/orgs/globex-2/members/${plain.id}/access-code`, issueForm())).status).toBe(404)
    expect((await other.post(`/orgs/acme/members/${plain.id}/access-code`, issueForm())).status).toBe(404)
    expect(await codesOf(plain.id)).toHaveLength(1)

    // Revoke from the organization page.
    await admin.post(path, issueForm())
    expect((await admin.post(path, { intent: 'revoke_access_code' })).status).toBe(302)
    expect((await admin.post(path, { intent: 'revoke_access_code' })).status).toBe(409)
  })
})

describe('the API', () => {
  it('support issues and revokes; an organization admin issues for a plain member; others are refused', async () => {
    const supportToken = (await signInAs(new TestClient(base), alice.id)).token
    // API session tokens are sessions on the api channel.
    await db.update(schema.sessions).set({ channel: 'api' }).where(eq(schema.sessions.tokenHash, (await import('#app/auth/crypto.server.ts')).keyedHash('session', supportToken)))
    const m = await createUser({ email: 'api-member@example.test' })
    const bad = await apiCall(base, `/api/support/users/${m.id}/access-codes`, { token: supportToken, json: { reason: 'short', checks: ['video_id'] } })
    expect(bad.status).toBe(400)
    expect(await codesOf(m.id)).toHaveLength(0)
    const ok = await apiCall(base, `/api/support/users/${m.id}/access-codes`, { token: supportToken, json: { reason: 'Lost their key, checked by callback', ticket: 'SUP-1', checks: ['callback', 'email_reply'], validHours: 3 } })
    expect(ok.status, JSON.stringify(ok.body)).toBe(200)
    expect(ok.body.data).toMatchObject({ status: 'issued', email: 'api-member@example.test', noticeQueued: true })
    expect(ok.body.data.code).toMatch(/^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$/)
    expect((await apiCall(base, `/api/support/users/${m.id}/access-codes`, { token: supportToken, method: 'DELETE' })).status).toBe(200)
    expect((await apiCall(base, `/api/support/users/${m.id}/access-codes`, { token: supportToken, method: 'DELETE' })).status).toBe(409)

    // A member's token: 404, as if the endpoint did not exist for them.
    const memberToken = await apiSignIn(base, 'api-member@example.test')
    expect((await apiCall(base, `/api/support/users/${m.id}/access-codes`, { token: memberToken, json: { reason: 'x'.repeat(20), ticket: 'T', checks: ['callback', 'video_id'] } })).status).toBe(404)

    const doc = await apiCall(base, '/api/openapi.json')
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/api/support/users/{userId}/access-codes', '/api/organizations/{orgId}/members/{userId}/access-codes']))
  })
})
