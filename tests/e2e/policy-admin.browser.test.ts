/**
 * "Admin sets Required with grace, member sees the reminder, time moves past the deadline, member
 * is forced to enrol", in Chromium: the admin sets EU to Required (app or key, email NOT allowed)
 * with 10 days of grace, reviews the impact and the old → new values (Save is bound to that review:
 * values edited afterwards, or a review that another admin's save overtook, are refused), saves,
 * and sees the compliance chart; the EU member then
 * sees the grace prompt (deadline, organization) and continues with "Remind me later"; the deadline
 * passes (by data: required_since and joined_at moved back); the member proves the mailbox with an
 * emailed code, is held on /enroll, enrols an authenticator app and reaches the app.
 */
import { and, eq } from 'drizzle-orm'
import { generate } from 'otplib'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { launchBrowser, screenshot, signInWithForm } from '#tests/setup/browser.ts'
import { TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let browser: Browser
let base: string
let smtp: TestSmtp
let acmeId: string
const DAY = 86_400_000
beforeAll(async () => {
  acmeId = (await seedDemo()).orgIds.get('acme')!
  ;({ url: base, smtp } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

it('admin sets Required with a grace period, reviews the impact and old → new values, saves only what was reviewed', async () => {
  const page = await browser.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))
  // Owners and admins change nothing without a second factor, and a longer grace period needs it
  // within the last 5 minutes (decision 056): the admin signs in with an authenticator app.
  const { secret } = await enableTotp((await findDemoUser('admin@acme.test')).id)
  await signInWithForm(page, base, 'admin@acme.test')
  await page.getByLabel('Authentication code').fill(await totpCode(secret, 1))
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.getByRole('heading', { name: /Welcome/ }).waitFor()
  await page.goto(`${base}/orgs/acme/policy`)
  const eu = page.getByRole('region', { name: 'Region EU' })
  const euPolicy = async () => (await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu'))))[0]
  // Only a reviewed change can be saved: the form itself has no Save button.
  expect(await eu.getByRole('button', { name: 'Save EU policy' }).count()).toBe(0)
  await eu.getByLabel('Mode').selectOption('required')
  await eu.getByLabel('Email code').uncheck()
  await eu.getByLabel('Grace period (days, 0–90)').fill('10')
  await eu.getByRole('button', { name: 'Review changes' }).click()
  const impact = eu.getByRole('status')
  await expect.poll(() => impact.textContent()).toMatch(/1 member in EU has no allowed factor; they will have until \d+ \w+ \d{4} to enrol; 0 are exempt/)
  const changes = eu.getByRole('table', { name: 'Changes to the EU policy' })
  expect(await changes.getByRole('row', { name: /^Mode/ }).textContent()).toBe('ModeOptionalRequired')
  expect(await changes.getByRole('row', { name: /^Grace period/ }).textContent()).toBe('Grace period7 days10 days')
  expect(await changes.getByRole('row', { name: /^Allowed methods/ }).textContent()).toBe('Allowed methodsEmail code, Authenticator app, Security keyAuthenticator app, Security key')
  await screenshot(page, 'policy-impact-preview')
  expect((await euPolicy()).mode).toBe('optional') // a review saves nothing

  // "Back to edit" keeps the admin's choices in the form.
  await eu.getByRole('button', { name: 'Back to edit' }).click()
  await eu.getByRole('button', { name: 'Review changes' }).waitFor()
  expect(await eu.getByLabel('Grace period (days, 0–90)').inputValue()).toBe('10')
  expect(await eu.getByLabel('Email code').isChecked()).toBe(false)
  await eu.getByRole('button', { name: 'Review changes' }).click()
  await eu.getByRole('button', { name: 'Save EU policy' }).waitFor()

  // Values edited after the review (here in the page's hidden fields) are refused; nothing is written.
  // (After the page settles: a re-render while Remix still revalidates would put the value back.)
  await expect.poll(() => eu.getByRole('button', { name: 'Save EU policy' }).isEnabled()).toBe(true)
  const hiddenGrace = eu.locator('input[type=hidden][name=gracePeriodDays]')
  await hiddenGrace.evaluate((el) => ((el as HTMLInputElement).value = '90'))
  expect(await hiddenGrace.inputValue()).toBe('90')
  await eu.getByRole('button', { name: 'Save EU policy' }).click()
  await eu.getByRole('alert').getByText('These are not the values you reviewed').waitFor()
  expect(await euPolicy()).toMatchObject({ mode: 'optional', gracePeriodDays: 7 })
  await eu.getByLabel('Grace period (days, 0–90)').fill('10')
  await eu.getByRole('button', { name: 'Review changes' }).click()
  await eu.getByRole('button', { name: 'Save EU policy' }).waitFor()

  // Someone else saves EU after this review: Save is refused, and a new review shows what changed.
  const owner = new TestClient(base)
  await signInAs(owner, (await findDemoUser('owner@acme.test')).id)
  const theirs = { region: 'eu', mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: '7', onDeadline: 'force_enrollment', rememberDeviceDays: '20' }
  const reviewed = await owner.post('/orgs/acme/policy', { ...theirs, intent: 'preview' })
  const reviewToken = /name="reviewToken" value="([^"]+)"/.exec(await reviewed.text())![1]
  expect((await owner.post('/orgs/acme/policy', { ...theirs, intent: 'save', reviewToken })).status).toBe(302)
  await eu.getByRole('button', { name: 'Save EU policy' }).click()
  await eu.getByRole('alert').getByText('The policy changed since you reviewed it').waitFor()
  expect(await euPolicy()).toMatchObject({ mode: 'optional', rememberDeviceDays: 20 })
  await eu.getByRole('button', { name: 'Review changes' }).click()
  // The admin's form still said 14 days: the review shows it would undo the other change.
  expect(await changes.getByRole('row', { name: /^Remember device/ }).textContent()).toBe('Remember device20 days14 days')
  await eu.getByRole('button', { name: 'Back to edit' }).click()
  await eu.getByLabel('Remember device (days, 0–30)').fill('20')
  await eu.getByRole('button', { name: 'Review changes' }).click()
  await eu.getByRole('button', { name: 'Save EU policy' }).waitFor()
  expect(await changes.getByRole('row', { name: /^Remember device/ }).count()).toBe(0)

  const admin = await findDemoUser('admin@acme.test')
  await eu.getByRole('button', { name: 'Save EU policy' }).click()
  await page.getByText('Policy for EU saved.').waitFor()
  const p = await euPolicy()
  expect(p).toMatchObject({ mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 10, rememberDeviceDays: 20 })
  expect(p.requiredSince).not.toBeNull()
  const [event] = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.policy_changed'), eq(schema.auditEvents.actorId, admin.id)))
  expect(event.details).toMatchObject({
    region: 'eu',
    old: { mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 7, rememberDeviceDays: 20 },
    new: { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 10, rememberDeviceDays: 20 },
  })

  await page.goto(`${base}/orgs/acme`)
  await page.getByRole('figure', { name: 'Compliance in EU' }).getByText('In grace: 1').waitFor()
  await screenshot(page, 'org-overview-compliance')
  expect(browserErrors).toEqual([])
})

it('the member sees the grace prompt, continues; after the deadline proves the mailbox, is held on /enroll, enrols an app', async () => {
  // Runs after the admin's test above: EU is Required, app or key only, 10 days of grace.
  const [policy] = await db.select().from(schema.regionPolicies).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu')))
  expect(policy.mode).toBe('required')
  const context = await browser.newContext()
  const page = await context.newPage()
  const browserErrors: string[] = []
  page.on('pageerror', (e) => browserErrors.push(e.message))

  await signInWithForm(page, base, 'eu.member@acme.test', 'eu')
  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor()
  const deadline = new Date(policy.requiredSince!.getTime() + 10 * DAY)
  const prompt = (await page.locator('main, body').first().textContent())!
  expect(prompt).toContain('Acme Corporation requires two-factor authentication')
  expect(prompt).toContain('You have until ')
  // The deadline is a <Time> (decision 073): the exact instant is in its datetime, the text is the reader's local date.
  expect(await page.locator('main strong time').first().getAttribute('datetime')).toBe(deadline.toISOString())
  expect(await page.getByRole('link', { name: 'Set up now' }).count()).toBe(1)
  await screenshot(page, 'policy-grace-prompt')
  await page.getByRole('button', { name: 'Remind me later' }).click()
  await page.getByRole('heading', { name: 'Welcome, Emil Europa' }).waitFor()
  await page.getByRole('button', { name: 'Sign out' }).click()
  await page.getByText('You have signed out.').waitFor()

  // Time moves past the deadline by data, never by a clock override.
  await db.update(schema.regionPolicies).set({ requiredSince: new Date(Date.now() - 30 * DAY) }).where(and(eq(schema.regionPolicies.organizationId, acmeId), eq(schema.regionPolicies.region, 'eu')))
  const [member] = await db.select().from(schema.users).where(and(eq(schema.users.email, 'eu.member@acme.test'), eq(schema.users.region, 'eu')))
  await db.update(schema.memberships).set({ joinedAt: new Date(Date.now() - 365 * DAY) }).where(eq(schema.memberships.userId, member.id))

  // The password step lands on the email step and sends the code (decision 071).
  const since = Date.now()
  await signInWithForm(page, base, 'eu.member@acme.test', 'eu')
  await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
  // Email is not an allowed factor here: the code only proves the mailbox before enrollment.
  await page.getByText('First confirm it is you with a code sent to your email; then you will set one up.').waitFor()
  expect(await page.getByRole('link', { name: 'Use authenticator app' }).count()).toBe(0)
  const mail = await smtp.waitFor('eu.member@acme.test', { subject: /sign-in code/, since })
  const code = /sign-in code is (\d{6})/.exec(mail.text)![1]
  await page.getByLabel('Email code').fill(code)
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.waitForURL(`${base}/enroll`)
  await page.getByRole('heading', { name: 'Set up two-factor authentication' }).waitFor()
  await page.getByText('Acme Corporation requires a second step at sign-in.').waitFor()
  await screenshot(page, 'policy-forced-enrollment')

  // Nothing else is reachable until an allowed factor is enrolled.
  for (const path of ['/', '/settings/security', '/settings/security/devices', '/orgs/acme']) {
    await page.goto(`${base}${path}`)
    expect(new URL(page.url()).pathname, path).toBe('/enroll')
  }

  await page.getByRole('link', { name: 'Authenticator app' }).click()
  await page.getByText("Can't scan?").click()
  const secret = (await page.getByTestId('totp-secret').textContent())!.replace(/\s/g, '')
  await page.getByLabel('Code from the app').fill(await generate({ secret }))
  await page.getByRole('button', { name: 'Verify & enable' }).click()
  await page.getByRole('list', { name: 'Recovery codes' }).locator('code').first().waitFor()
  await page.getByRole('link', { name: "I've saved my codes" }).click()
  await page.getByRole('heading', { name: 'Welcome, Emil Europa' }).waitFor()
  // A full session now: the rest of the app answers.
  await page.goto(`${base}/settings/security`)
  await page.getByText('Two-factor authentication:').waitFor()
  expect(new URL(page.url()).pathname).toBe('/settings/security')
  const [session] = await db.select().from(schema.sessions).where(and(eq(schema.sessions.userId, member.id), eq(schema.sessions.level, 'mfa')))
  expect(session).toBeDefined()
  expect(browserErrors).toEqual([])
  await context.close()
})
