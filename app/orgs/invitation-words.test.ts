import { describe, expect, it } from 'vitest'
import { describePolicy } from './invitation-words.ts'

describe('describePolicy', () => {
  it.each([
    [{ mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7 }, 'Acme requires an authenticator app or a security key within 7 days'],
    [{ mode: 'required', allowedMethods: ['email', 'webauthn', 'totp'], gracePeriodDays: 1 }, 'Acme requires an authenticator app, a security key or an email code within 1 day'],
    [{ mode: 'required', allowedMethods: ['webauthn'], gracePeriodDays: 0 }, 'Acme requires a security key from your next sign-in'],
    [{ mode: 'optional', allowedMethods: ['totp'], gracePeriodDays: 7 }, 'Acme asks for a second factor if you set one up (optional)'],
    [{ mode: 'disabled', allowedMethods: [], gracePeriodDays: 7 }, 'Acme does not ask for a second factor'],
    [null, 'Acme does not ask for a second factor'],
  ] as const)('%j', (policy, words) => {
    expect(describePolicy('Acme', policy ? { ...policy, allowedMethods: [...policy.allowedMethods] } : null)).toBe(words)
  })
})
