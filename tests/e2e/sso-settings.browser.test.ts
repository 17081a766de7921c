/**
 * The single sign-on settings page in Chromium (decision 080): an owner signed in with an app code
 * fills the form; an issuer whose discovery cannot be read answers on the page (502) with the other
 * fields kept and nothing saved; the real provider's issuer saves, and the secret is shown only as
 * set. No CSP violation on the way.
 */
import { eq } from 'drizzle-orm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, recordCspViolations, screenshot, signInWithApp } from '#tests/setup/browser.ts'
import { CLIENT_ID, CLIENT_SECRET, startTestProvider } from '#tests/setup/sso.ts'
import type { TestProvider } from '../../scripts/oidc-provider.ts'

let browser: Browser
let base: string
let idp: TestProvider
let deadIssuer: string
let org: { id: string; slug: string }
let secret: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
  idp = await startTestProvider([])
  const closed = await startTestProvider([])
  deadIssuer = closed.issuer
  await closed.close()
  org = await createOrg({ slug: 'initrode', name: 'Initrode', regions: ['us', 'eu'] })
  const owner = await createUser({ email: 'owner@initrode-staff.test', org, role: 'owner' })
  ;({ secret } = await enableTotp(owner.id))
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await idp?.close()
})

it('an owner sets up single sign-on: a provider that cannot be read is said on the page, the real one saves, the secret stays hidden', async () => {
  const context = await browser.newContext()
  const violations = await recordCspViolations(context)
  const page = await context.newPage()
  await signInWithApp(page, base, 'owner@initrode-staff.test', await totpCode(secret))
  await page.waitForURL(`${base}/`)
  await page.goto(`${base}/orgs/initrode/sso`)
  await page.getByRole('heading', { name: 'Single sign-on' }).waitFor()
  await page.getByLabel('Issuer URL').fill(deadIssuer)
  await page.getByLabel('Client id').fill(CLIENT_ID)
  await page.getByLabel('Client secret').fill(CLIENT_SECRET)
  await page.getByLabel('Email domains').fill('initrode.test, initrode.example')
  await page.getByLabel('Region for new members').selectOption('eu')
  await page.getByLabel('SSO required for members with these domains').check()
  await page.getByRole('button', { name: 'Save single sign-on' }).click()
  const alert = page.getByRole('alert').filter({ hasText: 'discovery document' })
  await alert.waitFor()
  expect(await alert.textContent()).toContain('Nothing was saved.')
  await screenshot(page, 'sso-settings-unreachable')
  expect(await db.select().from(schema.ssoConfigs).where(eq(schema.ssoConfigs.organizationId, org.id))).toHaveLength(0)
  expect(await page.getByLabel('Email domains').inputValue()).toBe('initrode.test, initrode.example')

  await page.getByLabel('Issuer URL').fill(idp.issuer)
  await page.getByLabel('Client secret').fill(CLIENT_SECRET)
  await page.getByRole('button', { name: 'Save single sign-on' }).click()
  await page.getByText('Single sign-on settings saved.').waitFor()
  // A fresh form after the save: the secret typed does not stay in the field, shown only as set.
  expect(await page.getByLabel('Client secret').inputValue()).toBe('')
  expect(await page.getByLabel('Client secret').getAttribute('placeholder')).toContain('(set)')
  expect(await page.getByLabel('SSO required for members with these domains').isChecked()).toBe(true)
  expect(await page.content()).not.toContain(CLIENT_SECRET)
  await screenshot(page, 'sso-settings-saved')
  const [row] = await db.select().from(schema.ssoConfigs).where(eq(schema.ssoConfigs.organizationId, org.id))
  expect(row).toMatchObject({ issuer: idp.issuer, region: 'eu', ssoRequired: true })
  expect(violations).toEqual([])
  await context.close()
})
