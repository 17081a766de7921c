/**
 * Japanese and Korean for the JP and KR regions (decision 079), in Chromium: a JP member and a KR
 * member sign in through the real forms and see the sign-in steps and their security pages in their
 * language, with <html lang> set and no hydration warning; the switch changes the language and the
 * choice stays; admin pages stay English. Screenshots in tests/artifacts/languages-*.png.
 */
import type { Browser, BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { createVerification } from '#app/auth/verification.server.ts'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createOrg, createUser, PASSWORD } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { hydrated, launchBrowser, screenshot, watchProblems } from '#tests/setup/browser.ts'

vi.setConfig({ testTimeout: 120_000 })

let browser: Browser
let base: string
beforeAll(async () => {
  ;({ url: base } = await startTestApp({ workers: false }))
  browser = await launchBrowser()
})
afterAll(async () => browser?.close())

/** A context whose browser asks for `locale` first, collecting page errors and console errors and warnings. */
async function person(locale: string): Promise<{ context: BrowserContext; page: Page; problems: string[] }> {
  const context = await browser.newContext({ locale })
  const page = await context.newPage()
  const problems = watchProblems(page)
  return { context, page, problems }
}

const lang = (page: Page) => page.evaluate(() => document.documentElement.lang)

describe('the member pages in the member’s language', () => {
  it('a JP member: /login in Japanese from Accept-Language, the second step and security page in Japanese; the switch to English stays', async () => {
    const member = await createUser({ region: 'jp', email: 'kenji@example.test', name: '山田 健二' })
    const { secret } = await enableTotp(member.id)
    const { context, page, problems } = await person('ja-JP')
    await page.goto(`${base}/login`)
    await hydrated(page)
    expect(await lang(page)).toBe('ja')
    await page.getByRole('heading', { name: 'Gatehouse にログイン' }).waitFor()
    expect(await page.title()).toBe('ログイン · Gatehouse')
    await screenshot(page, 'languages-ja-login')
    await page.getByLabel('リージョン').selectOption('jp')
    await page.getByLabel('メールアドレス').fill(member.email)
    await page.getByLabel('パスワード').fill(PASSWORD)
    await page.getByRole('button', { name: 'ログイン', exact: true }).click()

    await page.getByRole('heading', { name: '本人確認' }).waitFor()
    expect(await lang(page)).toBe('ja')
    await expect.poll(() => page.locator('main').textContent()).toContain('認証アプリに表示されている6桁のコードを入力してください。')
    // A wrong code: the server's English message is shown in Japanese, tries left and all.
    await page.getByLabel('認証コード').fill('000000')
    await page.getByRole('button', { name: '確認', exact: true }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toMatch(/コードが正しくありません/)
    await screenshot(page, 'languages-ja-verify-error')
    await page.getByLabel('認証コード').fill(await totpCode(secret))
    await page.getByRole('button', { name: '確認', exact: true }).click()
    await page.getByRole('heading', { name: /ようこそ/ }).waitFor()

    await page.goto(`${base}/settings/security`)
    await hydrated(page)
    await page.getByRole('heading', { name: 'セキュリティ', level: 1 }).waitFor()
    expect(await page.locator('main').textContent()).toContain('2段階認証：')
    expect(await page.getByRole('button', { name: '日本語' }).getAttribute('aria-pressed')).toBe('true')
    await screenshot(page, 'languages-ja-security')

    // The switch: English, and it stays on the next page and after a reload.
    // The wrong code's 400 is the one expected console line.
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([])
    problems.length = 0
    await page.getByRole('button', { name: 'English' }).click()
    await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor()
    expect(await lang(page)).toBe('en')
    expect(await page.locator('main').textContent()).toContain('Two-factor authentication:')
    await page.reload()
    await hydrated(page)
    await page.getByRole('heading', { name: 'Security', level: 1 }).waitFor()
    await screenshot(page, 'languages-ja-member-switched-to-english')
    await page.getByRole('button', { name: '日本語' }).click()
    await page.getByRole('heading', { name: 'セキュリティ', level: 1 }).waitFor()
    expect(await lang(page)).toBe('ja')
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()
  })

  it('a KR member: /login in English for an English browser; after choosing KR the second step and security page are in Korean; the switch works', async () => {
    const member = await createUser({ region: 'kr', email: 'minji@example.test', name: '김민지' })
    const { secret } = await enableTotp(member.id)
    const { context, page, problems } = await person('en-US')
    await page.goto(`${base}/login`)
    await hydrated(page)
    expect(await lang(page)).toBe('en')
    await page.getByLabel('Region').selectOption('kr')
    await page.getByLabel('Email').fill(member.email)
    await page.getByLabel('Password').fill(PASSWORD)
    await page.getByRole('button', { name: 'Sign in', exact: true }).click()

    // The region chosen on the form decides the language of the second step.
    await page.getByRole('heading', { name: '본인 확인' }).waitFor()
    expect(await lang(page)).toBe('ko')
    expect(await page.title()).toBe('본인 확인 · Gatehouse')
    await screenshot(page, 'languages-ko-verify')
    await page.getByLabel('인증 코드').fill(await totpCode(secret))
    await page.getByRole('button', { name: '확인', exact: true }).click()
    await page.getByRole('heading', { name: /환영합니다/ }).waitFor()

    await page.goto(`${base}/settings/security`)
    await hydrated(page)
    await page.getByRole('heading', { name: '보안', level: 1 }).waitFor()
    expect(await page.locator('main').textContent()).toContain('2단계 인증:')
    await expect.poll(() => page.getByRole('link', { name: '인증 앱 관리' }).count()).toBe(1)
    await screenshot(page, 'languages-ko-security')

    await page.getByRole('button', { name: '日本語' }).click()
    await page.getByRole('heading', { name: 'セキュリティ', level: 1 }).waitFor()
    expect(await lang(page)).toBe('ja')
    await page.getByRole('button', { name: '한국어' }).click()
    await page.getByRole('heading', { name: '보안', level: 1 }).waitFor()
    expect(await lang(page)).toBe('ko')
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()
  })

  it('a JP member: the authenticator app page and the recovery codes page in Japanese, server messages and the new codes too', async () => {
    const member = await createUser({ region: 'jp', email: 'haruka@example.test', name: '佐藤 遥' })
    await enableTotp(member.id)
    const { token } = await createSession({ userId: member.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
    const { context, page, problems } = await person('en-US')
    await context.addCookies([{ name: 'gh_session', value: token, url: base }])

    await page.goto(`${base}/settings/security/totp`)
    await hydrated(page)
    expect(await lang(page)).toBe('ja')
    await page.getByRole('heading', { name: '認証アプリ', level: 1 }).waitFor()
    expect(await page.title()).toBe('認証アプリ · Gatehouse')
    expect(await page.getByRole('button', { name: '認証アプリを置き換える' }).count()).toBe(1)
    // The confirmation before removing, with what removing does (a shared part), in Japanese.
    await page.getByRole('link', { name: '認証アプリを削除…' }).click()
    const confirm = page.getByRole('alertdialog', { name: '認証アプリを削除しますか？' })
    await confirm.waitFor()
    expect(await confirm.textContent()).toContain('アプリのコードではログインできなくなります。これが最後のアプリまたはキーです。')
    expect(await confirm.getByRole('link', { name: 'キャンセル' }).count()).toBe(1)
    expect(await page.locator('main').textContent()).not.toMatch(/Remove|authenticator|Cancel/)
    await screenshot(page, 'languages-ja-totp')

    await page.goto(`${base}/settings/security/recovery-codes`)
    await hydrated(page)
    await page.getByRole('heading', { name: 'リカバリーコード', level: 1 }).waitFor()
    expect(await page.title()).toBe('リカバリーコード · Gatehouse')
    expect(await page.locator('main').textContent()).toContain('リカバリーコードは残り 10/10 個です。')
    await page.getByRole('button', { name: '再生成' }).click()
    // The new codes (the shared panel) in Japanese.
    await page.getByRole('heading', { name: 'リカバリーコード', level: 2 }).waitFor()
    expect(await page.getByRole('list', { name: 'リカバリーコード' }).getByRole('listitem').count()).toBe(10)
    expect(await page.getByRole('link', { name: 'コードを保存しました' }).count()).toBe(1)
    expect(await page.getByRole('button', { name: 'コピー', exact: true }).count()).toBe(1)
    expect(await page.locator('main').textContent()).not.toMatch(/recovery|Print|saved/i)
    await screenshot(page, 'languages-ja-recovery-codes')
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()
  })

  it('a KR member: the security keys page in Korean, a client-side name check too; the sessions page in Korean', async () => {
    const member = await createUser({ region: 'kr', email: 'jiwoo@example.test', name: '이지우' })
    const { token } = await createSession({ userId: member.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'email' })
    const { context, page, problems } = await person('en-US')
    await context.addCookies([{ name: 'gh_session', value: token, url: base }])

    await page.goto(`${base}/settings/security/keys`)
    await hydrated(page)
    expect(await lang(page)).toBe('ko')
    await page.getByRole('heading', { name: '보안 키 및 패스키', level: 1 }).waitFor()
    expect(await page.title()).toBe('보안 키 · Gatehouse')
    expect(await page.locator('main').textContent()).toContain('아직 보안 키가 없습니다.')
    await page.getByRole('heading', { name: '보안 키 추가', level: 2 }).waitFor()
    await page.getByLabel('이 기기의 패스키(비밀번호 없이 로그인)').check()
    expect(await page.locator('main').textContent()).toContain('패스키는 기기에 저장되며')
    // No name: the (English) zod message of the shared schema shows in Korean.
    await page.getByRole('button', { name: '패스키 추가' }).click()
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe('키 이름을 입력하세요(예: "YubiKey 5")')
    expect(await page.locator('main').textContent()).not.toMatch(/Security key|Passkey|Add /)
    await screenshot(page, 'languages-ko-keys')

    await page.goto(`${base}/settings/security/sessions`)
    await hydrated(page)
    await page.getByRole('heading', { name: '활성 세션', level: 1 }).waitFor()
    expect(await page.locator('main').textContent()).toContain('현재 세션')
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()
  })

  it('a JP member choosing a new password from a live reset link: the form, the rules, the 2FA prompt and a server error in Japanese', async () => {
    const member = await createUser({ region: 'jp', email: 'aoi@example.test', name: '鈴木 葵' })
    await enableTotp(member.id)
    const reset = await createVerification({ purpose: 'password_reset', userId: member.id, ttlSeconds: 3600, withToken: true })
    const { context, page, problems } = await person('ja-JP')
    await page.goto(`${base}/reset-password/${reset.token}`)
    await hydrated(page)
    expect(await lang(page)).toBe('ja')
    await page.getByRole('heading', { name: '新しいパスワードを設定', level: 1 }).waitFor()
    expect(await page.getByRole('list', { name: 'パスワードのルール' }).textContent()).toContain('12文字以上')
    expect(await page.locator('main').textContent()).toContain('認証アプリのコード、またはリカバリーコードで確認してください。')
    await page.getByLabel('新しいパスワード', { exact: true }).fill('short')
    await page.getByLabel('新しいパスワード（確認用）').fill('short')
    await page.getByLabel('コード', { exact: true }).fill('123456')
    await page.getByRole('button', { name: 'パスワードを変更' }).click()
    // The server's zod message ("Use at least 12 characters"), with its value, in Japanese.
    await expect.poll(() => page.getByRole('alert').first().textContent()).toBe('12文字以上にしてください')
    expect(await page.locator('main').textContent()).not.toMatch(/password|Use at least|Confirm with/i)
    await screenshot(page, 'languages-ja-reset-password')
    await page.waitForLoadState('networkidle')
    expect(problems.filter((p) => !/status of 400/.test(p))).toEqual([])
    await context.close()
  })

  it('the pages reached from mail before signing in follow the browser: a reset link in Japanese, an invitation and a freeze link in Korean', async () => {
    const ja = await person('ja-JP')
    await ja.page.goto(`${base}/reset-password/not-a-real-token`)
    await hydrated(ja.page)
    expect(await lang(ja.page)).toBe('ja')
    await ja.page.getByRole('heading', { name: 'このリンクは使えません', level: 1 }).waitFor()
    expect(await ja.page.title()).toBe('新しいパスワードを設定 · Gatehouse')
    expect(await ja.page.getByRole('link', { name: '新しいリンクをリクエスト' }).count()).toBe(1)
    await screenshot(ja.page, 'languages-ja-reset-link-expired')
    await ja.page.waitForLoadState('networkidle')
    expect(ja.problems).toEqual([])
    await ja.context.close()

    const ko = await person('ko-KR')
    await ko.page.goto(`${base}/invite/not-a-real-token`)
    await hydrated(ko.page)
    expect(await lang(ko.page)).toBe('ko')
    await ko.page.getByRole('heading', { name: '이 초대는 사용할 수 없습니다', level: 1 }).waitFor()
    expect(await ko.page.title()).toBe('초대 수락 · Gatehouse')
    await ko.page.goto(`${base}/freeze/not-a-real-token`)
    await hydrated(ko.page)
    await ko.page.getByRole('heading', { name: '이 링크는 사용할 수 없습니다', level: 1 }).waitFor()
    expect(await ko.page.title()).toBe('계정 동결 · Gatehouse')
    await screenshot(ko.page, 'languages-ko-freeze-link-expired')
    await ko.page.waitForLoadState('networkidle')
    expect(ko.problems).toEqual([])
    await ko.context.close()
  })

  it("a freeze link speaks its owner's language (region), also after freezing, unless the switch chose another", async () => {
    const kenta = await createUser({ region: 'jp', email: 'kenta@example.test', name: '高橋 健太' })
    const link = await createVerification({ purpose: 'freeze', userId: kenta.id, ttlSeconds: 3600, withToken: true })
    // An English browser opening a JP member's link: the owner's Japanese.
    const { context, page, problems } = await person('en-US')
    await page.goto(`${base}/freeze/${link.token}`)
    await hydrated(page)
    expect(await lang(page)).toBe('ja')
    await page.getByRole('heading', { name: 'アカウントを凍結しますか？', level: 1 }).waitFor()
    expect(await page.title()).toBe('アカウントを凍結 · Gatehouse')
    await page.getByRole('button', { name: 'アカウントを凍結する' }).click()
    await page.getByRole('heading', { name: 'アカウントを凍結しました', level: 1 }).waitFor()
    expect(await lang(page)).toBe('ja')
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()

    // The switch's choice (gh_lang) wins over the owner's region.
    const mina = await createUser({ region: 'kr', email: 'mina@example.test', name: '박미나' })
    const other = await createVerification({ purpose: 'freeze', userId: mina.id, ttlSeconds: 3600, withToken: true })
    const chose = await person('ko-KR')
    await chose.context.addCookies([{ name: 'gh_lang', value: 'en', url: base }])
    await chose.page.goto(`${base}/freeze/${other.token}`)
    await chose.page.getByRole('heading', { name: 'Freeze your account?', level: 1 }).waitFor()
    expect(await lang(chose.page)).toBe('en')
    await chose.context.close()
  })

  it('the region select names the regions in the page language, codes unchanged', async () => {
    for (const [locale, names] of [
      ['ja-JP', ['米国 (US)', '欧州連合 (EU)', '日本 (JP)', '韓国 (KR)']],
      ['ko-KR', ['미국 (US)', '유럽연합 (EU)', '일본 (JP)', '한국 (KR)']],
      ['en-US', ['United States (US)', 'European Union (EU)', 'Japan (JP)', 'Korea (KR)']],
    ] as const) {
      const { context, page, problems } = await person(locale)
      await page.goto(`${base}/login`)
      await hydrated(page)
      const options = await page.locator('select#region option').evaluateAll((os) => os.map((o) => [(o as HTMLOptionElement).value, o.textContent]))
      expect(options).toEqual(names.map((n) => [n.slice(-3, -1).toLowerCase(), n]))
      await page.waitForLoadState('networkidle')
      expect(problems).toEqual([])
      await context.close()
    }
  })

  it('admin pages stay English (lang="en", no switch) for a JP owner; the top bar follows the page', async () => {
    const org = await createOrg({ name: 'Tokyo Trading', regions: ['jp'] })
    const owner = await createUser({ org, role: 'owner', region: 'jp', email: 'owner@tokyo.test' })
    const { token } = await createSession({ userId: owner.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'test' }, secondFactorMethod: 'totp' })
    const { context, page, problems } = await person('ja-JP')
    await context.addCookies([{ name: 'gh_session', value: token, url: base }])
    await page.goto(`${base}/orgs/${org.slug}`)
    await hydrated(page)
    expect(await lang(page)).toBe('en')
    expect(await page.getByRole('button', { name: '日本語' }).count()).toBe(0)
    expect(await page.getByRole('link', { name: 'Security', exact: true }).count()).toBe(1)
    await page.goto(`${base}/settings/security`)
    await hydrated(page)
    expect(await lang(page)).toBe('ja')
    expect(await page.getByRole('link', { name: 'セキュリティ', exact: true }).count()).toBe(1)
    await page.waitForLoadState('networkidle')
    expect(problems).toEqual([])
    await context.close()
  })
})
