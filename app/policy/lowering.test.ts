import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { exemptionLowers, extensionLowers, policyLowerings, retentionLowers, type PolicyValues } from './lowering.ts'

const base: PolicyValues = { mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'block', rememberDeviceDays: 14 }

describe('policyLowerings: each kind of lowering, as plain cases', () => {
  const cases: [string, Partial<PolicyValues>, string, string][] = [
    ['required → optional', { mode: 'optional' }, 'mode', 'Mode Required → Optional'],
    ['required → disabled', { mode: 'disabled' }, 'mode', 'Mode Required → Disabled'],
    ['email added', { allowedMethods: ['email', 'totp', 'webauthn'] }, 'allowedMethods', 'Email code added to the allowed methods'],
    ['a longer grace period', { gracePeriodDays: 30 }, 'gracePeriodDays', 'Grace period 7 → 30 days'],
    ['block → force enrollment', { onDeadline: 'force_enrollment' }, 'onDeadline', 'At the deadline: block sign-in → force enrollment'],
    ['more remember-device days', { rememberDeviceDays: 30 }, 'rememberDeviceDays', 'Remember device 14 → 30 days'],
  ]
  it.each(cases)('%s is flagged', (_name, change, field, description) => {
    expect(policyLowerings(base, { ...base, ...change })).toEqual([{ field, description }])
  })

  it('raises are not lowerings', () => {
    const low: PolicyValues = { mode: 'disabled', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 30, onDeadline: 'force_enrollment', rememberDeviceDays: 30 }
    expect(policyLowerings(low, base)).toEqual([])
    expect(policyLowerings(base, base)).toEqual([])
  })

  it('a method swapped for another is still a method added', () => {
    expect(policyLowerings(base, { ...base, allowedMethods: ['email', 'webauthn'] }).map((l) => l.field)).toEqual(['allowedMethods'])
  })

  it('lists every lowered field of one change', () => {
    const all = policyLowerings(base, { mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 8, onDeadline: 'force_enrollment', rememberDeviceDays: 15 })
    expect(all.map((l) => l.field)).toEqual(['mode', 'allowedMethods', 'gracePeriodDays', 'onDeadline', 'rememberDeviceDays'])
  })
})

describe('the other lowerings', () => {
  const now = new Date('2026-11-30T12:00:00Z')
  const later = new Date('2027-01-31T00:00:00Z')
  const sooner = new Date('2026-12-15T00:00:00Z')
  it('an exemption added or lengthened', () => {
    expect(exemptionLowers(null, { expiresAt: later }, now)).toBe(true)
    expect(exemptionLowers({ expiresAt: sooner }, { expiresAt: later }, now)).toBe(true)
    expect(exemptionLowers({ expiresAt: sooner }, { expiresAt: null }, now)).toBe(true)
    // A lapsed exemption exempts nobody: renewing it is adding one.
    expect(exemptionLowers({ expiresAt: new Date('2026-11-01T00:00:00Z') }, { expiresAt: sooner }, now)).toBe(true)
  })
  it('an exemption shortened or kept is not', () => {
    expect(exemptionLowers({ expiresAt: later }, { expiresAt: sooner }, now)).toBe(false)
    expect(exemptionLowers({ expiresAt: later }, { expiresAt: later }, now)).toBe(false)
    expect(exemptionLowers({ expiresAt: null }, { expiresAt: null }, now)).toBe(false)
    expect(exemptionLowers({ expiresAt: null }, { expiresAt: later }, now)).toBe(false)
  })
  it('a deadline extended', () => {
    expect(extensionLowers(sooner, later)).toBe(true)
    expect(extensionLowers(null, later)).toBe(true)
    expect(extensionLowers(later, sooner)).toBe(false)
  })
  it('audit retention shortened', () => {
    expect(retentionLowers(2557, 365)).toBe(true)
    expect(retentionLowers(365, 2557)).toBe(false)
    expect(retentionLowers(365, 365)).toBe(false)
  })
})

const METHODS = ['email', 'totp', 'webauthn'] as const
const policy = fc.record({
  mode: fc.constantFrom('disabled' as const, 'optional' as const, 'required' as const),
  allowedMethods: fc.subarray([...METHODS], { minLength: 1 }),
  gracePeriodDays: fc.integer({ min: 0, max: 90 }),
  onDeadline: fc.constantFrom('force_enrollment' as const, 'block' as const),
  rememberDeviceDays: fc.integer({ min: 0, max: 30 }),
})
const RANK = { disabled: 0, optional: 1, required: 2 }

/** The fields of `after` that are at least as strict as in `before`, judged independently of policyLowerings. */
const notWeaker = (b: PolicyValues, a: PolicyValues) => ({
  mode: RANK[a.mode] >= RANK[b.mode],
  allowedMethods: a.allowedMethods.every((m) => b.allowedMethods.includes(m)),
  gracePeriodDays: a.gracePeriodDays <= b.gracePeriodDays,
  onDeadline: !(b.onDeadline === 'block' && a.onDeadline === 'force_enrollment'),
  rememberDeviceDays: a.rememberDeviceDays <= b.rememberDeviceDays,
})

describe('policyLowerings: properties', () => {
  it('a change with no lowered field never needs step-up; every lowered field is flagged', () => {
    fc.assert(
      fc.property(policy, policy, (before, after) => {
        const flagged = new Set(policyLowerings(before, after).map((l) => l.field))
        for (const [field, ok] of Object.entries(notWeaker(before, after))) expect(flagged.has(field as keyof PolicyValues)).toBe(!ok)
      }),
    )
  })

  it('each single lowering applied to any policy is flagged, on that field alone', () => {
    const lowerOne = fc.constantFrom<((p: PolicyValues) => PolicyValues | null)[]>(
      (p) => (p.mode === 'disabled' ? null : { ...p, mode: p.mode === 'required' ? 'optional' : 'disabled' }),
      (p) => {
        const missing = METHODS.find((m) => !p.allowedMethods.includes(m))
        return missing ? { ...p, allowedMethods: [...p.allowedMethods, missing] } : null
      },
      (p) => (p.gracePeriodDays < 90 ? { ...p, gracePeriodDays: p.gracePeriodDays + 1 } : null),
      (p) => (p.onDeadline === 'block' ? { ...p, onDeadline: 'force_enrollment' } : null),
      (p) => (p.rememberDeviceDays < 30 ? { ...p, rememberDeviceDays: p.rememberDeviceDays + 1 } : null),
    )
    fc.assert(
      fc.property(policy, lowerOne, (before, lower) => {
        const after = lower(before)
        fc.pre(after !== null)
        expect(policyLowerings(before, after!)).toHaveLength(1)
      }),
    )
  })

  it('any raise built field by field (stricter or equal everywhere) lowers nothing', () => {
    const raise = (p: PolicyValues) =>
      fc.record({
        mode: fc.constantFrom(...(['disabled', 'optional', 'required'] as const).filter((m) => RANK[m] >= RANK[p.mode])),
        allowedMethods: fc.subarray([...p.allowedMethods], { minLength: 1 }),
        gracePeriodDays: fc.integer({ min: 0, max: p.gracePeriodDays }),
        onDeadline: p.onDeadline === 'block' ? fc.constant('block' as const) : fc.constantFrom('force_enrollment' as const, 'block' as const),
        rememberDeviceDays: fc.integer({ min: 0, max: p.rememberDeviceDays }),
      })
    fc.assert(
      fc.property(policy.chain((before) => raise(before).map((after) => [before, after] as const)), ([before, after]) => {
        expect(policyLowerings(before, after)).toEqual([])
      }),
    )
  })
})
