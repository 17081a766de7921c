/**
 * Nothing is destroyed on one click, and buttons say they are working (issue 15, decision 072).
 * Each destructive action opens the one confirmation (ConfirmAction) that says what will happen,
 * takes the keyboard focus, cancels on Escape, and also works with JavaScript off. While a change
 * is sent, its button is disabled with a busy label: the request is held at the network (not
 * timed) while the test looks.
 */
import { and, eq, isNull } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { giveFactors, securityCounts } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithApp } from '#tests/setup/browser.ts'

const SLOW = 180_000

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

async function signedIn(page: Page, email: string, secret: string) {
  await signInWithApp(page, base, email, await totpCode(secret))
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
}

/** Holds the next form submission (a POST to a route's `.data`) until `release`: the page can be looked at while it is in flight. */
async function holdNextSubmission(page: Page) {
  let release!: () => void
  const released = new Promise<void>((r) => (release = r))
  let arrived!: () => void
  const inFlight = new Promise<void>((r) => (arrived = r))
  await page.route((url) => url.pathname.endsWith('.data'), async (route) => {
    if (route.request().method() !== 'POST') return route.continue()
    arrived()
    await released
    await route.continue()
  })
  return {
    inFlight,
    release: async () => {
      release()
      await page.unrouteAll({ behavior: 'wait' })
    },
  }
}

/** The button is disabled, busy, and says `label` while its form is held; then the hold is released. */
async function expectBusy(page: Page, name: string, busyLabel: string, shot: string) {
  const hold = await holdNextSubmission(page)
  const button = page.getByRole('button', { name })
  await button.click()
  await hold.inFlight
  const busy = page.getByRole('button', { name: busyLabel })
  await busy.waitFor()
  expect(await busy.isDisabled()).toBe(true)
  expect(await busy.getAttribute('aria-busy')).toBe('true')
  await screenshot(page, shot)
  await hold.release()
}

const focusedRole = (page: Page) => page.evaluate(() => document.activeElement?.closest('[role="alertdialog"]') ? 'in-dialog' : document.activeElement?.tagName ?? null)

