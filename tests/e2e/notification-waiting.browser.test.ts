/**
 * With the workers down, a notification run stays queued: the policy page says "waiting for the
 * workers" once it has been queued for more than 30 s (decision 073). The run's age is set in the data.
 */
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot } from '#tests/setup/browser.ts'

vi.setConfig({ testTimeout: 60_000 })

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('a run queued for more than 30 s says "waiting for the workers"; a fresh one says "queued"', async () => {
  const org = await createOrg()
  const owner = await createUser({ org, role: 'owner' })
  await db.insert(schema.notificationRuns).values({ organizationId: org.id, region: 'us', kind: 'policy_required', createdAt: new Date(Date.now() - 10 * 60_000) })
  const context = await browser.newContext()
  const { token } = await createSession({ userId: owner.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
  await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  const page = await context.newPage()
  await page.goto(`${base}/orgs/${org.slug}/policy`)
  await page.getByText('0 / 0 (waiting for the workers)').waitFor()
  await screenshot(page, 'notification-waiting-for-workers')

  await db.insert(schema.notificationRuns).values({ organizationId: org.id, region: 'us', kind: 'policy_disabled' })
  await page.goto(`${base}/orgs/${org.slug}/policy`)
  await page.getByText('0 / 0 (queued)').waitFor()
  expect(await page.getByText('(waiting for the workers)').count()).toBe(1)
  await context.close()
})
