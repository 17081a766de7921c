/**
 * A crafted sign-in link cannot send a member to another site (decision 060): following
 * `/login?redirectTo=/%09/evil.example` and signing in, with the password alone or with a second
 * factor on the next page, ends on a Gatehouse page. The browser's requests to evil.example are
 * caught (and aborted), so a leak fails the test by assertion rather than by a DNS error.
 */
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

/** A fresh page that records (and stops) every request to a host other than Gatehouse's. */
async function watchedPage() {
  const page = await browser.newPage()
  const elsewhere: string[] = []
  await page.route((url) => url.origin !== new URL(base).origin, (route) => {
    elsewhere.push(route.request().url())
    return route.abort()
  })
  return { page, elsewhere }
}

async function signInFrom(page: Page, link: string, email: string) {
  await page.goto(`${base}${link}`)
  await page.getByLabel('Region').selectOption('us')
  await page.getByLabel('Email').fill(email)
  await page.getByLabel('Password').fill('correct horse battery staple')
  await page.getByRole('button', { name: 'Sign in', exact: true }).click()
}

const CRAFTED = ['/login?redirectTo=/%09/evil.example', '/login?redirectTo=/%0a/evil.example', '/login?redirectTo=/%5c%5cevil.example']

it.each(CRAFTED)('password only: %s ends on the Gatehouse home page', async (link) => {
  const { page, elsewhere } = await watchedPage()
  await signInFrom(page, link, 'admin@acme.test')
  await page.waitForURL((url) => url.pathname !== '/login', { timeout: 10_000 }).catch(() => {})
  expect(elsewhere).toEqual([])
  expect(new URL(page.url()).origin).toBe(new URL(base).origin)
  await page.getByRole('heading', { name: 'Welcome, Adam Admin' }).waitFor()
  await page.close()
})

it('with a second factor: the target survives the verify page and still ends on Gatehouse', async () => {
  const member = await findDemoUser('member@acme.test')
  const { secret } = await enableTotp(member.id)
  const { page, elsewhere } = await watchedPage()
  await signInFrom(page, '/login?redirectTo=/%09/evil.example', 'member@acme.test')
  await page.getByLabel('Authentication code').fill(await totpCode(secret))
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.waitForURL((url) => !url.pathname.startsWith('/login'), { timeout: 10_000 }).catch(() => {})
  expect(elsewhere).toEqual([])
  expect(new URL(page.url()).origin).toBe(new URL(base).origin)
  await page.getByRole('heading', { name: 'Welcome, Mia Member' }).waitFor()
  await page.close()
})

it('a path on Gatehouse is kept: the link lands there after sign-in', async () => {
  const { page, elsewhere } = await watchedPage()
  await signInFrom(page, `/login?redirectTo=${encodeURIComponent('/orgs/acme/policy?review=us')}`, 'owner@acme.test')
  await page.waitForURL((url) => url.pathname === '/orgs/acme/policy', { timeout: 10_000 })
  expect(new URL(page.url()).search).toBe('?review=us')
  expect(elsewhere).toEqual([])
  await page.close()
})
