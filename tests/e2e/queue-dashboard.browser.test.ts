/**
 * The queue dashboard (bull-board) in Chromium (decision 067): support with a fresh second factor
 * sees the queues, the page's own scripts run under the script policy of its path, and the only
 * things the policy refuses there are the ones decision 067 names (a font host's stylesheet and the
 * inline loading style).
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { giveFactors } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, recordCspViolations, screenshot } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('support with a fresh second factor sees the mail, sweeps and policy queues', async () => {
  const support = await findDemoUser('support@gatehouse.test')
  await giveFactors(support.id)
  const { token } = await createSession({ userId: support.id, level: 'mfa', secondFactorMethod: 'totp', meta: { ip: '127.0.0.1', userAgent: 'chromium' } })
  const context = await browser.newContext()
  const violations = await recordCspViolations(context)
  await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  const page = await context.newPage()
  const errors: string[] = []
  page.on('pageerror', (e) => errors.push(e.message))
  await page.goto(`${base}/support/queues`)
  // The page's scripts ran: the queue list is drawn from the dashboard's API.
  for (const name of ['mail', 'sweeps', 'policy']) await page.getByText(name, { exact: true }).first().waitFor({ timeout: 15_000 })
  await page.getByText('Gatehouse queues').waitFor()
  await screenshot(page, 'queue-dashboard')
  expect(errors).toEqual([])
  // Refused, as decision 067 says, and harmless: the font host's stylesheet and inline styles.
  expect(violations.filter((v) => !/style-src/.test(v))).toEqual([])
  await context.close()
}, 60_000)
