/**
 * Server messages with a value in them, in the reader's language (decision 079): the lockout and
 * throttle waits ("Try again in 5 minutes") carry the wait in words, which is translated too;
 * English stays exactly as the server wrote it.
 */
import { describe, expect, it } from 'vitest'
import { waitInWords } from '#app/auth/rate-limit.server.ts'
import { regionName } from '#app/ui/region-name.ts'
import { i18nFor, translateMessage } from './i18n.ts'

const say = (language: string, message: string) => translateMessage(i18nFor(language).t, message)

describe('translateMessage with a wait', () => {
  const throttled = (seconds: number) => `Too many sign-in attempts. Try again in ${waitInWords(seconds)}.`
  const locked = (seconds: number) => `This account is locked after too many failed attempts. Try again in ${waitInWords(seconds)}, or contact support to unlock it sooner.`

  it('leaves English as the server wrote it', () => {
    for (const seconds of [1, 45, 300, 7200]) {
      expect(say('en', throttled(seconds))).toBe(throttled(seconds))
      expect(say('en', locked(seconds))).toBe(locked(seconds))
    }
  })

  it('says the wait in Japanese and Korean', () => {
    expect(say('ja', throttled(300))).toBe('ログインの試行回数が多すぎます。5分後にもう一度お試しください。')
    expect(say('ko', throttled(45))).toBe('로그인 시도가 너무 많습니다. 45초 후에 다시 시도하세요.')
    expect(say('ja', locked(7200))).toBe('ログインの失敗が続いたため、このアカウントはロックされています。2時間後にもう一度お試しください。早く解除したい場合は、サポートにお問い合わせください。')
    expect(say('ko', locked(900))).toBe('로그인 실패가 너무 많아 이 계정이 잠겼습니다. 15분 후에 다시 시도하거나, 더 빨리 잠금을 해제하려면 지원팀에 문의하세요.')
  })
})

describe('translateMessage with a message made of parts', () => {
  const refusal = 'You cannot remove your last allowed sign-in method: Your organization requires two-factor authentication with an authenticator app or a security key. Add another one first, then remove this one.'
  const off = 'Two-factor authentication cannot be turned off: Acme requires two-factor authentication with a security key.'
  const blocked = 'Blockco requires two-factor authentication and your deadline to set it up has passed, so sign-in is blocked. Contact admin@blockco.test to get access again.'
  const invited = `Your password is set, but you cannot sign in yet. ${blocked}`
  const invitedNoContact = 'Your password is set, but you cannot sign in yet. Your organization requires two-factor authentication and your deadline to set it up has passed, so sign-in is blocked. Contact your organization administrator to get access again.'
  const keyTest = 'The test failed: The security key response could not be verified. Try again and touch your key.'
  const unknownReason = 'The test failed: something the catalog does not know'

  it('leaves English as the server wrote it', () => {
    for (const m of [refusal, off, blocked, invited, invitedNoContact, keyTest, unknownReason]) expect(say('en', m)).toBe(m)
  })

  it('says the refusals under a Required policy in Japanese and Korean, organization names as written', () => {
    expect(say('ja', refusal)).toBe('最後の利用可能なログイン方法は削除できません：ご所属の組織では、認証アプリまたはセキュリティキーによる2段階認証が必須です。先に別の方法を追加してから、これを削除してください。')
    expect(say('ko', off)).toBe('2단계 인증을 끌 수 없습니다: Acme에서 2단계 인증(보안 키)을 요구합니다.')
  })

  it('translates the message inside "Your password is set, …" and "The test failed: …"', () => {
    expect(say('ja', invited)).toBe('パスワードは設定されましたが、まだログインできません。Blockcoでは2段階認証が必須で、設定の期限が過ぎたため、ログインはブロックされています。アクセスを回復するには、admin@blockco.testにお問い合わせください。')
    expect(say('ko', invitedNoContact)).toBe('비밀번호는 설정되었지만 아직 로그인할 수 없습니다. 소속 조직에서 2단계 인증을 요구하며, 설정 기한이 지나 로그인이 차단되었습니다. 다시 이용하려면 조직 관리자에게 문의하세요.')
    expect(say('ja', keyTest)).toBe('テストに失敗しました：' + say('ja', 'The security key response could not be verified. Try again and touch your key.'))
    expect(say('ko', keyTest)).not.toContain('could not be verified')
    // A part the catalog does not have stays English inside the translated frame.
    expect(say('ko', unknownReason)).toBe('테스트에 실패했습니다: something the catalog does not know')
  })
})

describe('region names', () => {
  const regions = [{ code: 'us', name: 'United States' }, { code: 'eu', name: 'European Union' }, { code: 'jp', name: 'Japan' }, { code: 'kr', name: 'Korea' }, { code: 'br', name: 'BR' }]
  const names = (language: string) => regions.map((r) => regionName(i18nFor(language).t, language, r))

  it('are the configured names on an English page and translated on Japanese and Korean ones; a region the catalog lacks keeps its name', () => {
    expect(names('en')).toEqual(['United States', 'European Union', 'Japan', 'Korea', 'BR'])
    expect(names('ja')).toEqual(['米国', '欧州連合', '日本', '韓国', 'BR'])
    expect(names('ko')).toEqual(['미국', '유럽연합', '일본', '한국', 'BR'])
  })
})
