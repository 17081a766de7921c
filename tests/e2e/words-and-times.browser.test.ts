/**
 * Issue 15, in Chromium (decision 073): times in the reader's zone without a hydration warning, audit
 * events in words, empty tables, password rules before submitting, errors tied to their fields, the
 * TOTP secret and recovery codes (Copy, Print), renaming a key and Enter in its name field, and the
 * region the login page remembers.
 */
import { and, eq } from 'drizzle-orm'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { recordAudit } from '#app/audit/record.server.ts'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { auditOf, totpCode } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { hydrated, launchBrowser, screenshot, signInWithForm, virtualAuthenticator, watchProblems } from '#tests/setup/browser.ts'
import { TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

vi.setConfig({ testTimeout: 120_000 })

let browser: Browser
let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

/** A context in Tokyo's time zone, signed in as `userId` when given, collecting console errors and warnings. */
async function tokyo(userId?: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ timezoneId: 'Asia/Tokyo', locale: 'en-GB' })
  if (userId) {
    const { token } = await createSession({ userId, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
    await context.addCookies([{ name: 'gh_session', value: token, url: base }])
  }
  const page = await context.newPage()
  const problems = watchProblems(page)
  return { context, page, problems }
}


async function orgWithOwner() {
  const org = await createOrg()
  const owner = await createUser({ org, role: 'owner', email: `owner-${org.slug}@example.test` })
  return { org, owner }
}

describe('<Time>', () => {
  it('the server writes UTC; the browser fills in local time, with the ISO time in title and no hydration warning', async () => {
    const { org, owner } = await orgWithOwner()
    const changed = new Date('2026-01-15T23:30:00.000Z')
    await db.update(schema.regionPolicies).set({ updatedAt: changed }).where(and(eq(schema.regionPolicies.organizationId, org.id), eq(schema.regionPolicies.region, 'us')))
    const { context, page, problems } = await tokyo(owner.id)
    const res = await page.goto(`${base}/orgs/${org.slug}/policy`)
    // What the server sent: UTC, the same in every zone.
    expect(await res!.text()).toMatch(/<time datetime="2026-01-15T23:30:00.000Z" title="2026-01-15T23:30:00.000Z">2026-01-15 23:30 UTC<\/time>/i)
    await hydrated(page)
    const time = page.locator('time[datetime="2026-01-15T23:30:00.000Z"]')
    await expect.poll(() => time.getAttribute('data-local')).toBe('true')
    const text = (await time.textContent())!
    expect(text).toContain('16 Jan 2026') // 08:30 the next morning in Tokyo
    expect(text).toContain('08:30')
    expect(await time.getAttribute('title')).toBe('2026-01-15T23:30:00.000Z')
    await screenshot(page, 'time-policy-tokyo')
    await page.waitForLoadState('networkidle')
    expect(problems.filter((p) => /hydrat|did not match|Minified React error|#418|#423|#425/i.test(p))).toEqual([])
    expect(problems).toEqual([])
    await context.close()
  })

  it('says recent times relatively', async () => {
    const { org, owner } = await orgWithOwner()
    const member = await createUser({ org, email: `ci-${org.slug}@example.test`, kind: 'service', password: null })
    await recordAudit({ action: 'org.exemption_added', actor: { id: owner.id, label: owner.email }, organizationId: org.id, subjectId: member.id, details: { region: 'us', reason: 'CI runner', expiresAt: null } })
    const { context, page, problems } = await tokyo(owner.id)
    await page.goto(`${base}/orgs/${org.slug}/audit`)
    await hydrated(page)
    const row = page.getByRole('row').filter({ hasText: 'org.exemption_added' })
    await expect.poll(() => row.locator('time').textContent()).toMatch(/just now|minute/)
    expect(problems).toEqual([])
    await context.close()
  })
})

describe('the audit log and the members list', () => {
  it('show an empty state, events in words, and the JSON under "details"', async () => {
    const { org, owner } = await orgWithOwner()
    const { context, page, problems } = await tokyo(owner.id)
    await page.goto(`${base}/orgs/${org.slug}/audit`)
    await page.getByText('No events yet.').waitFor()
    await screenshot(page, 'audit-empty')

    const member = await createUser({ org, email: `ci-${org.slug}@example.test`, kind: 'service', password: null })
    await recordAudit({ action: 'org.exemption_added', actor: { id: owner.id, label: owner.email }, organizationId: org.id, subjectId: member.id, details: { region: 'us', reason: 'CI runner', expiresAt: '2027-01-31T00:00:00.000Z' } })
    await page.goto(`${base}/orgs/${org.slug}/audit`)
    await page.getByText(`${owner.email} exempted ${member.email} in US until 31 Jan 2027 (CI runner).`).waitFor()
    const json = page.locator('details.audit-details pre')
    expect(await json.isVisible()).toBe(false)
    await page.locator('details.audit-details summary', { hasText: 'details' }).click()
    await expect.poll(() => json.isVisible()).toBe(true)
    expect(JSON.parse((await json.textContent())!)).toMatchObject({ region: 'us', reason: 'CI runner' })
    await screenshot(page, 'audit-sentence-details')

    await page.goto(`${base}/orgs/${org.slug}/audit?action=auth.logout`)
    await page.getByText('No events match this filter.').waitFor()
    await page.goto(`${base}/orgs/${org.slug}/members?q=nobody-at-all`)
    await page.getByText('No members match this filter.').waitFor()
    await screenshot(page, 'members-empty-filter')
    expect(problems).toEqual([])
    await context.close()
  })
})

describe('password rules and errors on their fields', () => {
  it('the invite page shows the rules before submitting and ties each error to its field', async () => {
    const { org, owner } = await orgWithOwner()
    const email = `new-${org.slug}@example.test`
    const client = new TestClient(base)
    await signInAs(client, owner.id)
    const since = Date.now()
    expect((await client.post(`/orgs/${org.slug}/members`, { intent: 'invite', email, region: 'us', role: 'member' })).status).toBe(302)
    const token = (await smtp.waitFor(email, { subject: /invited to/, since })).text.match(/\/invite\/(\S+)/)![1]

    const { context, page, problems } = await tokyo()
    await page.goto(`${base}/invite/${token}`)
    await hydrated(page)
    const rules = page.getByRole('list', { name: 'Password rules' })
    await rules.getByText('At least 12 characters').waitFor()
    const password = page.getByLabel('Password', { exact: true })
    // The rules are read with the field.
    expect(await password.getAttribute('aria-describedby')).toBe('password-hint')
    await password.fill('short')
    expect(await rules.locator('li').first().getAttribute('data-met')).toBe('false')
    await password.fill('a long enough phrase')
    await expect.poll(() => rules.locator('li').first().getAttribute('data-met')).toBe('true')
    await screenshot(page, 'invite-password-rules')

    // The server's rule is the same one (no minimum of its own on this page): an 11-character password is refused.
    await password.fill('eleven-char')
    await page.getByLabel('Repeat the password').fill('eleven-char')
    await page.getByRole('button', { name: 'Set password and continue' }).click()
    const error = page.locator('#password-error')
    await error.waitFor()
    expect(await error.textContent()).toBe('Use at least 12 characters')
    expect((await password.getAttribute('aria-describedby'))!.split(' ')).toEqual(['password-hint', 'password-error'])
    expect(await password.getAttribute('aria-invalid')).toBe('true')
    await screenshot(page, 'invite-password-error')
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([])
    await context.close()
  })
})

describe('secrets: copy and print', () => {
  it('shows the TOTP secret in groups of four with Copy; recovery codes print alone and say when Copy failed', async () => {
    const user = await createUser({ name: 'Cory Copy' })
    const context = await browser.newContext()
    await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: base })
    const page = await context.newPage()
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Welcome, Cory Copy' }).waitFor()
    await page.goto(`${base}/settings/security/totp`)
    await hydrated(page)
    await page.getByText("Can't scan?").click()
    const shown = (await page.getByTestId('totp-secret').textContent())!
    expect(shown).toMatch(/^[A-Z2-7]{4}( [A-Z2-7]{4})*( [A-Z2-7]{1,3})?$/)
    const secret = shown.replace(/\s/g, '')
    await page.getByRole('button', { name: 'Copy' }).click()
    await page.getByRole('button', { name: 'Copied' }).waitFor()
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(secret)
    await screenshot(page, 'totp-secret-groups')

    await page.getByLabel('Code from the app').fill(await totpCode(secret))
    await page.getByRole('button', { name: 'Verify & enable' }).click()
    const codes = page.getByRole('list', { name: 'Recovery codes' }).locator('code')
    await codes.first().waitFor()
    const all = await codes.allTextContents()

    // Copy: the codes, the account and the day.
    await page.getByRole('button', { name: 'Copy' }).click()
    await page.getByRole('button', { name: 'Copied' }).waitFor()
    const copied = await page.evaluate(() => navigator.clipboard.readText())
    expect(copied).toContain(user.email)
    for (const c of all) expect(copied).toContain(c)

    // Print opens the browser's print dialog; the print stylesheet shows only the sheet.
    await page.evaluate(() => {
      window.print = () => void ((window as unknown as { printed: number }).printed = 1)
    })
    await page.getByRole('button', { name: 'Print' }).click()
    expect(await page.evaluate(() => (window as unknown as { printed?: number }).printed)).toBe(1)
    await page.emulateMedia({ media: 'print' })
    const visible = (selector: string) => page.locator(selector).first().evaluate((el) => el.checkVisibility({ checkVisibilityCSS: true } as CheckVisibilityOptions))
    expect(await visible('h1')).toBe(false)
    expect(await visible('header.topbar a')).toBe(false)
    expect(await visible('.print-sheet .codes code')).toBe(true)
    expect(await visible('.print-sheet .print-only')).toBe(true)
    expect(await page.locator('.print-sheet .print-only').textContent()).toContain(user.email)
    expect(await visible('.print-sheet button')).toBe(false)
    await screenshot(page, 'recovery-codes-print')
    await page.emulateMedia({ media: 'screen' })

    // Without a clipboard (as on a plain http page), Copy says it failed.
    await page.evaluate(() => Object.defineProperty(navigator, 'clipboard', { value: undefined, configurable: true }))
    await page.getByRole('button', { name: 'Copied' }).click()
    await page.getByText(/^Copy failed: this browser did not allow it/).waitFor()
    await screenshot(page, 'recovery-codes-copy-failed')
    await context.close()
  })
})

describe('security keys', () => {
  it('Enter in the name field adds the key; a key can be renamed, audited; a bad name is tied to its field', async () => {
    const user = await createUser({ name: 'Kim Keys' })
    const context = await browser.newContext()
    const page = await context.newPage()
    await virtualAuthenticator(page)
    await signInWithForm(page, base, user.email)
    await page.getByRole('heading', { name: 'Welcome, Kim Keys' }).waitFor()
    await page.goto(`${base}/settings/security/keys`)
    await hydrated(page)
    // An empty name: the error is on the field, before any ceremony.
    await page.getByLabel('Key name').press('Enter')
    await page.locator('#label-error').waitFor()
    expect(await page.getByLabel('Key name').getAttribute('aria-describedby')).toBe('label-error')
    await page.getByLabel('Key name').fill('Desk key')
    await page.getByLabel('Key name').press('Enter')
    await page.getByText('Security key “Desk key” added.').waitFor()
    await page.goto(`${base}/settings/security/keys`)

    await page.getByText('Rename').click()
    const field = page.getByRole('form', { name: 'Rename Desk key' }).getByLabel('New name')
    await field.fill('   ')
    await page.getByRole('button', { name: 'Save name' }).click()
    await page.locator('[id$="-error"]').first().waitFor()
    const id = (await page.getByRole('form', { name: 'Rename Desk key' }).getByLabel('New name').getAttribute('id'))!
    expect(await page.locator(`#${id}`).getAttribute('aria-describedby')).toBe(`${id}-error`)
    await page.locator(`#${id}`).fill('Travel key')
    await page.getByRole('button', { name: 'Save name' }).click()
    await page.getByText('Security key renamed to “Travel key”.').waitFor()
    await page.getByRole('cell', { name: 'Travel key', exact: true }).waitFor()
    await screenshot(page, 'keys-renamed')
    const renamed = (await auditOf(user.id)).filter((e) => e.action === 'auth.webauthn_renamed')
    expect(renamed).toHaveLength(1)
    expect(renamed[0].details).toMatchObject({ old: 'Desk key', new: 'Travel key' })
    await context.close()
  })
})

describe('the login page', () => {
  it('remembers the last region chosen, in a SameSite=Lax cookie', async () => {
    const context = await browser.newContext()
    const page = await context.newPage()
    await page.goto(`${base}/login`)
    const first = await page.getByLabel('Region').inputValue()
    const other = (await page.getByLabel('Region').locator('option').evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value))).find((v) => v !== first)!
    await page.getByLabel('Region').selectOption(other)
    await page.getByLabel('Email').fill('nobody@example.test')
    await page.getByLabel('Password').fill('not the password')
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()
    await page.getByRole('alert').first().waitFor()
    const cookie = (await context.cookies(base)).find((c) => c.name === 'gh_region')
    expect(cookie).toMatchObject({ value: other, sameSite: 'Lax' })
    await page.goto(`${base}/login`)
    expect(await page.getByLabel('Region').inputValue()).toBe(other)
    await screenshot(page, 'login-remembered-region')
    // Another browser has no cookie, and opens on the first region.
    const fresh = await browser.newContext()
    const elsewhere = await fresh.newPage()
    await elsewhere.goto(`${base}/login`)
    expect(await elsewhere.getByLabel('Region').inputValue()).toBe(first)
    await fresh.close()
    await context.close()
  })
})
