import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Factors } from '#app/mfa/factors.server.ts'
import { effectivePolicy, type MembershipPolicy } from '#app/policy/effective-policy.ts'
import { idpTrustLowerings } from '#app/policy/lowering.ts'
import { decideNextStep } from '#app/sign-in/decide.ts'
import { DEFAULT_TRUSTED_AMR, idpMfaClaimed, idpMfaCounts } from './idp-mfa.ts'

const trust = { trustIdpMfa: true, idpMfaAmr: [...DEFAULT_TRUSTED_AMR], idpMfaAcr: ['urn:acme:mfa'] }

describe('the identity provider’s MFA claim', () => {
  it.each([
    [{ amr: ['pwd', 'otp'] }, true],
    [{ amr: ['hwk'] }, true],
    [{ amr: ['pwd'] }, false],
    [{ amr: 'otp' }, false],
    [{ acr: 'urn:acme:mfa' }, true],
    [{ acr: 'urn:acme:pwd', amr: ['pwd'] }, false],
    [{}, false],
  ])('%j → %s', (claims, expected) => {
    expect(idpMfaClaimed(trust, claims)).toBe(expected)
    expect(idpMfaCounts({ trust, platformRole: 'none', otherAskingOrganizations: 0, claims })).toBe(expected)
  })

  it('never counts when trust is off, for staff, or when another organization in the region asks for a factor', () => {
    fc.assert(
      fc.property(
        fc.record({ amr: fc.array(fc.constantFrom('pwd', 'otp', 'mfa', 'hwk', 'swk', 'sms')), acr: fc.option(fc.constantFrom('urn:acme:mfa', 'x')) }),
        fc.boolean(),
        fc.constantFrom('none', 'support', 'superadmin') as fc.Arbitrary<'none' | 'support' | 'superadmin'>,
        fc.nat(3),
        (claims, on, platformRole, others) => {
          const counts = idpMfaCounts({ trust: { ...trust, trustIdpMfa: on }, platformRole, otherAskingOrganizations: others, claims })
          if (!on || platformRole !== 'none' || others > 0) expect(counts).toBe(false)
          else expect(counts).toBe(idpMfaClaimed(trust, claims))
        },
      ),
    )
  })
})

describe('trusting the provider is a lowering', () => {
  const off = { trustIdpMfa: false, idpMfaAmr: [...DEFAULT_TRUSTED_AMR], idpMfaAcr: [] as string[] }
  it('turning it on, or accepting more values while on, lowers; turning it off or narrowing does not', () => {
    expect(idpTrustLowerings(off, { ...off, trustIdpMfa: true })).toHaveLength(1)
    expect(idpTrustLowerings({ ...off, trustIdpMfa: true }, { ...off, trustIdpMfa: true, idpMfaAcr: ['urn:x'] })).toEqual(['acr urn:x accepted as the provider’s MFA'])
    expect(idpTrustLowerings({ ...off, trustIdpMfa: true }, off)).toEqual([])
    expect(idpTrustLowerings({ ...off, trustIdpMfa: true }, { ...off, trustIdpMfa: true, idpMfaAmr: ['hwk'] })).toEqual([])
  })
})

describe('the sign-in decision with the provider’s MFA', () => {
  const now = new Date('2026-11-22T12:00:00Z')
  const DAY = 86_400_000
  const app: Factors = { totp: { confirmedAt: now, lastUsedAt: null }, keys: [], recoveryCodesLeft: 5 }
  const none: Factors = { totp: null, keys: [], recoveryCodesLeft: 0 }
  const org = (over: Partial<MembershipPolicy>): MembershipPolicy => ({
    organizationId: 'o1', organizationName: 'Acme', joinedAt: new Date(now.getTime() - 100 * DAY), mode: 'optional',
    allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14, requiredSince: null, contacts: [], ...over,
  })
  const decide = (factors: Factors, m: MembershipPolicy, idpMfa: boolean, platformRole: 'none' | 'support' = 'none', mfaResetAt: Date | null = null) => {
    const enrolled = factors.totp ? ['totp'] : []
    const policy = effectivePolicy({ user: { kind: 'human', platformRole }, memberships: [m], exemptions: [], extensions: [], enrolled, now })
    return decideNextStep({ user: { platformRole, preferredMethod: null, mfaResetAt }, factors, policy, idpMfa, now })
  }

  it('stands in for the member’s own factor, and for nothing else (reset, enrollment, block, staff)', () => {
    expect(decide(app, org({}), true)).toMatchObject({ kind: 'second_factor', passedBy: 'idp' })
    expect(decide(app, org({}), false)).not.toHaveProperty('passedBy')
    expect(decide(app, org({}), true, 'support')).not.toHaveProperty('passedBy', 'idp')
    expect(decide(app, org({}), true, 'none', now)).toMatchObject({ kind: 'second_factor', reason: 'reset' })
    expect(decide(app, org({}), true, 'none', now)).not.toHaveProperty('passedBy')
    const overdue = org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: new Date(now.getTime() - 30 * DAY) })
    expect(decide(none, overdue, true)).toMatchObject({ kind: 'blocked' })
  })

  it('never makes a decision weaker than “own factor asked” other than by passing it with idp', () => {
    fc.assert(
      fc.property(fc.constantFrom('disabled', 'optional', 'required') as fc.Arbitrary<'disabled' | 'optional' | 'required'>, fc.boolean(), (mode, hasApp) => {
        const m = org({ mode, requiredSince: mode === 'required' ? now : null })
        const f = hasApp ? app : none
        const without = decide(f, m, false)
        const withIdp = decide(f, m, true)
        if (without.kind === 'second_factor' && without.reason === 'factor') expect(withIdp).toEqual({ ...without, passedBy: 'idp' })
        else expect(withIdp).toEqual(without)
      }),
    )
  })
})
