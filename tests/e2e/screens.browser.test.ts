/**
 * Every screen size, both colour schemes (decision 074): each page of the console — member, admin,
 * support, the sign-in steps and the error pages, listed from app/routes — is opened once in
 * Chromium and looked at as a phone (375×812) and a laptop (1280×800), light and dark
 * (`prefers-color-scheme` emulated). It fails when the page body scrolls sideways, or on any
 * axe-core violation of WCAG 2.x level A or AA. One browser; one context per person; the viewport
 * and scheme change on the loaded page, so each page is fetched once. Screenshots of every
 * combination go to tests/artifacts/screens/.
 *
 * Routes not visited: POST-only or file answers (/logout, the CSV exports, /api), /favicon.ico,
 * and links whose loader only redirects (a valid emailed sign-in link).
 */
import { AxeBuilder } from '@axe-core/playwright'
import { eq } from 'drizzle-orm'
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { NO_REQUEST, recordAudit } from '#app/audit/record.server.ts'
import { createSession } from '#app/auth/session.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { issueApiKey } from '#app/orgs/api-keys.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { enableTotp } from '#tests/factories/mfa.ts'
import { giveFactors } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { ARTIFACTS, hydrated, launchBrowser, signInWithForm } from '#tests/setup/browser.ts'

// Each case opens up to a dozen pages and runs axe on each four times: minutes on a busy two-core machine.
vi.setConfig({ testTimeout: 900_000 })

/** The axe-core rule tags that make up WCAG 2.0, 2.1 and 2.2 levels A and AA. */
export const WCAG_A_AA = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22a', 'wcag22aa']
const VIEWPORTS = [
  { name: 'phone', width: 375, height: 812 },
  { name: 'laptop', width: 1280, height: 800 },
] as const
const SCHEMES = ['light', 'dark'] as const
/**
 * The rules whose outcome depends on colours. The colour scheme changes only colours (the DOM and
 * layout are the same), so the dark pass runs these and the light pass runs every rule: the same
 * verdict as running everything twice, in half the time (decision 074).
 */
const COLOUR_RULES = ['color-contrast', 'link-in-text-block'] // tagged wcag2aa and wcag2a

