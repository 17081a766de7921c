/** The API keys page in Chromium: issue a key, copy it with the button, use it, revoke it after confirming. */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { apiCall } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('an admin issues a key, copies it, and revokes it after confirming', async () => {
  const context = await browser.newContext()
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
  const page = await context.newPage()
  const pageErrors: string[] = []
  page.on('pageerror', (e) => pageErrors.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error') pageErrors.push(m.text())
  })
  // Owners and admins change nothing without a second factor (decision 056): the admin signs in with an app.
  const { secret } = await enableTotp((await findDemoUser('admin@acme.test')).id)
  await signInWithForm(page, base, 'admin@acme.test')
  await page.getByLabel('Authentication code').fill(await totpCode(secret, 1))
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.getByRole('heading', { name: 'Welcome, Adam Admin' }).waitFor()
  await page.goto(`${base}/orgs/acme/api-keys`)
  await page.getByRole('heading', { name: 'API keys' }).waitFor()

  await page.getByLabel('Service account').selectOption({ label: 'CI Bot (ci-bot@acme.test)' })
  await page.getByLabel('Name').fill('Browser key')
  await page.getByRole('checkbox', { name: /policy:read/ }).check()
  await page.getByRole('button', { name: 'Issue key' }).click()
  await page.getByText('Copy this key now').waitFor()
  const key = await page.getByLabel('New API key').inputValue()
  expect(key).toMatch(/^ghk_/)
  await page.getByRole('button', { name: 'Copy', exact: true }).click()
  await page.getByRole('button', { name: 'Copied' }).waitFor()
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(key)
  await screenshot(page, 'api-key-issued')
  expect((await apiCall(base, '/api/me', { token: key })).status).toBe(200)

  await page.getByRole('link', { name: 'Revoke…' }).first().click()
  await page.getByText('This cannot be undone').waitFor()
  await page.getByRole('button', { name: 'Revoke key' }).click()
  await page.getByText('The key is revoked').waitFor()
  expect((await apiCall(base, '/api/me', { token: key })).status).toBe(401)
  expect(pageErrors).toEqual([])
  await context.close()
})
