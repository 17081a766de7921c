/**
 * Support reset in Chromium, from search to the reset, and the member's half: the next sign-in
 * asks for an email code (read from the SMTP listener) even under optional; where the member's
 * organization requires an app or key (email not allowed, deadline passed) the member proves the
 * mailbox and is then held on /enroll until they enrol again.
 */
import type { Browser, Page } from 'playwright-core'
import { generate } from 'otplib'
import { and, eq } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { giveFactors, securityCounts } from '#tests/factories/security.ts'
import { createSession } from '#app/auth/session.server.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let browser: Browser
let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('support searches, opens the member, and resets with reason, ticket and checks', async () => {
  const member = await findDemoUser('member@acme.test')
  await giveFactors(member.id)
  const support = await findDemoUser('support@gatehouse.test')
  // Support staff reach level 'mfa' through the MFA sign-in (built in parallel); the session is made directly.
  const { token } = await createSession({ userId: support.id, level: 'mfa', secondFactorMethod: 'totp', meta: { ip: '127.0.0.1', userAgent: 'chromium' } })
  const context = await browser.newContext()
  await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  const page = await context.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  // The intentionally incomplete form answers 400, which Chromium logs as a failed resource.
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && browserErrors.push(m.text()))

  await page.goto(`${base}/support`)
  await page.getByLabel('Search members by email, name or organization').fill('Mia')
  await page.getByRole('button', { name: 'Search' }).click()
  await page.getByRole('link', { name: 'member@acme.test' }).click()
  await page.getByRole('heading', { name: 'Mia Member' }).waitFor()
  await page.getByText('YubiKey 5C').waitFor()
  await screenshot(page, 'support-member-before-reset')

  // Submitting without the checks shows the errors in place.
  await page.getByLabel('Reason').fill('Lost phone and recovery codes; verified identity')
  await page.getByLabel('Ticket reference').fill('SUP-2024')
  await page.getByLabel('Video call: the face matched a government photo ID').check()
  await page.getByLabel('Yes, remove every factor of member@acme.test').check()
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click()
  await expect.poll(() => page.getByRole('alert').allTextContents()).toContain('Tick at least 2 identity checks you have done')
  expect((await securityCounts(member.id)).totp).toBe(1)

  const since = Date.now()
  await page.getByLabel('Called back on the phone number already on file').check()
  await page.getByLabel('Yes, remove every factor of member@acme.test').check()
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click()
  await page.getByText('Two-factor authentication was reset').waitFor()
  await page.getByText('No authenticator app or security key.').waitFor()
  await screenshot(page, 'support-member-after-reset')

  expect(await securityCounts(member.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
  const [after] = await db.select().from(schema.users).where(eq(schema.users.id, member.id))
  expect(after.mfaResetAt).toBeInstanceOf(Date)
  const mail = await smtp.waitFor('member@acme.test', { subject: /two-factor authentication was reset/, since })
  expect(mail.text).toMatch(/\/freeze\/\S+/)

  // The approvals page hydrates too (its forms are client-side navigations).
  await page.goto(`${base}/support/approvals`)
  await page.getByRole('heading', { name: 'Approvals' }).waitFor()
  expect(browserErrors).toEqual([])
  await context.close()
})

it('the org admin reset page works in the browser', async () => {
  const admin = await findDemoUser('admin@acme.test')
  const target = await findDemoUser('eu.member@acme.test')
  await giveFactors(target.id)
  const { token } = await createSession({ userId: admin.id, level: 'mfa', secondFactorMethod: 'totp', meta: { ip: '127.0.0.1', userAgent: 'chromium' } })
  const context = await browser.newContext()
  await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  const page = await context.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  await page.goto(`${base}/orgs/acme/members/${target.id}/reset`)
  await page.getByLabel('Reason').fill('Lost phone, confirmed by their manager in writing')
  await page.getByLabel('The member replied from the email address on the account').check()
  await page.getByLabel("The member's manager or organization admin confirmed the request in writing").check()
  await page.getByLabel('Yes, remove every factor of eu.member@acme.test').check()
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click()
  await page.getByText('Done: eu.member@acme.test has no factor').waitFor()
  expect((await securityCounts(target.id)).totp).toBe(0)
  expect(browserErrors).toEqual([])
  await context.close()
})

it('a second support person approves a pending reset from the approvals page', async () => {
  const owner = await findDemoUser('owner@acme.test')
  await giveFactors(owner.id)
  const requester = await findDemoUser('support@gatehouse.test')
  const { supportReset } = await import('#app/support/approvals.server.ts')
  const requested = await supportReset({
    actor: { id: requester.id, email: requester.email },
    targetUserId: owner.id,
    reason: 'Owner lost phone, identity checked on a video call',
    ticket: 'SUP-31',
    checks: ['video_id', 'manager'],
  })
  expect(requested.status).toBe('pending')
  const { createUser } = await import('#tests/factories/users.ts')
  const second = await createUser({ email: 'second.support@gatehouse.test', platformRole: 'support' })
  const { token } = await createSession({ userId: second.id, level: 'mfa', secondFactorMethod: 'webauthn', meta: { ip: '127.0.0.1', userAgent: 'chromium' } })
  const context = await browser.newContext()
  await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  const page = await context.newPage()
  await page.goto(`${base}/support/approvals`)
  const card = page.getByRole('article', { name: 'Request for owner@acme.test' })
  await card.getByText('Owner lost phone, identity checked on a video call').waitFor()
  await card.getByText('SUP-31').waitFor()
  await screenshot(page, 'support-approvals-pending')
  await card.getByRole('button', { name: 'Approve and reset' }).click()
  await page.getByText('Approved: the reset has been carried out').waitFor()
  expect(await securityCounts(owner.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
  await context.close()
})

/** The member signs in and answers the emailed code on /login/verify; returns when the code is accepted. */
async function signInWithEmailCode(page: Page, email: string) {
  // The password step lands on the email step and sends the code (decision 071).
  const since = Date.now()
  await signInWithForm(page, base, email)
  await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
  await page.getByText('Your two-factor authentication was reset. Confirm with a code sent to your email to continue.').waitFor()
  // Only the email code is offered: the factors are gone and the mailbox must confirm first.
  expect(await page.getByRole('link', { name: 'Use authenticator app' }).count()).toBe(0)
  expect(await page.getByRole('link', { name: 'Use a recovery code' }).count()).toBe(0)
  const mail = await smtp.waitFor(email, { subject: /sign-in code/, since })
  await page.getByLabel('Email code').fill(/sign-in code is (\d{6})/.exec(mail.text)![1])
  await page.getByRole('button', { name: 'Verify' }).click()
}

it("the reset member's next sign-in asks for an email code, even under optional", async () => {
  // Runs after the first test: support reset member@acme.test (who had an app) from search; acme US is optional.
  const member = await findDemoUser('member@acme.test')
  expect(member.mfaResetAt).toBeInstanceOf(Date)
  const context = await browser.newContext()
  const page = await context.newPage()
  await signInWithEmailCode(page, 'member@acme.test')
  await page.getByRole('heading', { name: 'Welcome, Mia Member' }).waitFor()
  await screenshot(page, 'support-reset-member-signed-in')
  // The marker is used up: the following sign-in is password only again (optional, no factor).
  expect((await findDemoUser('member@acme.test')).mfaResetAt).toBeNull()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()
  await signInWithForm(page, base, 'member@acme.test')
  await page.getByRole('heading', { name: 'Welcome, Mia Member' }).waitFor()
  await context.close()
})

it('where the organization requires an app or key (deadline passed), the reset member is forced to re-enrol', async () => {
  const member = await findDemoUser('member@acme.test')
  const acme = await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme'))
  // Acme requires an app or key in US; time moves past the deadline by data.
  await db
    .update(schema.regionPolicies)
    .set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'force_enrollment', requiredSince: new Date(Date.now() - 30 * 86_400_000) })
    .where(and(eq(schema.regionPolicies.organizationId, acme[0].id), eq(schema.regionPolicies.region, 'us')))
  await db.update(schema.memberships).set({ joinedAt: new Date(Date.now() - 365 * 86_400_000) }).where(eq(schema.memberships.userId, member.id))
  // The member had an app again; support resets them (the same domain call the page makes).
  await giveFactors(member.id)
  const support = await findDemoUser('support@gatehouse.test')
  const { supportReset } = await import('#app/support/approvals.server.ts')
  const done = await supportReset({ actor: { id: support.id, email: support.email }, targetUserId: member.id, reason: 'Lost phone again; identity checked', ticket: 'SUP-2025', checks: ['video_id', 'callback'] })
  expect(done.status).toBe('done')

  const context = await browser.newContext()
  const page = await context.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  await signInWithEmailCode(page, 'member@acme.test')
  await page.waitForURL(`${base}/enroll`)
  await page.getByText('Acme Corporation requires a second step at sign-in.').waitFor()
  await screenshot(page, 'support-reset-member-forced-enrollment')
  for (const path of ['/', '/settings/security']) {
    await page.goto(`${base}${path}`)
    expect(new URL(page.url()).pathname, path).toBe('/enroll')
  }
  await page.getByRole('link', { name: 'Authenticator app' }).click()
  await page.getByText("Can't scan?").click()
  const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '')
  await page.getByLabel('Code from the app').fill(await generate({ secret }))
  await page.getByRole('button', { name: 'Verify & enable' }).click()
  await page.getByRole('link', { name: "I've saved my codes" }).click()
  await page.getByRole('heading', { name: 'Welcome, Mia Member' }).waitFor()
  const [session] = await db.select().from(schema.sessions).where(and(eq(schema.sessions.userId, member.id), eq(schema.sessions.level, 'mfa')))
  expect(session).toBeDefined()
  expect(browserErrors).toEqual([])
  await context.close()
})