it('signing out another session: says which browser will have to sign in again, takes the focus, Escape cancels, the keyboard confirms', async () => {
  const user = await createUser({ name: 'Ana Sessions' })
  const { secret } = await enableTotp(user.id)
  // A second session, as from another browser.
  await createSession({ userId: user.id, level: 'mfa', secondFactorMethod: 'totp', meta: { ip: '203.0.113.9', userAgent: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.0 Safari/605.1.15' } })
  const page = await browser.newPage()
  await signedIn(page, user.email, secret)
  await page.goto(`${base}/settings/security/sessions`)
  await page.getByRole('link', { name: /^Sign out Safari/ }).click()
  const dialog = page.getByRole('alertdialog', { name: 'Sign out this session?' })
  await dialog.getByText(/^Safari 17 on macOS.* \(203\.0\.113\.9\) will need to sign in again\.$/).waitFor()
  await expect.poll(() => focusedRole(page)).toBe('in-dialog')
  await screenshot(page, 'confirm-sign-out-session')
  await page.keyboard.press('Escape')
  await dialog.waitFor({ state: 'detached' })
  expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toHaveLength(2)

  await page.getByRole('link', { name: /^Sign out Safari/ }).click()
  await expect.poll(() => focusedRole(page)).toBe('in-dialog')
  await page.keyboard.press('Tab')
  expect(await page.evaluate(() => document.activeElement?.textContent)).toBe('Sign out')
  await page.keyboard.press('Enter')
  await page.getByText('Session signed out.').waitFor()
  expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toHaveLength(1)
  await page.close()
}, SLOW)

it('forgetting all devices: says how many browsers will ask again; works with JavaScript off', async () => {
  const user = await createUser({ name: 'Dev Devices' })
  const { secret } = await giveFactors(user.id)
  const context = await browser.newContext({ javaScriptEnabled: false })
  const page = await context.newPage()
  await signedIn(page, user.email, secret)
  await page.goto(`${base}/settings/security/devices`)
  await page.getByRole('link', { name: 'Forget all devices…' }).click()
  const dialog = page.getByRole('alertdialog', { name: 'Forget all remembered devices?' })
  await dialog.getByText('The 2 browsers listed here will ask for your second factor at your next sign-in on each of them.').waitFor()
  expect((await securityCounts(user.id)).trustedDevices).toBe(2)
  await screenshot(page, 'confirm-forget-all-devices')
  await dialog.getByRole('button', { name: 'Forget all devices' }).click()
  await page.getByText('2 devices forgotten.').waitFor()
  expect((await securityCounts(user.id)).trustedDevices).toBe(0)
  await context.close()
}, SLOW)

it('removing a security key: says what it does, and the button is busy while it is sent', async () => {
  const user = await createUser({ name: 'Kay Keys' })
  const { secret } = await giveFactors(user.id)
  const page = await browser.newPage()
  await signedIn(page, user.email, secret)
  await page.goto(`${base}/settings/security/keys`)
  await page.getByRole('link', { name: 'Remove YubiKey 5C…' }).click()
  const dialog = page.getByRole('alertdialog', { name: 'Remove “YubiKey 5C”?' })
  await dialog.getByText('This key will no longer sign you in.').waitFor()
  await screenshot(page, 'confirm-remove-key')
  await expectBusy(page, 'Remove key', 'Removing…', 'busy-remove-key')
  await page.getByText('Security key removed.').waitFor()
  expect((await securityCounts(user.id)).webauthn).toBe(1)
  await page.close()
}, SLOW)

it('setting up an authenticator app: Verify shows it is working', async () => {
  const user = await createUser({ name: 'Tia Totp' })
  const page = await browser.newPage()
  const { signInWithForm } = await import('#tests/setup/browser.ts')
  await signInWithForm(page, base, user.email)
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  await page.goto(`${base}/settings/security/totp`)
  await page.getByText("Can't scan?").click()
  const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '')
  await page.getByLabel('Code from the app').fill(await totpCode(secret))
  await expectBusy(page, 'Verify & enable', 'Verifying…', 'busy-totp-verify')
  await page.getByRole('list', { name: 'Recovery codes' }).waitFor()
  expect((await securityCounts(user.id)).totp).toBe(1)
  await page.close()
}, SLOW)

it('an admin removing a member, cancelling an invitation and removing an exemption: each confirmed, each button busy', async () => {
  const org = await createOrg({ name: 'Confirmco' })
  const admin = await createUser({ org, role: 'admin', name: 'Ada Admin' })
  const { secret } = await enableTotp(admin.id)
  const ana = await createUser({ org, role: 'member', name: 'Ana Member' })
  const bot = await createUser({ org, kind: 'service', password: null, name: 'Build bot' })
  const page = await browser.newPage()
  await signedIn(page, admin.email, secret)

  // Remove from organization.
  await page.goto(`${base}/orgs/${org.slug}/members`)
  await page.getByRole('row', { name: /Ana Member/ }).getByText('More').click()
  await page.getByRole('link', { name: `Remove ${ana.email}…` }).click()
  const remove = page.getByRole('alertdialog', { name: 'Remove Ana Member from Confirmco?' })
  await remove.getByText(`Ana Member (${ana.email}) will no longer be a member of Confirmco`).waitFor()
  await screenshot(page, 'confirm-remove-member')
  await expectBusy(page, 'Remove from organization', 'Removing…', 'busy-remove-member')
  await page.getByText('Member removed.').waitFor()
  expect(await db.select().from(schema.memberships).where(and(eq(schema.memberships.organizationId, org.id), eq(schema.memberships.userId, ana.id)))).toHaveLength(0)

  // Cancel an invitation (sent from the page, its button busy too).
  await page.locator('#email').fill('newcomer@example.test')
  await expectBusy(page, 'Send invitation', 'Sending…', 'busy-send-invitation')
  await page.getByText('Invited.').waitFor()
  await page.getByRole('link', { name: 'Cancel the invitation of newcomer@example.test…' }).click()
  const cancel = page.getByRole('alertdialog', { name: 'Cancel the invitation of newcomer@example.test?' })
  await cancel.getByText('The link sent to newcomer@example.test stops working at once').waitFor()
  await screenshot(page, 'confirm-cancel-invitation')
  await cancel.getByRole('button', { name: 'Cancel invitation' }).click()
  await page.getByText('Invitation cancelled.').waitFor()
  expect(await db.select().from(schema.invitations).where(and(eq(schema.invitations.organizationId, org.id), eq(schema.invitations.state, 'pending')))).toHaveLength(0)

  // Add an exemption (busy), then remove it (confirmed).
  await page.goto(`${base}/orgs/${org.slug}/exemptions`)
  await page.getByLabel('Service account email').fill(bot.email)
  await page.getByLabel('Reason').fill('CI pipeline')
  await expectBusy(page, 'Add exemption', 'Adding…', 'busy-add-exemption')
  await page.getByText('Exemption added.').waitFor()
  await page.getByRole('link', { name: `Remove exemption of ${bot.email} in us…` }).click()
  const exemption = page.getByRole('alertdialog', { name: `Remove the exemption of ${bot.email} in US?` })
  await exemption.getByText('is no longer exempt in US').waitFor()
  await screenshot(page, 'confirm-remove-exemption')
  await expectBusy(page, 'Remove exemption', 'Removing…', 'busy-remove-exemption')
  await page.getByText('Exemption removed.').waitFor()
  expect(await db.select().from(schema.exemptions).where(and(eq(schema.exemptions.userId, bot.id), isNull(schema.exemptions.expiresAt)))).toHaveLength(0)
  await page.close()
}, SLOW)
