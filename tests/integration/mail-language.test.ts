/**
 * Members' mail is in their region's language (decision 079), through the real worker and SMTP:
 * the worker picks the language from the user the email is for, never from a request.
 */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

/** A member of `region` whose organization requires 2FA there with email allowed: the second step is an email code. */
async function emailStepMember(region: string) {
  const org = await createOrg({ regions: [region] })
  await db.update(schema.regionPolicies).set({ mode: 'required', requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
  return createUser({ org, region })
}

async function signInCode(region: string, email: string, acceptLanguage?: string) {
  const client = new TestClient(base, acceptLanguage ? { 'accept-language': acceptLanguage } : {})
  const res = await signIn(client, email, region)
  expect(res.headers.get('location')).toBe('/login/verify')
  // The email step sends its code when the sign-in lands on it (decision 071).
}

describe('mail in the member’s language', () => {
  it('a JP member’s sign-in code comes in Japanese, with the code and the link', async () => {
    const user = await emailStepMember('jp')
    const since = Date.now()
    await signInCode('jp', user.email)
    const mail = await smtp.waitFor(user.email, { since })
    expect(mail.subject).toMatch(/^Gatehouse のログインコード：\d{6}$/)
    const code = /(\d{6})/.exec(mail.subject)![1]
    expect(mail.text).toContain(`ログインコードは ${code} です。`)
    expect(mail.text).toMatch(/\/login\/email\/\S+/)
    expect(mail.text).toContain('このメールは、Gatehouse のアカウントに関するお知らせです。')
    expect(mail.text).not.toMatch(/Your sign-in code/)
  })

  it('a KR member’s sign-in code and password reset come in Korean, whatever the browser asked for', async () => {
    const user = await emailStepMember('kr')
    const since = Date.now()
    await signInCode('kr', user.email, 'en-US,en;q=0.9')
    const mail = await smtp.waitFor(user.email, { since })
    expect(mail.subject).toMatch(/^Gatehouse 로그인 코드: \d{6}$/)
    expect(mail.text).toContain('이 코드는 요청한 브라우저에서 10분 동안 한 번만 사용할 수 있습니다.')

    const client = new TestClient(base)
    const resetSince = Date.now()
    expect((await client.post('/forgot-password', { region: 'kr', email: user.email })).status).toBeLessThan(400)
    const reset = await smtp.waitFor(user.email, { subject: /비밀번호 재설정/, since: resetSince })
    expect(reset.subject).toBe('Gatehouse 비밀번호 재설정')
    expect(reset.text).toMatch(/\/reset-password\/\S+/)
  })

  it('a US member’s mail stays in English, word for word', async () => {
    const user = await emailStepMember('us')
    const since = Date.now()
    await signInCode('us', user.email, 'ja-JP,ja;q=0.9')
    const mail = await smtp.waitFor(user.email, { since })
    expect(mail.subject).toMatch(/^Your Gatehouse sign-in code: \d{6}$/)
    expect(mail.text).toContain('It works for 10 minutes, once, in the browser where you asked for it.')
    expect(mail.text).toContain('You receive this because of your Gatehouse account.')
  })
})
