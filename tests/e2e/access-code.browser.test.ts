/**
 * A temporary access code at sign-in, in Chromium (decision 070): a member who lost the phone
 * with their authenticator app signs in with the password, chooses "Use a temporary access
 * code", lands on adding a factor, adds a security key with the virtual authenticator, and is
 * signed in for real; the app they lost is still there until they remove it.
 */
import type { Browser } from 'playwright-core'
import { eq } from 'drizzle-orm'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { supportIssueAccessCode } from '#app/support/temporary-access.server.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, pageWithAuthenticator, screenshot, signInWithForm } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('the member signs in with the code and lands on adding a factor; a key added ends the enrollment-only session', async () => {
  const member = await createUser({ email: 'lost-phone.browser@example.test' })
  await enableTotp(member.id)
  const support = await findDemoUser('support@gatehouse.test')
  const outcome = await supportIssueAccessCode({
    actor: { id: support.id, email: support.email }, targetUserId: member.id, reason: 'Lost phone, identity checked by video call', ticket: 'SUP-5', checks: ['video_id', 'callback'],
  })
  if (outcome.status !== 'issued') throw new Error('expected a code')

  const { context, page } = await pageWithAuthenticator(browser)
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  page.on('console', (m) => m.type() === 'error' && !/Failed to load resource/.test(m.text()) && browserErrors.push(m.text()))

  await signInWithForm(page, base, 'lost-phone.browser@example.test')
  await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
  await page.getByRole('link', { name: 'Use a temporary access code' }).click()
  // A wrong code first: a clear message, still on the page.
  await page.getByRole('textbox', { name: 'Temporary access code' }).fill('ABCD-EFGH-JKMN-PQRS')
  await page.getByRole('button', { name: 'Sign in with the code' }).click()
  await expect.poll(() => page.getByRole('alert').allTextContents()).toContainEqual(expect.stringContaining('not valid'))
  await page.getByRole('textbox', { name: 'Temporary access code' }).fill(outcome.issued.code.toLowerCase())
  await page.getByRole('button', { name: 'Sign in with the code' }).click()
  await page.waitForURL(`${base}/enroll`)
  await page.getByText('You signed in with a temporary access code').waitFor()
  await screenshot(page, 'access-code-enroll')

  // Adding a key needs no further step-up: the code stands for it during this session.
  await page.getByRole('link', { name: 'Security key or passkey' }).click()
  await page.waitForURL(`${base}/settings/security/keys`)
  await page.getByLabel('Key name').fill('Spare key')
  await page.getByRole('button', { name: 'Add security key' }).click()
  await page.waitForURL(`${base}/`)
  const sessions = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, member.id))
  expect(sessions.some((s) => s.level === 'mfa')).toBe(true)
  const keys = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, member.id))
  expect(keys.map((k) => k.label)).toEqual(['Spare key'])
  // The lost app is still there: the member removes it themselves.
  expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, member.id))).toHaveLength(1)
  await page.goto(`${base}/settings/security`)
  await page.getByText('Spare key').first().waitFor()
  expect(browserErrors).toEqual([])
  await context.close()
})
