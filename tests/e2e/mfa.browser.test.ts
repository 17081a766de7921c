/**
 * Chromium enrols and signs in with each method: an app (code computed from the secret shown on
 * the page), a security key (DevTools virtual authenticator), an email code (read from the SMTP
 * listener) and a recovery code; and a response without user verification is refused where the
 * server asked for it.
 */
import { and, desc, eq } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webauthnAuthenticationOptions } from '#app/mfa/webauthn.server.ts'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { auditOf, enableTotp, totpCode, userById } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm, virtualAuthenticator } from '#tests/setup/browser.ts'
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

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()
}

async function onHome(page: Page, name: string) {
  await page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor()
}

describe('authenticator app', () => {
  it('enrols from the secret on the page, shows recovery codes once, and signs in with the next code', async () => {
    const user = await createUser({ name: 'Tess Totp' })
    const page = await browser.newPage()
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Tess Totp')
    await page.goto(`${base}/settings/security/totp`)
    await page.getByText("Can't scan?").click()
    const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '')
    await page.getByLabel('Code from the app').fill(await totpCode(secret))
    await page.getByRole('button', { name: 'Verify & enable' }).click()
    const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('code')
    await codes.first().waitFor()
    expect(await codes.count()).toBe(10)
    await expect.poll(() => page.getByRole('link', { name: 'Download .txt' }).getAttribute('download')).toBe('gatehouse-recovery-codes.txt')
    await screenshot(page, 'mfa-recovery-codes')
    await page.getByRole('link', { name: "I've saved my codes" }).click()
    await page.getByText('Two-factor authentication:').waitFor()

    await signOut(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    await screenshot(page, 'mfa-verify-totp')
    expect(await page.getByLabel('Authentication code').getAttribute('autocomplete')).toBe('one-time-code')
    expect(await page.getByLabel('Authentication code').getAttribute('inputmode')).toBe('numeric')
    // Enabling used this step's code; the app's next code (one step ahead is accepted) signs in.
    await page.getByLabel('Authentication code').fill(await totpCode(secret, 1))
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Tess Totp')
    await page.close()
  })
})

