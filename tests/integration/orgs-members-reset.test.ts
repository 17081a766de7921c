import { and, eq } from 'drizzle-orm'
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
let adminClient: TestClient
let acmeId: string
beforeAll(async () => {
  const { orgIds } = await seedDemo()
  acmeId = orgIds.get('acme')!
  ;({ url: base, smtp } = await startTestApp())
  adminClient = new TestClient(base)
  await signInAs(adminClient, (await findDemoUser('admin@acme.test')).id)
})

const FORM = { intent: 'reset', reason: 'Member lost phone, confirmed in person at the office', ticket: '', checks: ['manager', 'video_id'], confirm: 'yes' }
const resetPath = (userId: string, slug = 'acme') => `/orgs/${slug}/members/${userId}/reset`

describe('org admin resets', () => {
  it('resets a plain member of their organization, with the same notice and audit', async () => {
    const member = await findDemoUser('member@acme.test')
    await giveFactors(member.id)
    const memberClient = new TestClient(base)
    await signInAs(memberClient, member.id)
    const page = await adminClient.text(resetPath(member.id))
    expect(page.status).toBe(200)
    expect(page.html).toContain('Identity checks done')

    const incomplete = await adminClient.post(resetPath(member.id), { ...FORM, checks: ['manager'] })
    expect(incomplete.status).toBe(400)
    expect((await securityCounts(member.id)).totp).toBe(1)

    const since = Date.now()
    const res = await adminClient.post(resetPath(member.id), FORM)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe(`${resetPath(member.id)}?done=1`)
    expect(await securityCounts(member.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
    expect((await memberClient.get('/')).status).toBe(302)
    const [user] = await db.select().from(schema.users).where(eq(schema.users.id, member.id))
    expect(user.mfaResetAt).toBeInstanceOf(Date)
    const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'auth.mfa_reset_by_org_admin'), eq(schema.auditEvents.subjectId, member.id)))
    expect(event).toMatchObject({ organizationId: acmeId, actorLabel: 'admin@acme.test' })
    expect(event.details).toMatchObject({ reason: FORM.reason, checks: ['manager', 'video_id'] })
    const mail = await smtp.waitFor('member@acme.test', { subject: /two-factor authentication was reset/, since })
    expect(mail.text).toContain('an administrator of your organization (Acme Corporation)')
    expect(mail.text).toMatch(/\/freeze\/\S+/)
  })

  it('cannot reset an owner, an admin elsewhere, or a platform account: that goes through support', async () => {
    const owner = await findDemoUser('owner@acme.test')
    const adminElsewhere = await createUser({ email: 'admin-elsewhere@acme.test', org: { id: acmeId }, role: 'member' })
    await db.insert(schema.memberships).values({ userId: adminElsewhere.id, organizationId: (await createOrg()).id, role: 'admin' })
    const staff = await createUser({ email: 'staff-member@acme.test', org: { id: acmeId }, role: 'member', platformRole: 'support' })
    for (const target of [owner, adminElsewhere, staff]) {
      await giveFactors(target.id)
      const page = await adminClient.text(resetPath(target.id))
      expect(page.status).toBe(200)
      expect(page.html).toContain('Only Gatehouse support can reset this person')
      expect(page.html).not.toContain('Identity checks done')
      const res = await adminClient.post(resetPath(target.id), FORM)
      expect(res.status).toBe(403)
      expect(await res.text()).toContain('Only Gatehouse support can reset this person')
      expect((await securityCounts(target.id)).totp).toBe(1)
      // Refused and recorded with who tried (decision 057).
      const [refused] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'security.change_refused'), eq(schema.auditEvents.subjectId, target.id)))
      expect(refused).toMatchObject({ actorLabel: 'admin@acme.test', organizationId: acmeId })
      expect(refused.details).toMatchObject({ code: 'two_person_required', attempt: 'auth.mfa_reset_by_org_admin' })
    }
  })

  it('answers 404 outside their organization, and to plain members', async () => {
    const globexMember = await findDemoUser('member@globex.test')
    expect((await adminClient.get(resetPath(globexMember.id))).status).toBe(404)
    expect((await adminClient.post(resetPath(globexMember.id), FORM)).status).toBe(404)
    expect((await adminClient.get(resetPath(globexMember.id, 'globex'))).status).toBe(404)
    const plain = new TestClient(base)
    await signInAs(plain, (await findDemoUser('eu.member@acme.test')).id)
    const member = await findDemoUser('member@acme.test')
    expect((await plain.get(resetPath(member.id))).status).toBe(404)
    expect((await plain.post(resetPath(member.id), FORM)).status).toBe(404)
  })
})
