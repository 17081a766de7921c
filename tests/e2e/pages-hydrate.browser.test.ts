/**
 * Every page of the console loads in Chromium without a script error and becomes interactive
 * (React hydrated): a page whose module breaks in the browser still "works" as plain form posts,
 * so only a real browser shows it. Sessions are made directly; sign-in has its own tests.
 * The Content-Security-Policy is on (decision 059): any violation on any page fails, and the
 * pages that need more than plain scripts (the TOTP QR code, the WebAuthn ceremony, the policy
 * review) are used, not only loaded.
 */
import type { Browser, BrowserContext } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { addSecurityKey, hydrated, launchBrowser, recordCspViolations, virtualAuthenticator } from '#tests/setup/browser.ts'

vi.setConfig({ testTimeout: 120_000 })

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

const PAGES: Record<string, string[]> = {
  'owner@acme.test': [
    '/', '/settings/security', '/settings/security/keys', '/settings/security/devices', '/settings/security/recovery-codes', '/settings/security/totp',
    '/settings/security/sessions',
    '/orgs/acme', '/orgs/acme/policy', '/orgs/acme/members', '/orgs/acme/exemptions', '/orgs/acme/audit', '/orgs/acme/api-keys',
  ],
  'support@gatehouse.test': ['/support', '/support?q=acme', '/support/approvals'],
}

async function sessionFor(userId: string) {
  // A fresh second factor, so that pages behind step-up render themselves, not the confirm page.
  return (await createSession({ userId, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })).token
}

async function newContext(cookie?: string): Promise<{ context: BrowserContext; violations: string[] }> {
  const context = await browser.newContext()
  if (cookie) await context.addCookies([{ name: 'gh_session', value: cookie, url: base }])
  return { context, violations: await recordCspViolations(context) }
}

async function visit(path: string, cookie?: string) {
  const { context, violations } = await newContext(cookie)
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${path}: console: ${m.text()}`)
  })
  const res = await page.goto(`${base}${path}`)
  if (!/script-src 'nonce-[^']+' 'strict-dynamic'/.test((await res?.allHeaders())?.['content-security-policy'] ?? '')) errors.push(`${path}: no nonce-based Content-Security-Policy`)
  // Remix marks the router once the client has taken over; a script error stops it before that.
  await hydrated(page, 15_000).catch(() => errors.push(`${path}: never hydrated`))
  await page.waitForLoadState('networkidle')
  const status = res?.status() ?? 0
  await context.close()
  return { status, errors: [...errors, ...violations] }
}

it('public pages hydrate without errors', async () => {
  for (const path of ['/login', '/forgot-password']) {
    const { status, errors } = await visit(path)
    expect(status, path).toBe(200)
    expect(errors).toEqual([])
  }
})

it('every signed-in page hydrates without errors', async () => {
  const owner = await findDemoUser('owner@acme.test')
  await enableTotp(owner.id)
  const support = await findDemoUser('support@gatehouse.test')
  await enableTotp(support.id)
  for (const [email, paths] of Object.entries(PAGES)) {
    const user = await findDemoUser(email)
    for (const path of paths) {
      const { status, errors } = await visit(path, await sessionFor(user.id))
      expect(status, path).toBe(200)
      expect(errors).toEqual([])
    }
  }
})

it('an inline script without the nonce is blocked, and the violation is seen', async () => {
  // The watcher above must be able to fail: markup injected into the page as an XSS would put it
  // there (the server's own answer, its headers unchanged) runs neither its script nor its handler.
  const { context, violations } = await newContext()
  const page = await context.newPage()
  await page.route(`${base}/login`, async (route) => {
    const response = await route.fetch()
    const injected = `<script>window.__injected = 'script'</script><img src="/favicon.svg" alt="" onload="window.__injected = 'handler'">`
    await route.fulfill({ response, body: (await response.text()).replace(/<main[^>]*>/, (main) => `${main}${injected}`) })
  })
  await page.goto(`${base}/login`)
  await hydrated(page)
  await expect.poll(() => violations.join('\n')).toMatch(/script-src-attr/)
  expect(violations.join('\n')).toMatch(/script-src-elem/)
  expect(await page.evaluate(() => (window as unknown as { __injected?: string }).__injected)).toBeUndefined()
  await context.close()
})

it('the QR code, adding a security key and reviewing a policy work under the policy', async () => {
  const member = await createUser({ name: 'Cora Csp' })
  const { context, violations } = await newContext(await sessionFor(member.id))
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))

  // The QR code is a data: URL image: it must render, not be blocked.
  await page.goto(`${base}/settings/security/totp`)
  const qr = page.getByRole('img', { name: /QR code for/ })
  await qr.waitFor()
  await expect.poll(() => qr.evaluate((img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThan(0)

  // The WebAuthn ceremony runs in the page's scripts (@simplewebauthn/browser).
  await virtualAuthenticator(page)
  await addSecurityKey(page, base, 'CSP key')

  // The policy page's review renders on the client after a fetch.
  await context.addCookies([{ name: 'gh_session', value: await sessionFor((await findDemoUser('owner@acme.test')).id), url: base }])
  await page.goto(`${base}/orgs/acme/policy`)
  const eu = page.getByRole('region', { name: 'Region EU' })
  await eu.getByLabel('Grace period (days, 0–90)').fill('12')
  await eu.getByRole('button', { name: 'Review changes' }).click()
  await eu.getByRole('button', { name: 'Save EU policy' }).waitFor()

  await context.close()
  expect([...errors, ...violations]).toEqual([])
})
