import { and, eq, sql } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
let alice: { id: string; client: TestClient }
let bob: { id: string; client: TestClient; sessionId: string }
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
  const a = await findDemoUser('support@gatehouse.test')
  alice = { id: a.id, client: new TestClient(base) }
  await signInAs(alice.client, a.id)
  const b = await createUser({ email: 'bob.support@gatehouse.test', platformRole: 'support' })
  const bobClient = new TestClient(base)
  const { session } = await signInAs(bobClient, b.id)
  bob = { id: b.id, client: bobClient, sessionId: session.id }
})

const reset = (reason = 'Owner lost every device, identity checked twice') => ({ intent: 'reset', reason, ticket: 'SUP-77', checks: ['video_id', 'manager'], confirm: 'yes' })

async function pendingRequestFor(targetUserId: string) {
  const [row] = await db.select().from(schema.supportRequests).where(and(eq(schema.supportRequests.targetUserId, targetUserId), eq(schema.supportRequests.status, 'pending')))
  return row
}

const decideForm = (r: typeof schema.supportRequests.$inferSelect, intent: 'approve' | 'refuse', overrides: Record<string, string> = {}) => ({
  intent,
  requestId: r.id,
  targetUserId: r.targetUserId,
  requestAction: r.action,
  reason: r.reason,
  ...overrides,
})

async function auditFor(subjectId: string, action: string) {
  return db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.subjectId, subjectId), eq(schema.auditEvents.action, action)))
}

