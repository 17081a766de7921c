/**
 * A member whose only second factor is a security key (recovery codes used up) finishes a
 * password reset with the key in Chromium (DevTools virtual authenticator): the mailbox alone
 * does not open the account, the key does.
 */
import { eq } from 'drizzle-orm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { addSecurityKey, launchBrowser, screenshot, signInWithForm, virtualAuthenticator } from '#tests/setup/browser.ts'
import { TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let browser: Browser
let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

const NEW_PASSWORD = 'a new passphrase for the key holder'

it('a member with only a security key finishes a password reset with the key', async () => {
  const user = await createUser({ name: 'Kai Keyonly' })
  const page = await browser.newPage()
  await virtualAuthenticator(page)
  await signInWithForm(page, base, user.email)
  await page.getByRole('heading', { name: 'Welcome, Kai Keyonly' }).waitFor()
  await addSecurityKey(page, base, 'Only key')
  // All ten recovery codes used up: the key is the only second factor left.
  await db.update(schema.recoveryCodes).set({ usedAt: new Date() }).where(eq(schema.recoveryCodes.userId, user.id))
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()

  const since = Date.now()
  await page.goto(`${base}/forgot-password`)
  await page.getByLabel('Email').fill(user.email)
  await page.getByRole('button', { name: 'Send reset link' }).click()
  await page.getByText('If an account with that email exists in this region').waitFor()
  const mail = await smtp.waitFor(user.email, { subject: /Reset your Gatehouse password/, since })
  const path = mail.text.match(/\/reset-password\/\S+/)![0]

  // The mailbox alone is not enough, over plain HTTP either.
  const bare = await new TestClient(base).post(path, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
  expect(bare.status).toBe(400)
  expect(await bare.text()).toContain('Confirm with your security key.')

  await page.goto(`${base}${path}`)
  await page.getByText('Confirm with your security key.').waitFor()
  expect(await page.getByRole('button', { name: 'Change password', exact: true }).count()).toBe(0)
  expect(await page.getByLabel('Code', { exact: true }).count()).toBe(0)
  const useKey = page.getByRole('button', { name: 'Use security key and change password' })
  await useKey.click()
  await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Choose the new password first')
  await page.getByLabel('New password', { exact: true }).fill(NEW_PASSWORD)
  await page.getByLabel('Repeat the new password').fill(NEW_PASSWORD)
  await screenshot(page, 'password-reset-with-key')
  await useKey.click()
  await page.getByText('Your password has been changed. Sign in with the new one.').waitFor()
  expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.password_reset')

  // The new password and the same key sign in; the old password does not.
  await signInWithForm(page, base, user.email, 'us', NEW_PASSWORD)
  await page.getByRole('button', { name: 'Use security key' }).click()
  await page.getByRole('heading', { name: 'Welcome, Kai Keyonly' }).waitFor()
  await page.close()
})
