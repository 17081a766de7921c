/**
 * Passkey sign-in in Chromium with the DevTools virtual authenticator (decision 069): a passkey set
 * up on the keys page signs in from "Sign in with a passkey" and from the email field's autofill
 * (conditional UI) without an email typed; it is refused where the organization does not allow keys,
 * when its counter goes backwards, and in another region (same address, and a region on its own host).
 */
import { and, eq } from 'drizzle-orm'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { auditOf } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { addPasskey, launchBrowser, pageWithAuthenticator, screenshot, signInWithForm } from '#tests/setup/browser.ts'

const port = process.env.PORT!
const EU_ORIGIN = `http://eu.localhost:${port}`
// us and jp share this app's address (and rpID localhost); eu has a host of its own.
process.env.GATEHOUSE_REGIONS = `us,jp,eu=${EU_ORIGIN}`

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

/** A page with a virtual authenticator whose browser says it has no passkey autofill, so only the button can start a ceremony. */
const pageWithoutAutofill = () => pageWithAuthenticator(browser, { passkeyAutofill: false })

async function onHome(page: Page, name: string) {
  await page.getByRole('heading', { name: `Welcome, ${name}` }).waitFor()
}

async function signOut(page: Page) {
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()
}

/** A member of `region` signed in with the password, who adds a passkey from the keys page and signs out. */
async function memberWithPasskey(page: Page, name: string, options: { region?: string; origin?: string; org?: { id: string } } = {}) {
  const origin = options.origin ?? base
  const user = await createUser({ name, region: options.region ?? 'us', org: options.org })
  await signInWithForm(page, origin, user.email, options.region ?? 'us')
  await onHome(page, name)
  await addPasskey(page, origin, 'This laptop')
  await page.getByRole('link', { name: "I've saved my codes" }).click()
  await page.goto(`${origin}/settings/security/keys`)
  await signOut(page)
  return user
}

const sessionsOf = (userId: string) => db.select().from(schema.sessions).where(eq(schema.sessions.userId, userId))

describe('passkey sign-in on /login', () => {
  it('a passkey made on the keys page is listed as one and signs in from the button, no email typed', async () => {
    const { page } = await pageWithoutAutofill()
    const user = await memberWithPasskey(page, 'Pia Passkey')
    const [key] = await db.select().from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(key.kind).toBe('passkey')

    expect(await page.getByLabel('Email').getAttribute('autocomplete')).toBe('username webauthn')
    await screenshot(page, 'passkey-login')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await onHome(page, 'Pia Passkey')
    const audit = await auditOf(user.id)
    expect(audit).toContainEqual(expect.objectContaining({ action: 'auth.login_success_passkey', details: expect.objectContaining({ method: 'webauthn', level: 'mfa', passkey: true }) }))
    const [session] = await sessionsOf(user.id).then((rows) => rows.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime()))
    expect(session).toMatchObject({ level: 'mfa', secondFactorMethod: 'webauthn' })
    expect(session.secondFactorAt).toBeTruthy()

    // The keys page says which kind each key is.
    await page.goto(`${base}/settings/security/keys`)
    await page.getByRole('cell', { name: 'Passkey (signs in without a password)' }).waitFor()
    await page.close()
  }, 150_000)

  it('the email field offers the passkey through autofill (conditional UI) and signs in', async () => {
    // Headless Chromium has no autofill list (it reports conditional mediation unavailable): this stands
    // in for a browser that has one and for the person picking the passkey in it. The page's own
    // conditional request is recorded, then answered by the virtual authenticator.
    const { page } = await pageWithAuthenticator(browser, {
      initScript: () => {
        Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => true })
        const w = window as unknown as { conditional: { rpId?: string; allow: number; field: boolean }[]; pickPasskey?: () => void }
        w.conditional = []
        const original = navigator.credentials.get.bind(navigator.credentials)
        navigator.credentials.get = (options?: CredentialRequestOptions) => {
          if (options?.mediation !== 'conditional') return original(options)
          w.conditional.push({ rpId: options.publicKey?.rpId, allow: options.publicKey?.allowCredentials?.length ?? 0, field: Boolean(document.querySelector("input[autocomplete='username webauthn']")) })
          return new Promise((resolve, reject) => {
            w.pickPasskey = () => {
              const { mediation: _, ...picked } = options
              original(picked).then(resolve, reject)
            }
          })
        }
      },
    })
    const user = await memberWithPasskey(page, 'Cora Conditional')
    await page.goto(`${base}/login`)
    await page.waitForFunction(() => (window as unknown as { conditional: unknown[] }).conditional.length > 0)
    expect(await page.evaluate(() => (window as unknown as { conditional: unknown[] }).conditional[0])).toEqual({ rpId: 'localhost', allow: 0, field: true })
    await page.getByLabel('Email').focus()
    await page.evaluate(() => (window as unknown as { pickPasskey: () => void }).pickPasskey())
    await onHome(page, 'Cora Conditional')
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.login_success_passkey')
    await page.close()
  }, 150_000)

  it('a key added as a second step does not sign in without the password', async () => {
    const { page } = await pageWithoutAutofill()
    const user = await createUser({ name: 'Sam Second' })
    await signInWithForm(page, base, user.email)
    await onHome(page, 'Sam Second')
    await page.goto(`${base}/settings/security/keys`)
    await page.getByLabel('Key name').fill('YubiKey')
    await page.getByRole('button', { name: 'Add security key' }).click()
    await page.getByText('Security key “YubiKey” added.').waitFor()
    await page.getByRole('link', { name: "I've saved my codes" }).click()
    await page.goto(`${base}/settings/security/keys`)
    await page.getByRole('cell', { name: 'Security key (second step)' }).waitFor()
    await signOut(page)
    const before = (await sessionsOf(user.id)).length
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('added as a second step, not as a passkey')
    expect(await sessionsOf(user.id)).toHaveLength(before)
    await page.close()
  }, 150_000)
})