describe('two-person rule', () => {
  it('an org admin reset waits for a second support person; the requester cannot approve it; the approver resets', async () => {
    const admin = await findDemoUser('admin@acme.test')
    await giveFactors(admin.id)
    const askedSince = Date.now()
    const requested = await alice.client.post(`/support/users/${admin.id}`, reset())
    expect(requested.status).toBe(302)
    expect(requested.headers.get('location')).toBe(`/support/users/${admin.id}?notice=requested`)
    expect((await securityCounts(admin.id)).totp).toBe(1)
    const request = await pendingRequestFor(admin.id)
    expect(request).toMatchObject({ requestedBy: alice.id, action: 'reset_mfa', ticket: 'SUP-77', checks: ['video_id', 'manager'] })
    expect(request.expiresAt.getTime() - request.createdAt.getTime()).toBeCloseTo(24 * 3_600_000, -4)
    expect(await auditFor(admin.id, 'support.approval_requested')).toHaveLength(1)
    // Every other support person is asked by email; the requester is not.
    const asked = await smtp.waitFor('bob.support@gatehouse.test', { subject: /Approval needed: 2FA reset of admin@acme\.test/, since: askedSince })
    expect(asked.text).toContain('SUP-77')
    expect(asked.text).toMatch(/https?:\/\/\S+\/support\/approvals/)
    expect(smtp.received.filter((m) => m.to === 'support@gatehouse.test' && /Approval needed/.test(m.subject))).toHaveLength(0)

    // The requester sees it without buttons, and a forged POST is refused.
    const list = await alice.client.text('/support/approvals')
    expect(list.html).toContain('You asked for this reset')
    const self = await alice.client.post('/support/approvals', decideForm(request, 'approve'))
    expect(self.status).toBe(403)
    expect(await self.text()).toContain('another support person must approve')
    expect((await pendingRequestFor(admin.id))?.id).toBe(request.id)
    const [refused] = await auditFor(admin.id, 'security.change_refused')
    expect(refused).toMatchObject({ actorId: alice.id })
    expect(refused.details).toMatchObject({ code: 'forbidden', why: 'self', requestId: request.id })

    // The approval is bound to the exact request: a different reason (or target) changes nothing.
    const other = await findDemoUser('owner@acme.test')
    for (const overrides of [{ reason: 'Something else entirely' }, { targetUserId: other.id }, { requestAction: 'delete_account' }] as Record<string, string>[]) {
      const res = await bob.client.post('/support/approvals', decideForm(request, 'approve', overrides))
      expect(res.status).toBe(409)
    }
    expect((await securityCounts(admin.id)).totp).toBe(1)

    const since = Date.now()
    const approved = await bob.client.post('/support/approvals', decideForm(request, 'approve'))
    expect(approved.status).toBe(302)
    expect(approved.headers.get('location')).toBe('/support/approvals?notice=approved')
    expect(await securityCounts(admin.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
    const [row] = await db.select().from(schema.supportRequests).where(eq(schema.supportRequests.id, request.id))
    expect(row).toMatchObject({ status: 'approved', decidedBy: bob.id })
    const [granted] = await auditFor(admin.id, 'support.approval_granted')
    expect(granted.actorId).toBe(bob.id)
    const [resetEvent] = await auditFor(admin.id, 'auth.mfa_reset_by_support')
    expect(resetEvent.actorId).toBe(alice.id)
    expect(resetEvent.details).toMatchObject({ requestId: request.id, approvedBy: 'bob.support@gatehouse.test', ticket: 'SUP-77' })
    await smtp.waitFor('admin@acme.test', { subject: /two-factor authentication was reset/, since })

    // Decided once: a second approval is refused.
    expect((await bob.client.post('/support/approvals', decideForm(request, 'approve'))).status).toBe(409)
  })

  it('a refusal changes nothing and is audited', async () => {
    const owner = await findDemoUser('owner@acme.test')
    await giveFactors(owner.id)
    await alice.client.post(`/support/users/${owner.id}`, reset())
    const request = await pendingRequestFor(owner.id)
    const refused = await bob.client.post('/support/approvals', decideForm(request, 'refuse', { note: 'Could not confirm on video' }))
    expect(refused.status).toBe(302)
    expect((await securityCounts(owner.id)).totp).toBe(1)
    const [row] = await db.select().from(schema.supportRequests).where(eq(schema.supportRequests.id, request.id))
    expect(row).toMatchObject({ status: 'refused', decidedBy: bob.id, decisionNote: 'Could not confirm on video' })
    expect(await auditFor(owner.id, 'support.approval_refused')).toHaveLength(1)
    expect(await auditFor(owner.id, 'auth.mfa_reset_by_support')).toHaveLength(0)
  })

  it('needs a fresh second factor from the approver', async () => {
    const target = await createUser({ email: 'stepup-target@acme.test', org: await createOrg(), role: 'admin' })
    await alice.client.post(`/support/users/${target.id}`, reset())
    const request = await pendingRequestFor(target.id)
    await db.update(schema.sessions).set({ secondFactorAt: sql`now() - interval '6 minutes'` }).where(eq(schema.sessions.id, bob.sessionId))
    const stale = await bob.client.post('/support/approvals', decideForm(request, 'approve'))
    expect(stale.status).toBe(302)
    expect(stale.headers.get('location')).toBe('/settings/security/confirm?redirectTo=%2Fsupport%2Fapprovals')
    expect((await pendingRequestFor(target.id))?.status).toBe('pending')
    await db.update(schema.sessions).set({ secondFactorAt: sql`now()` }).where(eq(schema.sessions.id, bob.sessionId))
    expect((await bob.client.post('/support/approvals', decideForm(request, 'approve'))).status).toBe(302)
  })

  it('requests expire after 24 hours: not listed, recorded, and cannot be approved', async () => {
    const target = await createUser({ email: 'expiring@acme.test', org: await createOrg(), role: 'owner' })
    await giveFactors(target.id)
    await alice.client.post(`/support/users/${target.id}`, reset())
    const request = await pendingRequestFor(target.id)
    expect((await bob.client.text('/support/approvals')).html).toContain('expiring@acme.test')
    // Time passes by changing data: the request was made 25 hours ago.
    await db
      .update(schema.supportRequests)
      .set({ createdAt: sql`now() - interval '25 hours'`, expiresAt: sql`now() - interval '1 hour'` })
      .where(eq(schema.supportRequests.id, request.id))
    const res = await bob.client.post('/support/approvals', decideForm(request, 'approve'))
    expect(res.status).toBe(409)
    expect(await res.text()).toContain('expired')
    expect((await securityCounts(target.id)).totp).toBe(1)
    const [row] = await db.select().from(schema.supportRequests).where(eq(schema.supportRequests.id, request.id))
    expect(row.status).toBe('expired')
    expect(await auditFor(target.id, 'support.approval_expired')).toHaveLength(1)
    const page = await bob.client.text('/support/approvals')
    expect(page.html).not.toMatch(/Request for expiring@acme\.test/)
  })

  it('covers support and superadmin accounts, and superadmins as requesters', async () => {
    const boss = await createUser({ email: 'root@gatehouse.test', platformRole: 'superadmin' })
    const bossClient = new TestClient(base)
    await signInAs(bossClient, boss.id)
    // Support resetting another support account: a request.
    expect((await alice.client.post(`/support/users/${bob.id}`, reset('Bob lost his phone, confirmed by his manager'))).headers.get('location')).toContain('notice=requested')
    // Resetting a superadmin: a request too.
    expect((await alice.client.post(`/support/users/${boss.id}`, reset('Superadmin lost key, confirmed on video call'))).headers.get('location')).toContain('notice=requested')
    // Bob cannot decide a request about himself; the superadmin can.
    const aboutBob = await pendingRequestFor(bob.id)
    expect((await bob.client.post('/support/approvals', decideForm(aboutBob, 'approve'))).status).toBe(403)
    // A superadmin's own request waits for someone else too.
    const owner = await createUser({ email: 'another-owner@acme.test', org: await createOrg(), role: 'owner' })
    expect((await bossClient.post(`/support/users/${owner.id}`, reset())).headers.get('location')).toContain('notice=requested')
    const bossRequest = await pendingRequestFor(owner.id)
    expect((await bossClient.post('/support/approvals', decideForm(bossRequest, 'approve'))).status).toBe(403)
    expect((await alice.client.post('/support/approvals', decideForm(bossRequest, 'approve'))).status).toBe(302)
    // A plain member is reset at once, no request.
    const plain = await findDemoUser('member@globex.test')
    expect((await bossClient.post(`/support/users/${plain.id}`, reset())).headers.get('location')).toContain('notice=reset')
    expect(await pendingRequestFor(plain.id)).toBeUndefined()
  })
})
