import { describe, expect, it } from 'vitest'
import { stepUpMethods, type Factors } from './factors.server.ts'
import { normaliseRecoveryCode, RECOVERY_ALPHABET } from './recovery-codes.server.ts'

const none: Factors = { totp: null, keys: [], recoveryCodesLeft: 0 }
const app: Factors = { totp: { confirmedAt: new Date(), lastUsedAt: null }, keys: [], recoveryCodesLeft: 10 }
const both: Factors = { ...app, keys: [{ id: 'k', label: 'YubiKey', createdAt: new Date(), lastUsedAt: null }] }

describe('step-up methods', () => {
  it('offers email only to members without an app or key', () => {
    expect(stepUpMethods(none)).toEqual(['email'])
    expect(stepUpMethods(app)).toEqual(['totp', 'recovery_code'])
    expect(stepUpMethods(both)).not.toContain('email')
  })
})

describe('recovery code format', () => {
  it('has no look-alike characters and reads codes loosely', () => {
    for (const c of '01oil') expect(RECOVERY_ALPHABET).not.toContain(c)
    expect(normaliseRecoveryCode('ABCD-EFGH')).toBe('abcdefgh')
    expect(normaliseRecoveryCode(' abcd efgh ')).toBe('abcdefgh')
    expect(normaliseRecoveryCode('abcdefgh')).toBe('abcdefgh')
    for (const bad of ['abcd-efg', 'abcd-efgh-2', 'abc0-efgh', 'x'.repeat(1000)]) expect(normaliseRecoveryCode(bad)).toBeNull()
  })
})
