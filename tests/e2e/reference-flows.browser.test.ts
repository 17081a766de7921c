/**
 * The reference pages' own flows in Chromium (decision 071): "Test this key" runs one assertion
 * ceremony with the DevTools virtual authenticator and says whether it worked; the email step sends
 * its code on landing and says when a new one may be asked for, without JavaScript too; a member
 * whose only factor is email gets backup codes and sees "Use a recovery code" at sign-in.
 */
import { eq } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { startKeyTest } from '#app/mfa/key-test.server.ts'
import { enableTotp, userById } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { addSecurityKey, launchBrowser, pageWithAuthenticator, signInWithForm } from '#tests/setup/browser.ts'
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

const onHome = (page: Page, name: string) => page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor()
const codeFrom = (text: string) => /code is (\d{6})/.exec(text)![1]

describe('Test this key', () => {
  it('runs one assertion with that key and says it worked; a key that does not answer, or a forged answer, says it failed', async () => {
    const user = await createUser({ name: 'Tia Tester' })
    const { page, cdp, authenticatorId } = await pageWithAuthenticator(browser)
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Tia Tester')
    await addSecurityKey(page, base, 'Desk key')
    const [before] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    const [sessionBefore] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))

    await page.getByRole('button', { name: 'Test this key: Desk key' }).click()
    await page.getByText('It worked: “Desk key” answered.').waitFor()
    const [after] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(after.lastUsedAt).not.toBeNull()
    expect(after.counter).toBeGreaterThan(before.counter)
    // A test is not a step-up: the session's second factor is as it was.
    const [sessionAfter] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))
    expect(sessionAfter.secondFactorAt).toEqual(sessionBefore.secondFactorAt)

    // A forged answer: refused with a clear message, nothing moves.
    // The challenge is made by the domain for this session and key, as the page's first request would.
    const started = await startKeyTest(await userById(user.id), sessionAfter, after.id)
    if (!started.ok) throw new Error(started.message)
    const forged = await page.evaluate(async ({ keyId, challengeId }) => {
      const body = new URLSearchParams({ intent: 'test_key', keyId, challengeId, response: JSON.stringify({ id: 'nope', rawId: 'nope', type: 'public-key', response: {} }) })
      const res = await fetch('/settings/security/keys', { method: 'POST', body })
      return { status: res.status, body: await res.text() }
    }, { keyId: after.id, challengeId: started.challengeId })
    expect(forged.status).toBe(400)
    expect(forged.body).toContain('The test failed')
    const [unchanged] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(unchanged.counter).toBe(after.counter)

    // The key is gone from the authenticator: the ceremony fails and the page says so in plain words.
    await cdp.send('WebAuthn.clearCredentials', { authenticatorId })
    await page.getByRole('button', { name: 'Test this key: Desk key' }).click()
    await page.getByText('The operation was cancelled — try again and touch your key').waitFor()
    await page.close()
  }, 120_000)
})

describe('the email step, without JavaScript', () => {
  it('"Use email verification instead" sends the code and shows when a new one may be asked for; the code signs in', async () => {
    const user = await createUser({ name: 'Nova Noscript' })
    await enableTotp(user.id)
    const context = await browser.newContext({ javaScriptEnabled: false })
    const page = await context.newPage()
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    const since = Date.now()
    await page.getByRole('button', { name: 'Use email verification instead' }).click()
    await page.getByText(`We sent a 6-digit code to ${user.email}`).waitFor()
    await page.getByText(/You can ask for a new code after \d\d:\d\d:\d\d UTC/).waitFor()
    // Asking again within the minute: refused, with the wait.
    await page.getByRole('button', { name: 'Send a new code' }).click()
    await page.getByText(/You can ask for a new one in \d+ seconds/).waitFor()
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    await page.getByLabel('Email code').fill(codeFrom(mail.text))
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Nova Noscript')
    await context.close()
  })
})

describe('backup codes when email is the only factor', () => {
  it('are generated after a fresh email code and offered as "Use a recovery code" at sign-in', async () => {
    const org = await createOrg()
    await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
    const user = await createUser({ org, name: 'Elle Emailonly' })
    const page = await browser.newPage()
    const since = Date.now()
    await signInWithForm(page, base, user.email)
    await page.getByText(`We sent a 6-digit code to ${user.email}`).waitFor()
    await page.getByLabel('Email code').fill(codeFrom((await smtp.waitFor(user.email, { subject: /sign-in code/, since })).text))
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Elle Emailonly')
    await page.goto(`${base}/settings/security`)
    await page.getByRole('link', { name: 'Get backup codes' }).click()
    await page.getByRole('button', { name: 'Generate backup codes' }).click()
    const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('code')
    await codes.first().waitFor()
    expect(await codes.count()).toBe(10)
    const first = (await codes.first().textContent())!.trim()
    await page.getByRole('link', { name: "I've saved my codes" }).click()

    await page.getByRole('button', { name: 'Sign out' }).click()
    await page.getByText('You have signed out.').waitFor()
    await signInWithForm(page, base, user.email)
    await page.getByRole('link', { name: 'Use a recovery code' }).click()
    await page.getByLabel('Recovery code').fill(first)
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Elle Emailonly')
    await page.close()
  })
})
