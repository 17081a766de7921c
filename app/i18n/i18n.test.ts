/**
 * Server messages with a value in them, in the reader's language (decision 079): the lockout and
 * throttle waits ("Try again in 5 minutes") carry the wait in words, which is translated too;
 * English stays exactly as the server wrote it.
 */
import { describe, expect, it } from 'vitest'
import { waitInWords } from '#app/auth/rate-limit.server.ts'
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
