/**
 * Policy enforcement on sessions that already exist (docs/decisions/026), over real HTTP: a
 * member who signed in with the password alone (during the grace period, or under Optional)
 * keeps working while the policy allows it; once the deadline passes (moved by data, never a
 * clock) the SAME session is held to enrollment (web: /enroll; API: enrollment-only answers), and
 * under "block" the same session is ended. MFA-level sessions are not re-decided.
 */
import { and, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { apiCall, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
const PASSWORD = 'correct horse battery staple'
let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

async function setPolicy(orgId: string, values: Partial<typeof schema.regionPolicies.$inferInsert>) {
  await db.update(schema.regionPolicies).set(values).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, 'us')))
}

/** An organization requiring an app or key since yesterday (7 days of grace), and a member who joined long ago. */
async function memberInGrace(onDeadline: 'force_enrollment' | 'block' = 'force_enrollment') {
  const org = await createOrg({ name: 'Vandelay' })
  await createUser({ org, role: 'owner', email: `boss-${org.slug}@vandelay.test` })
  await setPolicy(org.id, { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, onDeadline, requiredSince: ago(1) })
  const member = await createUser({ org })
  await db.update(schema.memberships).set({ joinedAt: ago(365) }).where(eq(schema.memberships.userId, member.id))
  return { org, member }
}

/** Moves the deadline into the past by data: required for 30 days, grace 7. */
const passDeadline = (orgId: string) => setPolicy(orgId, { requiredSince: ago(30) })

async function sessionsOf(userId: string) {
  return db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))
}

async function webSignInDuringGrace(email: string) {
  const client = new TestClient(base)
  const res = await signIn(client, email)
  expect(res.status).toBe(302)
  expect(res.headers.get('location')).toMatch(/^\/login\/grace/)
  expect(client.cookies.has('gh_session')).toBe(true)
  return client
}

async function apiSignInDuringGrace(email: string) {
  const res = await apiCall(base, '/api/auth/signin', { json: { email, password: PASSWORD, region: 'us' } })
  expect(res.status).toBe(200)
  expect(res.body.data).toMatchObject({ enrollmentOnly: false, grace: { deadline: expect.any(String) } })
  return res.body.data.token as string
}

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
}