let browser: Browser
let base: string
beforeAll(async () => {
  await seedDemo()
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

const UA = {
  firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
}

async function sessionFor(userId: string, options: { level?: 'mfa' | 'enroll_only'; fresh?: boolean; userAgent?: string } = {}) {
  const { token } = await createSession({
    userId,
    level: options.level ?? 'mfa',
    meta: { ip: '203.0.113.7', userAgent: options.userAgent ?? 'test' },
    // A fresh second factor, so that pages behind step-up render themselves, not the confirm page.
    secondFactorMethod: options.fresh === false || options.level === 'enroll_only' ? undefined : 'totp',
  })
  return token
}

async function contextWith(cookie?: string): Promise<BrowserContext> {
  const context = await browser.newContext()
  if (cookie) await context.addCookies([{ name: 'gh_session', value: cookie, url: base }])
  return context
}

const slug = (path: string) => path.replace(/^\//, '').replace(/[^a-z0-9]+/gi, '-').replace(/-+$/, '') || 'home'

/**
 * Looks at the loaded page in each size and scheme; returns one line per problem. `name` names the
 * screenshots.
 */
async function inspect(page: Page, name: string): Promise<string[]> {
  const problems: string[] = []
  for (const viewport of VIEWPORTS) {
    await page.setViewportSize({ width: viewport.width, height: viewport.height })
    for (const colorScheme of SCHEMES) {
      await page.emulateMedia({ colorScheme })
      const where = `${name} @${viewport.width} ${colorScheme}`
      // The page body must not scroll sideways: wide content scrolls inside its own box.
      const overflow = await page.evaluate(() => {
        const root = document.documentElement
        const wide = [...document.body.querySelectorAll('*')]
          .filter((el) => el.getBoundingClientRect().right > root.clientWidth + 1)
          .filter((el) => !el.parentElement || el.parentElement.getBoundingClientRect().right <= root.clientWidth + 1)
          .slice(0, 3)
          .map((el) => `${el.tagName.toLowerCase()}${el.className ? `.${String(el.className).split(' ').join('.')}` : ''}`)
        return { scrollWidth: root.scrollWidth, clientWidth: root.clientWidth, wide }
      })
      if (overflow.scrollWidth > overflow.clientWidth) problems.push(`${where}: the page scrolls sideways (${overflow.scrollWidth} > ${overflow.clientWidth}px; ${overflow.wide.join(', ')})`)
      // Only violations are read: axe skips the details of what passed.
      const axe = new AxeBuilder({ page }).options({ resultTypes: ['violations'] })
      const results = await (colorScheme === 'light' ? axe.withTags(WCAG_A_AA) : axe.withRules(COLOUR_RULES)).analyze()
      for (const v of results.violations) {
        const targets = v.nodes.slice(0, 3).map((n) => `${n.target.join(' ')}${n.failureSummary ? ` [${n.failureSummary.replace(/\s+/g, ' ').slice(0, 160)}]` : ''}`)
        problems.push(`${where}: ${v.id} (${v.impact}) ${v.help}: ${targets.join(' | ')}`)
      }
      await page.screenshot({ path: `${ARTIFACTS}/screens/${name}-${viewport.width}-${colorScheme}.png`, fullPage: true })
    }
  }
  return problems
}

async function open(page: Page, path: string, expectedStatus = 200): Promise<string[]> {
  const res = await page.goto(`${base}${path}`)
  const problems: string[] = []
  if (res?.status() !== expectedStatus) problems.push(`${path}: status ${res?.status()}, expected ${expectedStatus}`)
  // Checked once hydrated, as a person would see it.
  await hydrated(page, 15_000).catch(() => problems.push(`${path}: never hydrated`))
  await page.waitForLoadState('networkidle')
  return problems
}

async function visitAll(context: BrowserContext, paths: Array<string | { path: string; status: number; name?: string }>) {
  const page = await context.newPage()
  const problems: string[] = []
  for (const entry of paths) {
    const { path, status, name } = typeof entry === 'string' ? { path: entry, status: 200, name: undefined } : entry
    problems.push(...(await open(page, path, status)))
    problems.push(...(await inspect(page, name ?? slug(path))))
  }
  await page.close()
  return problems
}

it('the pages anyone can open (sign-in steps by link, errors) fit every screen and pass axe', async () => {
  const owner = await findDemoUser('owner@acme.test')
  const acme = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
  // Live links, so the pages show their forms rather than "expired".
  const reset = await createVerification({ purpose: 'password_reset', userId: (await createUser({ name: 'Rita Reset' })).id, ttlSeconds: 3600, withToken: true })
  const [invitation] = await db
    .insert(schema.invitations)
    .values({ organizationId: acme.id, region: 'us', email: 'new.person@example.test', name: 'Nina New', role: 'member', invitedBy: owner.id, expiresAt: new Date(Date.now() + 86_400_000) })
    .returning()
  const invite = await createVerification({ purpose: 'invite', target: invitation.id, ttlSeconds: 3600, withToken: true })

  const context = await contextWith()
  const problems = await visitAll(context, [
    '/login',
    '/login?notice=password-reset',
    '/forgot-password',
    { path: `/reset-password/${reset.token}`, status: 200, name: 'reset-password' },
    { path: '/reset-password/expired-token', status: 200, name: 'reset-password-expired' },
    { path: `/invite/${invite.token}`, status: 200, name: 'invite' },
    { path: '/invite/expired-token', status: 200, name: 'invite-expired' },
    { path: '/freeze/expired-token', status: 200, name: 'freeze-expired' },
    { path: '/login/email/expired-token', status: 200, name: 'login-email-expired' },
    { path: '/no-such-page', status: 404, name: 'error-404' },
  ])

  // The second step, reached through the real form.
  await enableTotp((await createUser({ email: 'two.steps@example.test', name: 'Tess Twostep' })).id)
  const page = await context.newPage()
  await signInWithForm(page, base, 'two.steps@example.test')
  await page.getByRole('heading', { name: 'Verify it’s you' }).waitFor()
  await page.waitForLoadState('networkidle')
  problems.push(...(await inspect(page, 'login-verify')))
  // A wrong code: the error state is checked too.
  await page.getByLabel('Authentication code').fill('000000')
  await page.getByRole('button', { name: 'Verify' }).click()
  await page.getByRole('alert').waitFor()
  problems.push(...(await inspect(page, 'login-verify-error')))
  await context.close()
  expect(problems).toEqual([])
})

it('the member pages (security, sessions, devices, enrollment, step-up, grace prompt) fit every screen and pass axe', async () => {
  const member = await createUser({ email: 'mira.longname-for-wrapping@example.test', name: 'Mira Member-With-A-Rather-Long-Name' })
  await giveFactors(member.id)
  await sessionFor(member.id, { userAgent: UA.firefox })
  await sessionFor(member.id, { userAgent: UA.iphone })
  const context = await contextWith(await sessionFor(member.id))
  const problems = await visitAll(context, [
    '/',
    '/settings/security',
    '/settings/security/totp',
    '/settings/security/keys',
    '/settings/security/recovery-codes',
    '/settings/security/devices',
    '/settings/security/sessions',
    '/enroll',
    { path: '/support', status: 404, name: 'error-support-for-member' },
  ])
  await context.close()

  // Step-up: a session without a fresh second factor is asked for one.
  const stale = await contextWith(await sessionFor(member.id, { fresh: false }))
  problems.push(...(await visitAll(stale, [{ path: '/settings/security/confirm?redirectTo=%2Fsettings%2Fsecurity%2Frecovery-codes', status: 200, name: 'step-up-confirm' }])))
  await stale.close()

  // A Required policy in its grace period: the prompt after the password; past it, enrollment only.
  const strict = await createOrg({ name: 'Strict Industries' })
  await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, strict.id))
  const newcomer = await createUser({ org: strict, name: 'Nora Newcomer' })
  const graceContext = await contextWith(await sessionFor(newcomer.id, { fresh: false }))
  problems.push(...(await visitAll(graceContext, ['/login/grace'])))
  await graceContext.close()
  const held = await contextWith(await sessionFor(newcomer.id, { level: 'enroll_only' }))
  problems.push(...(await visitAll(held, [{ path: '/enroll', status: 200, name: 'enroll-only' }])))
  await held.close()
  expect(problems).toEqual([])
})

it('a Japanese and a Korean page (their text wraps differently) fit every screen and pass axe', async () => {
  // A JP member's security page, in Japanese from the member's region (decision 079).
  const jp = await createUser({ region: 'jp', email: 'kenji.longname-for-wrapping@example.test', name: '山田 健二郎之助' })
  await giveFactors(jp.id)
  const context = await contextWith(await sessionFor(jp.id))
  const problems = await visitAll(context, [{ path: '/settings/security', status: 200, name: 'ja-settings-security' }])
  const page = await context.newPage()
  await open(page, '/settings/security')
  expect(await page.evaluate(() => document.documentElement.lang)).toBe('ja')
  await context.close()

  // A KR member's second step, reached through the real form: the region chosen there picks Korean.
  const kr = await createUser({ region: 'kr', email: 'minji.longname-for-wrapping@example.test', name: '김민지' })
  await enableTotp(kr.id)
  const anonymous = await contextWith()
  const verify = await anonymous.newPage()
  await signInWithForm(verify, base, kr.email, 'kr')
  await verify.getByRole('heading', { name: '본인 확인' }).waitFor()
  await verify.waitForLoadState('networkidle')
  expect(await verify.evaluate(() => document.documentElement.lang)).toBe('ko')
  problems.push(...(await inspect(verify, 'ko-login-verify')))
  await anonymous.close()
  expect(problems).toEqual([])
})

it('the admin pages (overview, members, policy, exemptions, API keys, single sign-on, audit) fit every screen and pass axe', async () => {
  const owner = await findDemoUser('owner@acme.test')
  const acme = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
  const bot = await findDemoUser('ci-bot@acme.test')
  const member = await findDemoUser('member@acme.test')
  await issueApiKey({ org: acme, scope: orgScope(acme), issuer: { user: owner, session: { secondFactorAt: new Date() } }, serviceAccountId: bot.id, name: 'deploy pipeline for the production cluster', scopes: ['policy:read', 'members:read'], meta: NO_REQUEST })
  await recordAudit({ action: 'org.member_invited', actor: { id: owner.id, label: owner.email }, organizationId: acme.id, meta: { ip: '2001:db8:85a3::8a2e:370:7334', userAgent: UA.firefox }, details: { email: 'someone.with.a.very.long.address@subdomain.example.test', region: 'us', role: 'member' } })
  const context = await contextWith(await sessionFor(owner.id))
  const problems = await visitAll(context, [
    '/orgs/acme',
    '/orgs/acme/members',
    '/orgs/acme/policy',
    '/orgs/acme/exemptions',
    '/orgs/acme/api-keys',
    '/orgs/acme/sso',
    '/orgs/acme/audit',
    { path: `/orgs/acme/members/${member.id}/reset`, status: 200, name: 'orgs-acme-member-reset' },
    { path: `/orgs/acme/members/${member.id}/access-code`, status: 200, name: 'orgs-acme-member-access-code' },
    { path: '/orgs/globex', status: 404, name: 'error-other-org' },
  ])
  await context.close()
  expect(problems).toEqual([])
})

it('the support pages fit every screen and pass axe', async () => {
  const support = await findDemoUser('support@gatehouse.test')
  const member = await findDemoUser('member@acme.test')
  const context = await contextWith(await sessionFor(support.id))
  const problems = await visitAll(context, ['/support', '/support?q=acme', { path: `/support/users/${member.id}`, status: 200, name: 'support-user' }, { path: `/support/users/${member.id}/access-code`, status: 200, name: 'support-user-access-code' }, '/support/approvals'])
  await context.close()
  expect(problems).toEqual([])
})

it('a keyboard reaches the skip link first, it shows and leads to the page; focus is visible', async () => {
  const member = await createUser({ name: 'Kira Keyboard' })
  const context = await contextWith(await sessionFor(member.id))
  const page = await context.newPage()
  await page.setViewportSize({ width: 375, height: 812 })
  for (const colorScheme of SCHEMES) {
    await page.emulateMedia({ colorScheme })
    await open(page, '/settings/security')
    const skip = page.getByRole('link', { name: 'Skip to content' })
    // Out of sight until focused.
    expect(await skip.evaluate((el) => el.getBoundingClientRect().bottom)).toBeLessThanOrEqual(0)
    await page.keyboard.press('Tab')
    expect(await skip.evaluate((el) => el === document.activeElement)).toBe(true)
    const box = await skip.evaluate((el) => el.getBoundingClientRect().toJSON() as DOMRect)
    expect(box.top).toBeGreaterThanOrEqual(0)
    expect(box.bottom).toBeLessThanOrEqual(812)
    await page.screenshot({ path: `${ARTIFACTS}/screens/skip-link-375-${colorScheme}.png` })
    await page.keyboard.press('Enter')
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('main')
    // The next Tab lands inside the page, past the top bar, with a visible outline.
    await page.keyboard.press('Tab')
    const focused = await page.evaluate(() => {
      const el = document.activeElement as HTMLElement
      const style = getComputedStyle(el)
      return { inMain: Boolean(el.closest('main')), outline: style.outlineStyle, width: parseFloat(style.outlineWidth) }
    })
    expect(focused.inMain).toBe(true)
    expect(focused.outline).not.toBe('none')
    expect(focused.width).toBeGreaterThanOrEqual(2)
    await page.screenshot({ path: `${ARTIFACTS}/screens/focus-visible-375-${colorScheme}.png` })
  }
  await context.close()
})

it('the checks can fail: a page that scrolls sideways and an unlabelled field are reported', async () => {
  const context = await contextWith()
  const page = await context.newPage()
  await page.goto(`${base}/styles.css`)
  await page.setContent(`<!doctype html><html lang="en"><head><title>Broken on purpose</title><link rel="stylesheet" href="${base}/styles.css"></head>
    <body><main><h1>Broken on purpose</h1><div style="width:2000px">wide</div><input></main></body></html>`)
  const problems = (await inspect(page, 'broken-on-purpose')).join('\n')
  await context.close()
  expect(problems).toMatch(/@375 light: the page scrolls sideways/)
  expect(problems).toMatch(/@1280 dark: the page scrolls sideways/)
  expect(problems).toMatch(/@375 light: label \(critical\)/)
})
