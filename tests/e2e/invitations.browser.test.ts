/**
 * Chromium, decision 055: an admin of another organization invites an existing account; the
 * account is not a member until it accepts. Signed in with its app, it sees the organization's
 * policy in words on its security page, accepts, and only then appears among the members.
 */
import { and, eq } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithApp } from '#tests/setup/browser.ts'

vi.setConfig({ testTimeout: 90_000 })

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

describe('an existing account receives an invitation', () => {
  it('sees the organization’s policy, accepts, and is then a member', async () => {
    const home = await createOrg({ name: 'Globex' })
    const member = await createUser({ org: home, name: 'Ines Invited', email: 'ines@globex.test' })
    const { secret: memberSecret } = await enableTotp(member.id)
    const acme = await createOrg({ name: 'Acme' })
    await db
      .update(schema.regionPolicies)
      .set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, requiredSince: new Date() })
      .where(and(eq(schema.regionPolicies.organizationId, acme.id), eq(schema.regionPolicies.region, 'us')))
    const admin = await createUser({ org: acme, role: 'admin', name: 'Ada Admin', email: 'ada@acme.test' })
    const { secret: adminSecret } = await enableTotp(admin.id)

    // The admin invites the address: the page says "invited", nothing about an existing account.
    const adminPage = await (await browser.newContext()).newPage()
    await signInWithApp(adminPage, base, admin.email, await totpCode(adminSecret))
    await adminPage.getByRole('heading', { name: 'Welcome, Ada Admin' }).waitFor()
    await adminPage.goto(`${base}/orgs/${acme.slug}/members`)
    await adminPage.locator('#email').fill('ines@globex.test')
    await adminPage.getByRole('button', { name: 'Send invitation' }).click()
    await adminPage.getByText('Invited.', { exact: true }).waitFor()
    const pending = adminPage.getByRole('table', { name: 'Pending invitations' })
    await pending.getByText('ines@globex.test').waitFor()
    expect(await adminPage.getByText(/existing account/i).count()).toBe(0)
    expect(await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, member.id), eq(schema.memberships.organizationId, acme.id)))).toEqual([])

    // The member, signed in with the app, reads Acme's policy and accepts.
    const page = await (await browser.newContext()).newPage()
    await signInWithApp(page, base, member.email, await totpCode(memberSecret))
    await page.getByRole('heading', { name: 'Welcome, Ines Invited' }).waitFor()
    await page.goto(`${base}/settings/security`)
    const invitation = page.getByTestId('invitation')
    await invitation.getByText('Acme requires an authenticator app or a security key within 7 days').waitFor()
    await screenshot(page, 'invitation-pending')
    await invitation.getByRole('button', { name: 'Accept' }).click()
    await page.getByText('You joined the organization as member.').waitFor()
    await page.getByTestId('invitation').waitFor({ state: 'detached' })

    const [membership] = await db.select().from(schema.memberships).where(and(eq(schema.memberships.userId, member.id), eq(schema.memberships.organizationId, acme.id)))
    expect(membership.role).toBe('member')
    // Now a member: listed on the members page, and gone from the pending invitations.
    await adminPage.goto(`${base}/orgs/${acme.slug}/members`)
    await adminPage.getByRole('cell', { name: 'ines@globex.test' }).first().waitFor()
    expect(await adminPage.getByRole('table', { name: 'Pending invitations' }).count()).toBe(0)
    await adminPage.close()
    await page.close()
  })
})
