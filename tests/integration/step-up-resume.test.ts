/**
 * The rules behind decision 072, tried through the real server: resets and unlocks need a fresh
 * second factor and change nothing without it; what comes back through step-up never holds a
 * password; the turn-off form is not even shown without a fresh factor; a confirmation shows only
 * what the page's own scope holds (another organization's member, another account's session).
 */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { giveFactors, securityCounts, signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

/** A signed-in client whose second factor was 10 minutes ago (moved by data). */
async function staleClient(userId: string) {
  const client = new TestClient(base)
  const { session } = await signInAs(client, userId, { level: 'mfa', secondFactorMethod: 'totp' })
  await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.id, session.id))
  return client
}

/** The page the step-up page returns to, and the change it carries. */
function carried(location: string | null) {
  expect(location).toMatch(/^\/settings\/security\/confirm\?redirectTo=/)
  const back = new URL(location!, base).searchParams.get('redirectTo')!
  const resume = new URL(back, base).searchParams.get('resume')
  return { back, change: resume ? (JSON.parse(resume) as { intent: string; values: Record<string, unknown> }) : null }
}

const RESET = { intent: 'reset', reason: 'Lost phone; verified on a call', ticket: 'SUP-1', checks: ['video_id', 'callback'], confirm: 'yes' }

describe('resets and unlocks need a fresh second factor', () => {
  it('support: a stale factor resets and unlocks nothing, and the change comes back through step-up', async () => {
    const support = await createUser({ platformRole: 'support' })
    await enableTotp(support.id)
    const member = await createUser()
    await giveFactors(member.id)
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000), lockCount: 1 }).where(eq(schema.users.id, member.id))
    const client = await staleClient(support.id)

    const reset = await client.post(`/support/users/${member.id}`, RESET)
    expect(reset.status).toBe(302)
    expect(carried(reset.headers.get('location'))).toEqual({
      back: expect.stringMatching(new RegExp(`^/support/users/${member.id}\\?resume=`)),
      change: { intent: 'reset', values: { reason: RESET.reason, ticket: 'SUP-1', checks: ['video_id', 'callback'], confirm: 'yes' } },
    })
    expect((await securityCounts(member.id)).totp).toBe(1)

    const unlock = await client.post(`/support/users/${member.id}`, { intent: 'unlock', reason: 'Verified' })
    expect(carried(unlock.headers.get('location')).change).toEqual({ intent: 'unlock', values: { reason: 'Verified' } })
    const [still] = await db.select().from(schema.users).where(eq(schema.users.id, member.id))
    expect(still.lockedUntil).not.toBeNull()

    // The page offers to finish the carried change; the stale session still cannot.
    const { back } = carried(reset.headers.get('location'))
    expect((await client.text(back)).html).toContain('Finish your change')
    expect((await client.post(back, RESET)).status).toBe(302)
    expect((await securityCounts(member.id)).totp).toBe(1)
  })

  it('an organization admin: a stale factor resets nothing', async () => {
    const org = await createOrg()
    const admin = await createUser({ org, role: 'admin' })
    await enableTotp(admin.id)
    const member = await createUser({ org, role: 'member' })
    await giveFactors(member.id)
    const client = await staleClient(admin.id)
    const res = await client.post(`/orgs/${org.slug}/members/${member.id}/reset`, RESET)
    expect(carried(res.headers.get('location')).change).toMatchObject({ intent: 'reset' })
    expect((await securityCounts(member.id)).totp).toBe(1)
  })
})

describe('no password is carried through step-up', () => {
  it('turning 2FA off: no form without a fresh factor, and a lapsed form goes back to it without the password', async () => {
    const user = await createUser()
    await enableTotp(user.id)
    const client = await staleClient(user.id)
    const page = await client.text('/settings/security')
    expect(page.html).not.toContain('name="password"')
    expect(page.html).toContain('Turn off 2FA…')
    const res = await client.post('/settings/security', { intent: 'turn_off', password: PASSWORD })
    const location = res.headers.get('location')!
    expect(carried(location)).toEqual({ back: '/settings/security?turn-off=1#turn-off', change: null })
    expect(decodeURIComponent(decodeURIComponent(location))).not.toContain(PASSWORD)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(after.mfaEnabledAt).not.toBeNull()
  })
})

describe('a confirmation shows only what the page may touch', () => {
  it('another organization’s member, another account’s session or key: no confirmation', async () => {
    const mine = await createOrg()
    const theirs = await createOrg()
    const admin = await createUser({ org: mine, role: 'admin' })
    const stranger = await createUser({ org: theirs, role: 'member', name: 'Zed Stranger' })
    const client = new TestClient(base)
    await signInAs(client, admin.id)
    const members = await client.text(`/orgs/${mine.slug}/members?remove=${stranger.id}`)
    expect(members.status).toBe(200)
    expect(members.html).not.toContain('role="alertdialog"')
    expect(members.html).not.toContain('Zed Stranger')

    const other = new TestClient(base)
    const { session: theirSession } = await signInAs(other, stranger.id)
    const sessions = await client.text(`/settings/security/sessions?sign-out=${theirSession.id}`)
    expect(sessions.html).not.toContain('role="alertdialog"')
    await giveFactors(stranger.id)
    const [key] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, stranger.id))
    const keys = await client.text(`/settings/security/keys?remove=${key.id}`)
    expect(keys.html).not.toContain('role="alertdialog"')
    expect(keys.html).not.toContain(key.label)
  })
})