describe('refusals', () => {
  it('refused with a clear message where the organization does not allow keys', async () => {
    const { page } = await pageWithoutAutofill()
    const org = await createOrg({ name: 'Totp Only' })
    const user = await memberWithPasskey(page, 'Nia Notallowed', { org })
    await db
      .update(schema.regionPolicies)
      .set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date() })
      .where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    const before = (await sessionsOf(user.id)).length
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('does not allow security keys or passkeys')
    await screenshot(page, 'passkey-not-allowed')
    expect(await sessionsOf(user.id)).toHaveLength(before)
    expect(await auditOf(user.id)).toContainEqual(expect.objectContaining({ action: 'auth.login_failed', details: expect.objectContaining({ reason: 'passkey_keys_not_allowed' }) }))
    expect((await auditOf(user.id)).filter((e) => e.action === 'auth.login_success_passkey')).toHaveLength(0)
    await page.close()
  }, 150_000)

  it('refuses a passkey whose signature counter went backwards, and records it', async () => {
    const { page } = await pageWithoutAutofill()
    const user = await memberWithPasskey(page, 'Cole Clone')
    await db.update(schema.webauthnCredentials).set({ counter: 1_000_000 }).where(eq(schema.webauthnCredentials.userId, user.id))
    const before = (await sessionsOf(user.id)).length
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('signature counter lower than before')
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.webauthn_counter_regressed')
    expect(await sessionsOf(user.id)).toHaveLength(before)
    await page.close()
  }, 150_000)

  it('a passkey of one region does not sign in another, on the same address or on its own host', async () => {
    const { page, cdp, authenticatorId } = await pageWithoutAutofill()
    const user = await memberWithPasskey(page, 'Rex Region')
    const before = (await sessionsOf(user.id)).length

    // jp is served on the same address (same rpID): the authenticator offers the passkey, the server refuses it.
    await page.getByLabel('Region').selectOption('jp')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain('belongs to an account in another region')

    // On this address, eu's passkeys are not offered: the button says where they work.
    await page.getByLabel('Region').selectOption('eu')
    await page.getByRole('button', { name: 'Sign in with a passkey' }).click()
    await page.getByText(`sign in at ${EU_ORIGIN}/login`).waitFor()

    // eu's relying party is its own host: the passkey (made for localhost) is not one the authenticator offers there.
    const { credentials } = await cdp.send('WebAuthn.getCredentials', { authenticatorId })
    expect(credentials.map((c) => c.rpId)).toEqual(['localhost'])
    const asked = await fetch(`${base}/api/auth/passkey/options`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ region: 'eu' }) })
    const { data: euOptions } = (await asked.json()) as { data: { challengeId: string; options: { rpId: string } } }
    expect(euOptions.options.rpId).toBe('eu.localhost')
    // An answer the passkey signs anyway (for its own rpID) is refused for eu's challenge by the server.
    const signed = await page.evaluate(async (options) => {
      const PKC = PublicKeyCredential as unknown as { parseRequestOptionsFromJSON: (o: unknown) => CredentialRequestOptions['publicKey'] }
      const credential = (await navigator.credentials.get({ publicKey: PKC.parseRequestOptionsFromJSON(options) })) as PublicKeyCredential & { toJSON: () => unknown }
      return credential.toJSON()
    }, { ...euOptions.options, rpId: 'localhost' })
    const refused = await fetch(`${base}/api/auth/passkey/verify`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ challengeId: euOptions.challengeId, response: signed }) })
    expect(refused.status).toBe(401)
    expect(await refused.text()).toContain('another region')

    // eu's own address chooses eu first, so its own passkeys are the ones offered there.
    await page.goto(`${EU_ORIGIN}/login`)
    expect(await page.getByLabel('Region').inputValue()).toBe('eu')
    expect(await sessionsOf(user.id)).toHaveLength(before)
    await page.close()
  }, 150_000)
})
