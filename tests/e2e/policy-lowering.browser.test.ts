/**
 * "An admin lowers a region's policy: step-up, and the change goes on without being typed again",
 * in Chromium (decision 056). The admin signed in with an authenticator app a while ago (more than
 * 5 minutes: the session passed a second factor, but not recently), makes EU's grace period and
 * remember-device period longer, reviews it ("Lowers protection for N members" and the list), saves,
 * is sent to confirm it's them, gives a code, and lands back on the same review; Save finishes it.
 */
import { and, eq } from 'drizzle-orm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp, forgetTotpStep, totpCode } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
let acmeId: string
beforeAll(async () => {
  acmeId = (await seedDemo()).orgIds.get('acme')!
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('an admin lowers a region’s policy, is sent through step-up, and the change is saved without typing it again', async () => {
  const page = await browser.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  const admin = await findDemoUser('admin@acme.test')
  const { secret } = await enableTotp(admin.id)
  await signInWithForm(page, base, 'admin@acme.test')
  await page.getByLabel('Authentication code').fill(await totpCode(secret, 1))
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.getByRole('heading', { name: /Welcome/ }).waitFor()
  // The sign-in was a while ago (by data, never by a clock override): no longer a fresh second factor.
  await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 10 * 60_000) }).where(eq(schema.sessions.userId, admin.id))
  const euPolicy = async () => (await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu'))))[0]
  const before = await euPolicy()
  expect(before).toMatchObject({ gracePeriodDays: 7, rememberDeviceDays: 14 })

  await page.goto(`${base}/orgs/acme/policy`)
  const eu = page.getByRole('region', { name: 'Region EU' })
  await eu.getByLabel('Grace period (days, 0–90)').fill('30')
  await eu.getByLabel('Remember device (days, 0–30)').fill('30')
  await eu.getByRole('button', { name: 'Review changes' }).click()
  await eu.getByRole('button', { name: 'Save EU policy' }).waitFor()
  const lowered = eu.getByRole('list', { name: 'What the change to EU lowers' })
  expect(await lowered.getByRole('listitem').allTextContents()).toEqual(['Grace period 7 → 30 days', 'Remember device 14 → 30 days'])
  expect(await eu.textContent()).toContain('Lowers protection for 1 member — saving asks for a fresh second factor first')
  await screenshot(page, 'policy-lowering-review')

  // Save: refused for now (nothing written), through step-up.
  await expect.poll(() => eu.getByRole('button', { name: 'Save EU policy' }).isEnabled()).toBe(true)
  await eu.getByRole('button', { name: 'Save EU policy' }).click()
  await page.getByRole('heading', { name: 'Confirm it’s you' }).waitFor()
  expect(await euPolicy()).toEqual(before)
  await forgetTotpStep(admin.id) // the app's next code, 30 seconds on (by data)
  await page.getByLabel('Authentication code').fill(await totpCode(secret))
  await page.getByRole('button', { name: 'Verify' }).click()

  // Back on the same review, with the same values: nothing typed again.
  await eu.getByRole('heading', { name: 'Review the change to EU' }).waitFor()
  expect(page.url()).toContain('/orgs/acme/policy?resume=')
  const changes = eu.getByRole('table', { name: 'Changes to the EU policy' })
  expect(await changes.getByRole('row', { name: /^Grace period/ }).textContent()).toBe('Grace period7 days30 days')
  expect(await changes.getByRole('row', { name: /^Remember device/ }).textContent()).toBe('Remember device14 days30 days')
  expect(await eu.textContent()).not.toContain('saving asks for a fresh second factor first')
  await eu.getByRole('button', { name: 'Save EU policy' }).click()
  await page.getByText('Policy for EU saved.').waitFor()
  expect(await euPolicy()).toMatchObject({ mode: before.mode, allowedMethods: before.allowedMethods, gracePeriodDays: 30, rememberDeviceDays: 30 })
  const refused = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'security.change_refused'), eq(schema.auditEvents.actorId, admin.id)))
  expect(refused.map((e) => (e.details as { code: string }).code)).toEqual(['step_up_required'])
  expect(browserErrors).toEqual([])
})