describe('security key', () => {
  it('registers through the virtual authenticator, signs in with it, refuses the same key twice and a cloned counter', async () => {
    const user = await createUser({ name: 'Kim Key' })
    const page = await browser.newPage()
    await virtualAuthenticator(page)
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Kim Key')
    await page.goto(`${base}/settings/security/keys`)
    await page.getByRole('button', { name: 'Add security key' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('Name the key')
    await page.getByLabel('Key name').fill('YubiKey 5')
    await page.getByRole('button', { name: 'Add security key' }).click()
    await page.getByText('Security key “YubiKey 5” added.').waitFor()
    expect(await page.getByRole('list', { name: 'Recovery codes' }).locator('code').count()).toBe(10)
    const [key] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(key.label).toBe('YubiKey 5')
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.webauthn_added')

    await signOut(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('button', { name: 'Use security key' }).click()
    await onHome(page, 'Kim Key')
    const [used] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(used.lastUsedAt).toBeTruthy()
    expect((await auditOf(user.id))).toContainEqual(expect.objectContaining({ action: 'auth.login_success_2fa', details: expect.objectContaining({ method: 'webauthn' }) }))

    // Fresh second factor from the sign-in: adding the same authenticator again is refused in plain words.
    await page.goto(`${base}/settings/security/keys`)
    await page.getByLabel('Key name').fill('Same key')
    await page.getByRole('button', { name: 'Add security key' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('This security key is already registered')
    expect(await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))).toHaveLength(1)

    // A counter that goes backwards (as from a cloned key) is refused and recorded.
    await db.update(schema.webauthnCredentials).set({ counter: 1_000_000 }).where(eq(schema.webauthnCredentials.userId, user.id))
    await signOut(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('button', { name: 'Use security key' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('signature counter lower than before')
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.webauthn_counter_regressed')
    await page.close()
  })

  it('refuses a response without user verification when the server asked for it, even if the browser was told otherwise', async () => {
    const user = await createUser({ name: 'Uma Verify' })
    const page = await browser.newPage()
    const { cdp, authenticatorId } = await virtualAuthenticator(page)
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Uma Verify')
    await page.goto(`${base}/settings/security/keys`)
    await page.getByLabel('Key name').fill('Laptop key')
    await page.getByRole('button', { name: 'Add security key' }).click()
    await page.getByText('Security key “Laptop key” added.').waitFor()
    await signOut(page)

    // The key stops verifying its user (no PIN or fingerprint).
    await cdp.send('WebAuthn.setUserVerified', { authenticatorId, isUserVerified: false })
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    const [pending] = await db
      .select()
      .from(schema.verifications)
      .where(and(eq(schema.verifications.userId, user.id), eq(schema.verifications.purpose, 'login')))
      .orderBy(desc(schema.verifications.createdAt))
      .limit(1)
    // The server asks for user verification; a client that downgrades the request to 'discouraged'...
    const asked = await webauthnAuthenticationOptions(await userById(user.id), pending.id, 'required')
    const result = await page.evaluate(async ({ options, challengeId }) => {
      const PKC = PublicKeyCredential as unknown as { parseRequestOptionsFromJSON: (o: unknown) => CredentialRequestOptions['publicKey'] }
      const publicKey = PKC.parseRequestOptionsFromJSON({ ...options, userVerification: 'discouraged' })
      const credential = (await navigator.credentials.get({ publicKey })) as PublicKeyCredential & { toJSON: () => unknown }
      const body = new URLSearchParams({ intent: 'webauthn', challengeId, response: JSON.stringify(credential.toJSON()) })
      const res = await fetch('/login/verify', { method: 'POST', body })
      return { status: res.status, text: await res.text() }
    }, { options: asked!.options, challengeId: asked!.challengeId })
    // ...is refused by the server, and nothing is signed in.
    expect(result.status).toBe(400)
    expect(result.text).toContain('This sign-in needs your key to verify you')
    expect((await page.context().cookies()).some((c) => c.name === 'gh_session')).toBe(false)
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id))).toHaveLength(0)
    await page.close()
  })
})

describe('step-up with a security key', () => {
  it('asks for the key before removing it, then returns to the page; removing the last key turns 2FA off', async () => {
    const user = await createUser({ name: 'Sol Stepup' })
    const page = await browser.newPage()
    await virtualAuthenticator(page)
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Sol Stepup')
    await page.goto(`${base}/settings/security/keys`)
    await page.getByLabel('Key name').fill('Desk key')
    await page.getByRole('button', { name: 'Add security key' }).click()
    await page.getByText('Security key “Desk key” added.').waitFor()
    await page.getByRole('link', { name: "I've saved my codes" }).click()
    await page.goto(`${base}/settings/security`)
    await page.getByText('Two-factor authentication:').waitFor()
    await screenshot(page, 'mfa-security-page')
    await page.goto(`${base}/settings/security/keys`)
    await page.getByRole('link', { name: 'Remove Desk key…' }).click()
    await page.getByRole('alertdialog', { name: 'Remove “Desk key”?' }).getByRole('button', { name: 'Remove key' }).click()
    await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
    expect(await page.getByRole('button', { name: 'Use email verification instead' }).count()).toBe(0)
    await screenshot(page, 'mfa-step-up')
    await page.getByRole('button', { name: 'Use security key' }).click()
    // Back with the removal ready to finish (decision 072): one press, nothing to choose again.
    await page.getByRole('heading', { name: 'Finish your change' }).waitFor()
    await page.getByRole('button', { name: 'Remove key' }).click()
    await page.getByText('Security key removed.').waitFor()
    expect((await userById(user.id)).mfaEnabledAt).toBeNull()
    await page.close()
  })
})

/** Runs an assertion in the page for server-made options and returns the JSON response. */
async function assertInPage(page: Page, options: unknown) {
  return page.evaluate(async (options) => {
    const PKC = PublicKeyCredential as unknown as { parseRequestOptionsFromJSON: (o: unknown) => CredentialRequestOptions['publicKey'] }
    const credential = (await navigator.credentials.get({ publicKey: PKC.parseRequestOptionsFromJSON(options) })) as PublicKeyCredential & { toJSON: () => unknown }
    return JSON.stringify(credential.toJSON())
  }, options)
}

async function postFromPage(page: Page, form: Record<string, string>) {
  return page.evaluate(async (form) => {
    const res = await fetch('/login/verify', { method: 'POST', body: new URLSearchParams(form), redirect: 'manual' })
    return { status: res.status, type: res.type, text: await res.text() }
  }, form)
}

async function latestPending(userId: string) {
  const [pending] = await db
    .select()
    .from(schema.verifications)
    .where(and(eq(schema.verifications.userId, userId), eq(schema.verifications.purpose, 'login')))
    .orderBy(desc(schema.verifications.createdAt))
    .limit(1)
  return pending
}

describe('replayed and foreign WebAuthn responses', () => {
  it('refuses a response replayed into a new sign-in and one made for another account', async () => {
    const a = await createUser({ name: 'Ada One' })
    const b = await createUser({ name: 'Bea Two' })
    const page = await browser.newPage()
    await virtualAuthenticator(page)
    for (const [user, label] of [[a, 'A key'], [b, 'B key']] as const) {
      await signInWithForm(page, base, user.email)
      await onHome(page, user.name)
      await page.goto(`${base}/settings/security/keys`)
      await page.getByLabel('Key name').fill(label)
      await page.getByRole('button', { name: 'Add security key' }).click()
      await page.getByText(`Security key “${label}” added.`).waitFor()
      await signOut(page)
    }

    // A signs in with a response made in the page: accepted once.
    await signInWithForm(page, base, a.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    const first = await webauthnAuthenticationOptions(await userById(a.id), (await latestPending(a.id)).id)
    const response = await assertInPage(page, first!.options)
    const ok = await postFromPage(page, { intent: 'webauthn', challengeId: first!.challengeId, response })
    expect(ok.type).toBe('opaqueredirect')
    await page.context().clearCookies()

    // The same response replayed into a new sign-in of A: its challenge is used up, and a new challenge does not match it.
    await signInWithForm(page, base, a.email)
    await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    const replayed = await postFromPage(page, { intent: 'webauthn', challengeId: first!.challengeId, response })
    expect(replayed.status).toBe(400)
    expect(replayed.text).toContain('expired')
    const fresh = await webauthnAuthenticationOptions(await userById(a.id), (await latestPending(a.id)).id)
    const mismatched = await postFromPage(page, { intent: 'webauthn', challengeId: fresh!.challengeId, response })
    expect(mismatched.status).toBe(400)
    expect(mismatched.text).toContain('could not be verified')

    // A response made for A's sign-in, posted to B's pending sign-in in another browser context: refused.
    const forA = await webauthnAuthenticationOptions(await userById(a.id), (await latestPending(a.id)).id)
    const responseForA = await assertInPage(page, forA!.options)
    const other = await browser.newPage()
    await signInWithForm(other, base, b.email)
    await other.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
    const foreign = await postFromPage(other, { intent: 'webauthn', challengeId: forA!.challengeId, response: responseForA })
    expect(foreign.status).toBe(400)
    expect((await other.context().cookies()).some((c) => c.name === 'gh_session')).toBe(false)
    const garbage = await postFromPage(other, { intent: 'webauthn', challengeId: forA!.challengeId, response: '{"not":"a response"' })
    expect(garbage.status).toBe(400)
    expect(garbage.text).toContain('could not be read')
    await other.close()
    await page.close()
  })
})

describe('email code and recovery code', () => {
  it('signs in with a code read from the SMTP listener, and with a recovery code', async () => {
    const user = await createUser({ name: 'Eve Email' })
    const { recoveryCodes } = await enableTotp(user.id)
    const page = await browser.newPage()
    await signInWithForm(page, base, user.email)
    // Landing on the email step sends the code, and says when a new one may be asked for (decision 071).
    const since = Date.now()
    await page.getByRole('button', { name: 'Use email verification instead' }).click()
    await page.getByText(/You can ask for a new code after \d\d:\d\d:\d\d UTC/).waitFor()
    const mail = await smtp.waitFor(user.email, { subject: /sign-in code/, since })
    const code = mail.text.match(/code is (\d{6})/)![1]
    await page.getByLabel('Email code').fill(code)
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Eve Email')

    await signOut(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('link', { name: 'Use a recovery code' }).click()
    await page.getByLabel('Recovery code').fill(recoveryCodes[0].toUpperCase())
    await page.getByRole('button', { name: 'Verify' }).click()
    await onHome(page, 'Eve Email')
    await page.goto(`${base}/settings/security`)
    await page.getByText('9 of 10 left').waitFor()
    await page.close()
  })
})
