/**
 * Single sign-on in Chromium (decision 075): /login recognises the organization's domain, offers
 * "Continue with … SSO", the real provider's sign-in page, and back to Gatehouse signed in, with
 * the provider's MFA trusted (no Gatehouse second factor, the session records 'idp'). No CSP
 * violation on the way.
 */
import { desc, eq } from 'drizzle-orm'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, recordCspViolations, screenshot } from '#tests/setup/browser.ts'
import { configureSso, startTestProvider, trustIdp } from '#tests/setup/sso.ts'
import type { TestProvider } from '../../scripts/oidc-provider.ts'

let browser: Browser
let base: string
let idp: TestProvider
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
  idp = await startTestProvider([{ id: 'otto', email: 'otto@hooli.test', name: 'Otto Otp', amr: ['pwd', 'otp'] }])
  const org = await createOrg({ slug: 'hooli', name: 'Hooli', regions: ['eu'] })
  const owner = await createUser({ region: 'eu', org, role: 'owner' })
  await configureSso(org.id, owner.id, { issuer: idp.issuer, domains: ['hooli.test'], region: 'eu' })
  await trustIdp(org.id, owner.id, 'eu', { on: true })
  browser = await launchBrowser()
})
afterAll(async () => {
  await browser?.close()
  await idp?.close()
})

it('goes from /login to the provider and back, signed in with the provider’s MFA', async () => {
  const context = await browser.newContext()
  const violations = await recordCspViolations(context)
  const page = await context.newPage()
  await page.goto(`${base}/login`)
  await page.getByLabel('Region').selectOption('eu')
  await page.getByLabel('Email').fill('otto@hooli.test')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
  const cont = page.getByRole('link', { name: 'Continue with Hooli SSO' })
  await cont.waitFor()
  await cont.click()
  await page.getByRole('heading', { name: 'Identity provider' }).waitFor()
  expect(new URL(page.url()).origin).toBe(idp.issuer)
  await page.getByRole('button', { name: /Sign in as Otto Otp/ }).click()
  await page.getByRole('heading', { name: /Welcome, Otto Otp/ }).waitFor()
  expect(new URL(page.url()).origin).toBe(base)
  await screenshot(page, 'sso-signed-in')
  const [user] = await db.select().from(schema.users).where(eq(schema.users.email, 'otto@hooli.test'))
  const [session] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, user.id)).orderBy(desc(schema.sessions.createdAt))
  expect(session).toMatchObject({ level: 'mfa', secondFactorMethod: 'idp' })
  expect(violations).toEqual([])
  await context.close()
})
