/**
 * Step-up never throws work away (issue 15, decision 072). For each change that needs a fresh
 * second factor, Chromium starts it with a session whose second factor is older than 5 minutes,
 * answers the step-up page with an app code, and finishes the change with one press on the page
 * it came back to, without choosing or typing anything again. Turning 2FA off asks for step-up
 * before its password form is shown, so the password is never carried.
 * (Removing a security key this way is in mfa.browser.test.ts, "step-up with a security key".)
 */
import { and, eq, isNull } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, totpCode, userById } from '#tests/factories/mfa.ts'
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

/** An account with an authenticator app, signed in with it in a fresh page; then its second factor is made stale. */
async function signedInStale(input: Parameters<typeof createUser>[0] = {}) {
  const user = await createUser(input)
  const { secret } = await enableTotp(user.id)
  const page = await browser.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await signInWithApp(page, base, user.email, await totpCode(secret))
  await page.getByRole('button', { name: 'Sign out' }).waitFor()
  // Moves time by changing data: the sign-in's second factor is now 10 minutes old.
  await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.userId, user.id))
  return { user, secret, page, errors }
}

/** Answers the step-up page with the app's code (the sign-in's time step is forgotten, as 30 s later). */
async function stepUp(page: Page, userId: string, secret: string, shot: string) {
  await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
  expect(new URL(page.url()).pathname).toBe('/settings/security/confirm')
  await screenshot(page, `${shot}-step-up`)
  await forgetTotpStep(userId)
  await page.getByLabel('Authentication code').fill(await totpCode(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
}

async function finish(page: Page, label: string, shot: string) {
  const panel = page.getByRole('region', { name: 'Finish your change' })
  await panel.waitFor()
  await screenshot(page, `${shot}-finish`)
  await panel.getByRole('button', { name: label }).click()
}

it('turning 2FA off asks for step-up before the password form, then turns it off with the password typed once', async () => {
  const { user, secret, page, errors } = await signedInStale({ name: 'Otto Off' })
  await page.goto(`${base}/settings/security`)
  // No password field yet: the password is never carried through step-up.
  expect(await page.getByLabel('Password').count()).toBe(0)
  await page.getByRole('link', { name: 'Turn off 2FA…' }).click()
  await stepUp(page, user.id, secret, 'step-up-turn-off')
  await page.waitForURL((u) => u.pathname === '/settings/security' && u.searchParams.get('turn-off') === '1')
  await page.getByLabel('Password').fill('correct horse battery staple')
  await screenshot(page, 'step-up-turn-off-form')
  await page.getByRole('button', { name: 'Turn off 2FA' }).click()
  await page.getByText('Two-factor authentication is off.').waitFor()
  expect((await userById(user.id)).mfaEnabledAt).toBeNull()
  expect((await securityCounts(user.id)).totp).toBe(0)
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('removing the authenticator app: confirmed, stepped up, finished with one press', async () => {
  const { user, secret, page, errors } = await signedInStale({ name: 'Ada App' })
  await page.goto(`${base}/settings/security/totp`)
  await page.getByRole('link', { name: 'Remove authenticator app…' }).click()
  await page.getByRole('alertdialog', { name: 'Remove your authenticator app?' }).getByRole('button', { name: 'Remove authenticator app' }).click()
  await stepUp(page, user.id, secret, 'step-up-remove-app')
  await finish(page, 'Remove authenticator app', 'step-up-remove-app')
  await page.waitForURL(`${base}/settings/security`)
  expect((await securityCounts(user.id)).totp).toBe(0)
  expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.totp_disabled')
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('regenerating recovery codes: stepped up, finished with one press, the new codes shown', async () => {
  const { user, secret, page, errors } = await signedInStale({ name: 'Rex Regen' })
  const before = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
  await page.goto(`${base}/settings/security/recovery-codes`)
  await page.getByRole('button', { name: 'Regenerate' }).click()
  await stepUp(page, user.id, secret, 'step-up-regenerate')
  await finish(page, 'Regenerate', 'step-up-regenerate')
  const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('code')
  await codes.first().waitFor()
  expect(await codes.count()).toBe(10)
  const after = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
  expect(after.map((c) => c.batchId)).not.toContain(before[0].batchId)
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('issuing an API key with a write scope: stepped up, finished with one press, the key shown once', async () => {
  const org = await createOrg({ name: 'Keyco' })
  const bot = await createUser({ org, kind: 'service', password: null, name: 'CI bot' })
  const { user, secret, page, errors } = await signedInStale({ org, role: 'admin', name: 'Ivy Issuer' })
  await page.goto(`${base}/orgs/${org.slug}/api-keys`)
  await page.getByLabel('Service account').selectOption(bot.id)
  await page.getByLabel('Name').fill('Policy sync')
  await page.getByRole('checkbox', { name: /policy:write/ }).check()
  await page.getByRole('checkbox', { name: /policy:read/ }).check()
  await page.getByRole('button', { name: 'Issue key' }).click()
  await stepUp(page, user.id, secret, 'step-up-api-key')
  const panel = page.getByRole('region', { name: 'Finish your change' })
  await panel.getByText('Issue the key “Policy sync” for').waitFor()
  await finish(page, 'Issue key', 'step-up-api-key')
  await page.getByText('Copy this key now').waitFor()
  expect(await page.getByLabel('New API key').inputValue()).toMatch(/^ghk_/)
  const keys = await db.select().from(schema.apiKeys).where(eq(schema.apiKeys.userId, bot.id))
  expect(keys).toHaveLength(1)
  expect([...keys[0].scopes].sort()).toEqual(['policy:read', 'policy:write'])
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('an organization admin resetting a member: stepped up, finished with one press, with the reason and checks given before', async () => {
  const org = await createOrg({ name: 'Resetco' })
  const member = await createUser({ org, role: 'member', name: 'Mo Member' })
  await giveFactors(member.id)
  const { user, secret, page, errors } = await signedInStale({ org, role: 'admin', name: 'Ari Admin' })
  await page.goto(`${base}/orgs/${org.slug}/members/${member.id}/reset`)
  await page.getByLabel('Reason').fill('Lost phone; confirmed on a video call')
  await page.getByLabel('Video call: the face matched a government photo ID').check()
  await page.getByLabel('Called back on the phone number already on file').check()
  await page.getByLabel(`Yes, remove every factor of ${member.email}`).check()
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click()
  await stepUp(page, user.id, secret, 'step-up-org-reset')
  await page.getByRole('region', { name: 'Finish your change' }).getByText('Lost phone; confirmed on a video call').waitFor()
  expect(await securityCounts(member.id)).toMatchObject({ totp: 1, webauthn: 2 })
  await finish(page, 'Reset two-factor authentication', 'step-up-org-reset')
  await page.getByText(`Done: ${member.email} has no factor`).waitFor()
  expect(await securityCounts(member.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
  expect(await auditOf(member.id)).toContainEqual(expect.objectContaining({ action: 'auth.mfa_reset_by_org_admin', details: expect.objectContaining({ reason: 'Lost phone; confirmed on a video call' }) }))
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('support resetting a member: stepped up, finished with one press', async () => {
  const member = await createUser({ name: 'Sue Subject' })
  await giveFactors(member.id)
  const { user, secret, page, errors } = await signedInStale({ platformRole: 'support', name: 'Sam Support' })
  await page.goto(`${base}/support/users/${member.id}`)
  await page.getByLabel('Reason').fill('Lost phone and recovery codes; verified identity')
  await page.getByLabel('Ticket reference').fill('SUP-7')
  await page.getByLabel('Video call: the face matched a government photo ID').check()
  await page.getByLabel('Called back on the phone number already on file').check()
  await page.getByLabel(`Yes, remove every factor of ${member.email}`).check()
  await page.getByRole('button', { name: 'Reset two-factor authentication' }).click()
  await stepUp(page, user.id, secret, 'step-up-support-reset')
  await finish(page, 'Reset two-factor authentication', 'step-up-support-reset')
  await page.getByText('Two-factor authentication was reset').waitFor()
  expect(await securityCounts(member.id)).toEqual({ totp: 0, webauthn: 0, recoveryCodes: 0, trustedDevices: 0, sessions: 0 })
  expect(await auditOf(member.id)).toContainEqual(expect.objectContaining({ action: 'auth.mfa_reset_by_support', details: expect.objectContaining({ ticket: 'SUP-7' }) }))
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('support unlocking a member: stepped up, finished with one press', async () => {
  const member = await createUser({ name: 'Lou Locked' })
  await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000), lockCount: 1 }).where(eq(schema.users.id, member.id))
  const { user, secret, page, errors } = await signedInStale({ platformRole: 'support', name: 'Una Unlock' })
  await page.goto(`${base}/support/users/${member.id}`)
  await page.getByLabel('Reason for unlocking').fill('Verified by phone call')
  await page.getByRole('button', { name: 'Unlock account' }).click()
  await stepUp(page, user.id, secret, 'step-up-support-unlock')
  await finish(page, 'Unlock account', 'step-up-support-unlock')
  await page.getByText('The account is unlocked.').waitFor()
  expect(await db.select().from(schema.users).where(and(eq(schema.users.id, member.id), isNull(schema.users.lockedUntil)))).toHaveLength(1)
  expect(errors).toEqual([])
  await page.close()
}, SLOW)

it('a finished change is not offered again with a stale session: finishing still needs the fresh factor', async () => {
  const { user, secret, page } = await signedInStale({ name: 'Fay Fresh' })
  await page.goto(`${base}/settings/security/recovery-codes`)
  await page.getByRole('button', { name: 'Regenerate' }).click()
  await stepUp(page, user.id, secret, 'step-up-stale-finish')
  await page.getByRole('region', { name: 'Finish your change' }).waitFor()
  // The factor goes stale again before the press: the press leads to step-up, not to new codes.
  await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.userId, user.id))
  const before = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))
  await page.getByRole('region', { name: 'Finish your change' }).getByRole('button', { name: 'Regenerate' }).click()
  await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
  expect(await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, user.id))).toEqual(before)
  await page.close()
}, SLOW)
