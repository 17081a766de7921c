/** Real Chromium (Debian's /usr/bin/chromium) driven by playwright-core. */
import { mkdirSync } from 'node:fs'
import { chromium, type Browser, type BrowserContext, type CDPSession, type Page } from 'playwright-core'

export const ARTIFACTS = 'tests/artifacts'

export async function launchBrowser(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'],
  })
}

export async function screenshot(page: Page, name: string) {
  mkdirSync(ARTIFACTS, { recursive: true })
  const path = `${ARTIFACTS}/${name}.png`
  await page.screenshot({ path, fullPage: true })
  return path
}

/** Resolves once Remix's client has taken the page over (a script error stops it before that). */
export function hydrated(page: Page, timeout?: number) {
  return page.waitForFunction(() => Boolean((window as unknown as { __remixRouter?: unknown }).__remixRouter), undefined, { timeout })
}

/** Collects the page's errors and its console errors and warnings, as they come. */
export function watchProblems(page: Page): string[] {
  const problems: string[] = []
  page.on('pageerror', (e) => problems.push(e.message))
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
  })
  return problems
}

/** Signs in through the real form. */
export async function signInWithForm(page: Page, base: string, email: string, region = 'us', password = 'correct horse battery staple') {
  await page.goto(`${base}/login`)
  await page.getByLabel('Region').selectOption(region)
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill(password)
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

/** Signs in through the real form, then answers the second step with an app code. */
export async function signInWithApp(page: Page, base: string, email: string, code: string) {
  await signInWithForm(page, base, email)
  await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
  await page.getByLabel('Authentication code').fill(code)
  await page.getByRole('button', { name: 'Verify' }).click()
}

/** A DevTools virtual authenticator (CTAP2 over USB, resident keys, touch simulated) on this page. */
export async function virtualAuthenticator(page: Page, options: { isUserVerified?: boolean } = {}) {
  const cdp: CDPSession = await page.context().newCDPSession(page)
  await cdp.send('WebAuthn.enable')
  const { authenticatorId } = await cdp.send('WebAuthn.addVirtualAuthenticator', {
    options: { protocol: 'ctap2', transport: 'usb', hasResidentKey: true, hasUserVerification: true, isUserVerified: options.isUserVerified ?? true, automaticPresenceSimulation: true },
  })
  return { cdp, authenticatorId }
}

/**
 * A new browser context and page with a virtual authenticator, the one setup every WebAuthn browser
 * test starts from. `passkeyAutofill: false` makes the browser say it has no passkey autofill
 * (conditional mediation unavailable), so only the "Sign in with a passkey" button starts a
 * ceremony; `initScript` runs in every page before the app's own scripts.
 */
export async function pageWithAuthenticator(
  browser: Browser,
  options: { passkeyAutofill?: boolean; isUserVerified?: boolean; initScript?: () => void; javaScriptEnabled?: boolean } = {},
) {
  const context = await browser.newContext(options.javaScriptEnabled === false ? { javaScriptEnabled: false } : {})
  if (options.passkeyAutofill === false) {
    await context.addInitScript(() => {
      Object.defineProperty(PublicKeyCredential, 'isConditionalMediationAvailable', { value: async () => false })
    })
  }
  if (options.initScript) await context.addInitScript(options.initScript)
  const page = await context.newPage()
  const { cdp, authenticatorId } = await virtualAuthenticator(page, { isUserVerified: options.isUserVerified })
  return { context, page, cdp, authenticatorId }
}

/** Registers the page's virtual authenticator as a passkey named `label` (resident, user verified; the member is signed in). */
export async function addPasskey(page: Page, base: string, label: string) {
  await page.goto(`${base}/settings/security/keys`)
  await page.getByLabel('Passkey on this device (sign in without a password)').check()
  await page.getByLabel('Key name').fill(label)
  await page.getByRole('button', { name: 'Add passkey' }).click()
  await page.getByText(`Passkey “${label}” added.`).waitFor()
}

/** Registers the page's virtual authenticator as a security key named `label` (the member is signed in). */
export async function addSecurityKey(page: Page, base: string, label: string) {
  await page.goto(`${base}/settings/security/keys`)
  await page.getByLabel('Key name').fill(label)
  await page.getByRole('button', { name: 'Add security key' }).click()
  await page.getByText(`Security key “${label}” added.`).waitFor()
}

/**
 * Collects every Content-Security-Policy violation in this browser context: the page's own
 * `securitypolicyviolation` events (through an init script, which the policy does not govern) and
 * any console message about the policy. Call before the first page opens.
 */
export async function recordCspViolations(context: BrowserContext): Promise<string[]> {
  const violations: string[] = []
  await context.exposeBinding('__gatehouseCspViolation', (_source, text: string) => void violations.push(text))
  await context.addInitScript(() => {
    document.addEventListener('securitypolicyviolation', (e) => {
      const report = (window as unknown as { __gatehouseCspViolation: (text: string) => void }).__gatehouseCspViolation
      report(`${location.pathname}: ${e.effectiveDirective} blocked ${e.blockedURI || 'an inline script or style'} (${e.sourceFile}:${e.lineNumber})`)
    })
  })
  context.on('console', (m) => {
    if (/Content.Security.Policy/i.test(m.text())) violations.push(`console: ${m.text()}`)
  })
  return violations
}
