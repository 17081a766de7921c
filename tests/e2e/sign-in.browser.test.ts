import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { seedDemo } from '#db/seed.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('signs in through the form in Chromium, shows the home page, and signs out', async () => {
  const page = await browser.newPage()
  await signInWithForm(page, base, 'wrong@acme.test')
  await expect.poll(() => page.getByRole('alert').textContent()).toContain('Email or password is incorrect')

  await signInWithForm(page, base, 'admin@acme.test')
  await page.getByRole('heading', { name: 'Welcome, Adam Admin' }).waitFor()
  const path = await screenshot(page, 'signed-in-home')
  expect(path).toMatch(/signed-in-home\.png$/)

  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()
  await page.goto(`${base}/`)
  expect(new URL(page.url()).pathname).toBe('/login')
})
