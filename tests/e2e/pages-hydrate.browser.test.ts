/**
 * Every page of the console loads in Chromium without a script error and becomes interactive
 * (React hydrated): a page whose module breaks in the browser still "works" as plain form posts,
 * so only a real browser shows it. Sessions are made directly; sign-in has its own tests.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser } from '#tests/setup/browser.ts'

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

async function visit(path: string, cookie?: string) {
  const context = await browser.newContext()
  if (cookie) await context.addCookies([{ name: 'gh_session', value: cookie, url: base }])
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(`${path}: ${e.message}`))
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`${path}: console: ${m.text()}`)
  })
  const res = await page.goto(`${base}${path}`)
  // Remix marks the router once the client has taken over; a script error stops it before that.
  await page.waitForFunction(() => Boolean((window as unknown as { __remixRouter?: unknown }).__remixRouter), undefined, { timeout: 15_000 }).catch(() => errors.push(`${path}: never hydrated`))
  await page.waitForLoadState('networkidle')
  const status = res?.status() ?? 0
  await context.close()
  return { status, errors }
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
      // A fresh second factor, so that pages behind step-up render themselves, not the confirm page.
      const { token } = await createSession({ userId: user.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
      const { status, errors } = await visit(path, token)
      expect(status, path).toBe(200)
      expect(errors).toEqual([])
    }
  }
})
