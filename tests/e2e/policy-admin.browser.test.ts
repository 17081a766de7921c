/**
 * Admin half of "admin sets Required with grace, member sees reminder, time moves past the
 * deadline, member forced to enrol": in Chromium the admin sets EU to Required (app or key) with
 * 10 days of grace, sees the impact, saves, and sees the compliance chart. The member half needs
 * the sign-in wiring (grace prompt, enroll-only) and is left to the merge.
 */
import { and, eq } from 'drizzle-orm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
let acmeId: string
beforeAll(async () => {
  acmeId = (await seedDemo()).orgIds.get('acme')!
  base = (await startTestApp()).url
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('admin sets Required with a grace period, sees the impact, saves', async () => {
  const page = await browser.newPage()
  await signInWithForm(page, base, 'admin@acme.test')
  await page.getByRole('heading', { name: /Welcome/ }).waitFor()
  await page.goto(`${base}/orgs/acme/policy`)
  const eu = page.getByRole('region', { name: 'Region EU' })
  await eu.getByLabel('Mode').selectOption('required')
  await eu.getByLabel('Email code').uncheck()
  await eu.getByLabel('Grace period (days, 0–90)').fill('10')
  await eu.getByRole('button', { name: 'Preview impact' }).click()
  const impact = page.getByRole('region', { name: 'Region EU' }).getByRole('status')
  await expect.poll(() => impact.textContent()).toMatch(/1 member in EU has no allowed factor; they will have until \d+ \w+ \d{4} to enrol; 0 are exempt/)
  await screenshot(page, 'policy-impact-preview')
  // The preview kept the admin's choices in the form.
  expect(await page.getByRole('region', { name: 'Region EU' }).getByLabel('Grace period (days, 0–90)').inputValue()).toBe('10')
  await page.getByRole('region', { name: 'Region EU' }).getByRole('button', { name: 'Save EU policy' }).click()
  await page.getByText('Policy for EU saved.').waitFor()
  const [p] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu')))
  expect(p).toMatchObject({ mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 10 })
  expect(p.requiredSince).not.toBeNull()

  await page.goto(`${base}/orgs/acme`)
  await page.getByRole('figure', { name: 'Compliance in EU' }).getByText('In grace: 1').waitFor()
  await screenshot(page, 'org-overview-compliance')
})
