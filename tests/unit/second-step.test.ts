import { describe, expect, it } from 'vitest'
import { decideSecondStep, methodAllowed } from '#app/auth/second-step.server.ts'
import { stepUpMethods } from '#app/mfa/step-up.server.ts'
import type { Factors } from '#app/mfa/factors.server.ts'
import { normaliseRecoveryCode, RECOVERY_ALPHABET } from '#app/mfa/recovery-codes.server.ts'

const none: Factors = { totp: null, keys: [], recoveryCodesLeft: 0 }
const app: Factors = { totp: { confirmedAt: new Date(), lastUsedAt: null }, keys: [], recoveryCodesLeft: 10 }
const key: Factors = { totp: null, keys: [{ id: 'k', label: 'YubiKey', createdAt: new Date(), lastUsedAt: null }], recoveryCodesLeft: 0 }
const both: Factors = { ...app, keys: key.keys }
const member = { platformRole: 'none' as const, preferredMethod: null, mfaResetAt: null }
const staff = { ...member, platformRole: 'support' as const }

describe('decideSecondStep', () => {
  it.each([
    ['member without a factor signs in with the password', member, none, { kind: 'none' }],
    ['member with an app owes a second factor', member, app, { kind: 'second_factor', methods: ['totp', 'email', 'recovery_code'], preferred: 'totp' }],
    ['member with a key only (codes used up) gets key and email', member, key, { kind: 'second_factor', methods: ['webauthn', 'email'], preferred: 'webauthn' }],
    ['preferred method is honoured', { ...member, preferredMethod: 'webauthn' as const }, both, { kind: 'second_factor', preferred: 'webauthn' }],
    ['preferred email still opens on the strong method', { ...member, preferredMethod: 'email' as const }, app, { kind: 'second_factor', preferred: 'totp' }],
    ['staff without app or key must enrol', staff, none, { kind: 'enroll' }],
    ['staff with an app owes a second factor', staff, app, { kind: 'second_factor' }],
    ['after a reset, an email code is owed even with no factor', { ...member, mfaResetAt: new Date() }, none, { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: false }],
    ['staff after a reset: email code, then enrollment', { ...staff, mfaResetAt: new Date() }, none, { kind: 'second_factor', methods: ['email'], enrollAfter: true }],
  ])('%s', (_name, user, factors, expected) => {
    expect(decideSecondStep(user, factors)).toMatchObject(expected)
  })

  it('re-checks methods: a method not offered is refused', () => {
    const decision = decideSecondStep(member, key)
    expect(methodAllowed(decision, 'webauthn')).toBe(true)
    expect(methodAllowed(decision, 'totp')).toBe(false)
    expect(methodAllowed(decision, 'recovery_code')).toBe(false)
    expect(methodAllowed(decideSecondStep(member, none), 'email')).toBe(false)
  })
})

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
