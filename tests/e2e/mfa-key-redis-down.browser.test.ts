/**
 * With Redis down, sign-in with a security key still works: Chromium registers a key through the
 * DevTools virtual authenticator while Redis is up, then this file cuts the app's own Redis clients
 * (the rate limiter and the queue producer share this process with the test; disconnect() closes
 * them for good, as in an outage) and the member signs in with the password and the key.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { redisClient } from '#app/infra/redis.server.ts'
import { auditOf } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { addSecurityKey, launchBrowser, signInWithForm, virtualAuthenticator } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

describe('with Redis down', () => {
  it('a security key still signs in', async () => {
    const user = await createUser({ name: 'Rhea Redisless' })
    const page = await browser.newPage()
    await virtualAuthenticator(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Welcome, Rhea Redisless' }).waitFor()
    await addSecurityKey(page, base, 'YubiKey 5')
    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByText('You have signed out.').waitFor()

    // The outage: the app's Redis clients are closed and do not reconnect.
    for (const use of ['queue', 'limiter']) redisClient(use).disconnect()
    await expect(redisClient('limiter').ping()).rejects.toThrow()
    await expect(redisClient('queue').ping()).rejects.toThrow()

    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    await page.getByRole('button', { name: 'Use security key' }).click()
    await page.getByRole('heading', { name: 'Welcome, Rhea Redisless' }).waitFor()
    expect(await auditOf(user.id)).toContainEqual(expect.objectContaining({ action: 'auth.login_success_2fa', details: expect.objectContaining({ method: 'webauthn' }) }))
    await page.close()
  })
})
