/**
 * Chromium moves an authenticator app to a "new phone": Replace, step-up with the current app,
 * scan (read) the new secret, a wrong code is refused on the page, the new app's code replaces the
 * old one, and the next sign-in takes only the new app's codes.
 */
import { and, eq } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithApp } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

describe('replacing the authenticator app', () => {
  it('asks for step-up, shows the new secret, refuses a wrong code, and swaps on a code from the new app', async () => {
    const org = await createOrg({ name: 'Hooli XYZ' })
    await db
      .update(schema.regionPolicies)
      .set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(Date.now() - 86_400_000) })
      .where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    const user = await createUser({ org, name: 'Rita Replace' })
    const { secret: oldSecret } = await enableTotp(user.id)
    const page = await browser.newPage()
    await signInWithApp(page, base, user.email, await totpCode(oldSecret))
    await page.getByRole('heading', { name: 'Welcome, Rita Replace' }).waitFor()
    // The second factor is no longer fresh: replacing asks for step-up.
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 30 * 60_000) }).where(eq(schema.sessions.userId, user.id))
    await forgetTotpStep(user.id)

    await page.goto(`${base}/settings/security/totp`)
    await page.getByRole('button', { name: 'Replace authenticator app' }).click()
    await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
    await page.getByLabel('Authentication code').fill(await totpCode(oldSecret))
    await page.getByRole('button', { name: 'Verify' }).click()

    await page.getByRole('heading', { name: 'Replace your authenticator app' }).waitFor()
    expect(await page.getByRole('img', { name: /QR code for/ }).count()).toBe(1)
    await page.getByText("Can't scan?").click()
    const newSecret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '')
    expect(newSecret).not.toBe(oldSecret)
    await screenshot(page, 'totp-replace')

    await page.getByLabel('Code from the new app').fill(await totpCode(oldSecret, 1))
    await page.getByRole('button', { name: 'Verify & replace' }).click()
    await page.getByText('That code is not right. Enter the newest code from the NEW app').waitFor()

    await page.getByLabel('Code from the new app').fill(await totpCode(newSecret))
    await page.getByRole('button', { name: 'Verify & replace' }).click()
    await page.getByText('Your authenticator app was replaced.').waitFor()

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByText('You have signed out.').waitFor()
    await signInWithApp(page, base, user.email, await totpCode(oldSecret, 1))
    await page.getByText('That code is not right').waitFor()
    await page.getByLabel('Authentication code').fill(await totpCode(newSecret, 1))
    await page.getByRole('button', { name: 'Verify' }).click()
    await page.getByRole('heading', { name: 'Welcome, Rita Replace' }).waitFor()
    await page.close()
  })
})