describe('web: a password-level session after the grace period', () => {
  it('keeps working during grace; after the deadline the same session is held on /enroll, for 15 minutes at most', async () => {
    const { org, member } = await memberInGrace('force_enrollment')
    const client = await webSignInDuringGrace(member.email)
    for (const path of ['/', '/settings/security', '/settings/security/devices']) expect((await client.get(path)).status, path).toBe(200)
    const [before] = await sessionsOf(member.id)
    expect(before.level).toBe('password')

    await passDeadline(org.id)
    for (const path of ['/', '/settings/security', '/settings/security/devices', `/orgs/${org.slug}`]) {
      const res = await client.get(path)
      expect(res.status, path).toBe(302)
      expect(res.headers.get('location'), path).toBe('/enroll')
    }
    const enroll = await client.text('/enroll')
    expect(enroll.status).toBe(200)
    expect(enroll.html).toContain('This page is all you can reach until then')
    expect((await client.get('/settings/security/totp')).status).toBe(200)

    // The same session (same cookie, same row), now enrollment-only and short-lived.
    const [after] = await sessionsOf(member.id)
    expect(after.id).toBe(before.id)
    expect(after.level).toBe('enroll_only')
    expect(after.absoluteExpiresAt.getTime()).toBeLessThanOrEqual(Date.now() + 15 * 60_000 + 2000)
    const events = (await auditOf(member.id)).filter((e) => e.action === 'auth.session_restricted')
    expect(events).toEqual([{ action: 'auth.session_restricted', details: expect.objectContaining({ reason: 'policy_force_enrollment', sessionId: before.id, channel: 'web' }) }])
  })

  it('with "block", the same session is ended: to /login with the reason, cookie cleared, audited', async () => {
    const { org, member } = await memberInGrace('block')
    const client = await webSignInDuringGrace(member.email)
    expect((await client.get('/settings/security')).status).toBe(200)
    const [session] = await sessionsOf(member.id)

    await passDeadline(org.id)
    const res = await client.get('/settings/security')
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/login?notice=blocked')
    expect(client.cookies.has('gh_session')).toBe(false)
    expect(await sessionsOf(member.id)).toEqual([])
    expect(await auditOf(member.id)).toContainEqual({ action: 'auth.session_ended', details: expect.objectContaining({ reason: 'policy_blocked', sessionId: session.id, channel: 'web' }) })
    const login = await client.text('/login?notice=blocked')
    expect(login.status).toBe(200)
    expect(login.html).toContain('your deadline to set it up has passed, so you have been signed out')
  })

  it('the layout and the sign-in page only read: a blocked session shows as signed out there, and is ended by the next guarded page', async () => {
    const { org, member } = await memberInGrace('block')
    const client = await webSignInDuringGrace(member.email)
    await passDeadline(org.id)
    const login = await client.text('/login')
    expect(login.status).toBe(200)
    expect(login.html).not.toContain('Sign out')
    expect(await sessionsOf(member.id)).toHaveLength(1)
    const res = await client.get('/')
    expect(res.headers.get('location')).toBe('/login?notice=blocked')
    expect(await sessionsOf(member.id)).toEqual([])
  })

  it('a password session whose member now owes a factor they have may continue (decision 026); MFA sessions are not re-decided', async () => {
    // Optional, no factor: the password alone signs in.
    const org = await createOrg()
    const member = await createUser({ org })
    await db.update(schema.memberships).set({ joinedAt: ago(365) }).where(eq(schema.memberships.userId, member.id))
    const client = new TestClient(base)
    const res = await signIn(client, member.email)
    expect(res.headers.get('location')).toBe('/')
    // Required with email allowed: every member has the email factor, so they are compliant.
    await setPolicy(org.id, { mode: 'required', requiredSince: ago(30) })
    expect((await client.get('/settings/security')).status).toBe(200)
    expect((await sessionsOf(member.id))[0].level).toBe('password')

    // An MFA-level session is never re-decided, even where the policy would now block a new sign-in.
    const other = await createUser({ org })
    await db.update(schema.memberships).set({ joinedAt: ago(365) }).where(eq(schema.memberships.userId, other.id))
    await enableTotp(other.id)
    const mfa = new TestClient(base)
    await signInAs(mfa, other.id, { level: 'mfa' })
    await setPolicy(org.id, { allowedMethods: ['webauthn'], onDeadline: 'block' })
    expect((await mfa.get('/settings/security')).status).toBe(200)
    // ...while the first member's password session is now blocked: the same re-decision.
    expect((await client.get('/settings/security')).headers.get('location')).toBe('/login?notice=blocked')
  })

  it('a member who enrolls during grace keeps the session', async () => {
    const { org, member } = await memberInGrace('block')
    const client = await webSignInDuringGrace(member.email)
    // Set up in this session (a factor added elsewhere would end it: decision 061).
    const secret = (await client.text('/settings/security/totp')).html.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)![1].replaceAll(' ', '')
    expect((await client.post('/settings/security/totp', { intent: 'confirm', code: await totpCode(secret) })).status).toBe(200)
    await passDeadline(org.id)
    expect((await client.get('/settings/security')).status).toBe(200)
    expect((await sessionsOf(member.id))[0].level).toBe('password')
  })
})

describe('API: a password-level token after the grace period', () => {
  it('keeps working during grace; after the deadline the same token gets enrollment-only answers', async () => {
    const { org, member } = await memberInGrace('force_enrollment')
    const token = await apiSignInDuringGrace(member.email)
    expect((await apiCall(base, '/api/me', { token })).status).toBe(200)
    expect((await apiCall(base, '/api/me', { token })).status).toBe(200)

    await passDeadline(org.id)
    expectError(await apiCall(base, '/api/me', { token }), 403, 'enrollment_required')
    expectError(await apiCall(base, `/api/organizations/${org.slug}`, { token }), 403, 'enrollment_required')
    // Enrollment itself still answers.
    const status = await apiCall(base, '/api/auth/2fa/status', { token })
    expect(status.status).toBe(200)
    expect((await apiCall(base, '/api/auth/2fa/setup', { method: 'POST', token })).status).toBe(200)
    const [session] = await sessionsOf(member.id)
    expect(session).toMatchObject({ level: 'enroll_only', channel: 'api' })
    expect(await auditOf(member.id)).toContainEqual({ action: 'auth.session_restricted', details: expect.objectContaining({ channel: 'api', reason: 'policy_force_enrollment' }) })
  })

  it('with "block", the same token is ended: 403 sign_in_blocked naming whom to contact, then 401', async () => {
    const { org, member } = await memberInGrace('block')
    const token = await apiSignInDuringGrace(member.email)
    expect((await apiCall(base, '/api/me', { token })).status).toBe(200)

    await passDeadline(org.id)
    const blocked = await apiCall(base, '/api/me', { token })
    expectError(blocked, 403, 'sign_in_blocked')
    expect(blocked.body.error.message).toContain(`Contact boss-${org.slug}@vandelay.test`)
    expect(await sessionsOf(member.id)).toEqual([])
    expectError(await apiCall(base, '/api/me', { token }), 401, 'unauthorized')
    expect(await auditOf(member.id)).toContainEqual({ action: 'auth.session_ended', details: expect.objectContaining({ channel: 'api', reason: 'policy_blocked' }) })
  })
})
