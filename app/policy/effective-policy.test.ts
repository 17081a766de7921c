/**
 * "A policy only adds protection" (decision 054): a property over random organizations, policies and
 * factors, and the attacks it rules out as plain cases. The table of ordinary cases is in
 * tests/unit/effective-policy.test.ts.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { effectivePolicy, type MembershipPolicy, type Method, type PolicyDecision, type PolicyInput } from './effective-policy.ts'

const NOW = new Date('2026-11-20T12:00:00Z')
const DAY = 86_400_000
const day = (n: number) => new Date(NOW.getTime() + n * DAY)

/**
 * How much a decision asks, at one moment: 0 a password alone, 1 a second factor, 2 a second factor
 * and then enrollment only, 3 no way in; and which methods let someone in.
 */
type Entry = { level: 0 | 1 | 2 | 3; ways: Method[] }
function entry(d: PolicyDecision): Entry {
  const s = d.signIn
  if (s.kind === 'blocked') return { level: 3, ways: [] }
  if (s.kind === 'none') return { level: 0, ways: [] }
  const ways = s.kind === 'enroll_only' ? s.prove : s.methods
  if (!ways.length) return { level: 0, ways: [] }
  return { level: s.kind === 'enroll_only' ? 2 : 1, ways }
}

/** Every way the `after` decision is weaker than `before` at this moment (empty: not weaker). */
function weakenings(before: PolicyDecision, after: PolicyDecision, input: PolicyInput): string[] {
  const b = entry(before)
  const a = entry(after)
  const found: string[] = []
  if (a.level < b.level) found.push(`asks less: ${before.signIn.kind} (${b.level}) → ${after.signIn.kind} (${a.level})`)
  if (b.level >= 1 && a.level >= 1 && !b.ways.includes('email') && a.ways.includes('email')) found.push('email code offered where it was not')
  if (after.hasAllowedFactor && !before.hasAllowedFactor && before.mode === 'required') found.push('became compliant without a new factor')
  if (after.rememberDeviceDays > before.rememberDeviceDays) found.push('remembers devices longer')
  if (after.mode === 'disabled' && before.mode !== 'disabled') found.push('became disabled')
  // Proving the mailbox before a first enrollment is not a sign-in, so only a real second step counts here.
  if (input.user.platformRole !== 'none' && after.signIn.kind !== 'enroll_only' && a.ways.includes('email')) found.push('staff offered an email code')
  return found
}

const methodsArb = fc.subarray(['email', 'totp', 'webauthn'] as const, { minLength: 1 })
const orgArb = (id: string) =>
  fc.record({
    organizationId: fc.constant(id),
    organizationName: fc.constant(`Org ${id}`),
    joinedAt: fc.integer({ min: -60, max: 0 }).map(day),
    mode: fc.constantFrom('disabled', 'optional', 'required'),
    allowedMethods: methodsArb,
    gracePeriodDays: fc.integer({ min: 0, max: 30 }),
    onDeadline: fc.constantFrom('force_enrollment', 'block'),
    rememberDeviceDays: fc.integer({ min: 0, max: 30 }),
    requiredSince: fc.option(fc.integer({ min: -60, max: 0 }).map(day), { nil: null }),
  }) satisfies fc.Arbitrary<MembershipPolicy>

const scenarioArb = fc
  .record({
    kind: fc.constantFrom('human', 'service'),
    platformRole: fc.constantFrom('none', 'none', 'none', 'support'),
    enrolled: fc.subarray(['totp', 'webauthn', 'recovery']),
    count: fc.integer({ min: 1, max: 4 }),
  })
  .chain((base) =>
    fc.record({
      base: fc.constant(base),
      orgs: fc.tuple(...Array.from({ length: base.count }, (_, i) => orgArb(`o${i}`))),
      added: orgArb('new'),
      // Which organizations exempt the (service) account, the new one included.
      exempt: fc.subarray([...Array.from({ length: base.count }, (_, i) => `o${i}`), 'new']),
      extensions: fc.array(fc.record({ organizationId: fc.constantFrom(...Array.from({ length: base.count }, (_, i) => `o${i}`), 'new'), deadline: fc.integer({ min: -30, max: 60 }).map(day) }), { maxLength: 2 }),
    }),
  )

type Scenario = { base: { kind: 'human' | 'service'; platformRole: 'none' | 'support'; enrolled: string[] }; exempt: string[]; extensions: { organizationId: string; deadline: Date }[] }
const inputOf = (s: Scenario, memberships: MembershipPolicy[]): PolicyInput => ({
  user: { kind: s.base.kind, platformRole: s.base.platformRole },
  memberships,
  exemptions: s.exempt.map((organizationId) => ({ organizationId, expiresAt: null })),
  extensions: s.extensions,
  enrolled: s.base.enrolled,
  now: NOW,
})

describe('a policy only adds protection', () => {
  it('adding any organization with any policy never makes a member\'s sign-in requirement weaker', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        // At every moment, not just now: deadlines pass at different times.
        for (const days of [0, 1, 3, 8, 20, 45, 100]) {
          const at = { now: day(days) }
          const beforeInput = { ...inputOf(s, s.orgs), ...at }
          const found = weakenings(effectivePolicy(beforeInput), effectivePolicy({ ...inputOf(s, [...s.orgs, s.added]), ...at }), beforeInput)
          expect(found, `${days} days later`).toEqual([])
        }
      }),
      { numRuns: 2000 },
    )
  })

  it('the member\'s own app or key is asked wherever any organization is Optional or Required', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const input = inputOf({ ...s, exempt: [] }, s.orgs)
        const d = effectivePolicy(input)
        const own = s.base.enrolled.filter((m): m is 'totp' | 'webauthn' => m === 'totp' || m === 'webauthn')
        if (own.length && s.orgs.some((o) => o.mode !== 'disabled')) expect(entry(d).level).toBeGreaterThanOrEqual(1)
        if (s.orgs.every((o) => o.mode === 'disabled') && s.base.platformRole === 'none') expect(d.signIn.kind).toBe('none')
      }),
      { numRuns: 2000 },
    )
  })

  it('the email code is accepted only where every organization asking this member allows it, and never from staff', () => {
    fc.assert(
      fc.property(scenarioArb, (s) => {
        const d = effectivePolicy(inputOf({ ...s, exempt: [] }, s.orgs))
        const own = s.base.enrolled.some((m) => m === 'totp' || m === 'webauthn')
        // Optional organizations ask only a member who has an app or key.
        const asking = s.orgs.filter((o) => o.mode === 'required' || (own && o.mode === 'optional'))
        const mayEmail = s.base.platformRole === 'none' && asking.every((o) => o.allowedMethods.includes('email'))
        // Proving the mailbox before enrollment or before the grace prompt is not signing in with it.
        const signsInWithEmail = d.signIn.kind === 'second_factor' && d.signIn.methods.includes('email')
        if (signsInWithEmail) expect(mayEmail).toBe(true)
        if (d.signIn.kind === 'second_factor' && mayEmail) expect(d.signIn.methods).toContain('email')
      }),
      { numRuns: 2000 },
    )
  })
})

// The attacks on a member of Acme (Optional or Required, every method allowed) by a second organization
// in the same region, written as plain cases.
const acme = (over: Partial<MembershipPolicy> = {}): MembershipPolicy => ({
  organizationId: 'acme', organizationName: 'Acme', joinedAt: day(-100), mode: 'optional', allowedMethods: ['email', 'totp', 'webauthn'],
  gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14, requiredSince: null, ...over,
})
const foreign = (over: Partial<MembershipPolicy>): MembershipPolicy => acme({ organizationId: 'evil', organizationName: 'Evil', joinedAt: day(-1), ...over })
const decide = (memberships: MembershipPolicy[], enrolled: string[] = ['totp'], platformRole: 'none' | 'support' = 'none') =>
  effectivePolicy({ user: { kind: 'human', platformRole }, memberships, exemptions: [], extensions: [], enrolled, now: NOW })

describe('attacks by another organization of the member', () => {
  it.each([
    ['narrowing the methods to email (Optional): the app is still asked', [acme(), foreign({ allowedMethods: ['email'] })], { kind: 'second_factor', methods: ['totp', 'email'] }],
    ['narrowing the methods to keys (Required): the app is proven before the grace prompt, never skipped', [acme(), foreign({ mode: 'required', allowedMethods: ['webauthn'], requiredSince: day(-1) })], { kind: 'grace_prompt', methods: ['totp'] }],
    ['narrowing to keys past the deadline: the app is proven before enrollment, not the mailbox', [acme(), foreign({ mode: 'required', allowedMethods: ['webauthn'], requiredSince: day(-30), joinedAt: day(-30) })], { kind: 'enroll_only', prove: ['totp'] }],
    ['setting Disabled: the app is still asked', [acme(), foreign({ mode: 'disabled' })], { kind: 'second_factor', methods: ['totp', 'email'] }],
    ['allowing email where Acme does not: no email code', [acme({ mode: 'required', allowedMethods: ['totp'], requiredSince: day(-30) }), foreign({ mode: 'required', requiredSince: day(-1) })], { kind: 'second_factor', methods: ['totp'] }],
    ['a long grace period does not delay Acme\'s deadline', [acme({ mode: 'required', allowedMethods: ['webauthn'], requiredSince: day(-10), onDeadline: 'block' }), foreign({ mode: 'required', allowedMethods: ['totp'], gracePeriodDays: 90, requiredSince: day(-1) })], { kind: 'blocked' }],
  ] as const)('%s', (_name, memberships, expected) => {
    expect(decide([...memberships])).toMatchObject({ signIn: expected })
  })

  it('a longer remember-device period does not lengthen Acme\'s', () => {
    expect(decide([acme({ rememberDeviceDays: 1 }), foreign({ rememberDeviceDays: 30 })]).rememberDeviceDays).toBe(1)
  })

  it('staff never sign in with an email code, whatever every organization allows', () => {
    const d = decide([acme({ mode: 'required', requiredSince: day(-30) }), foreign({ mode: 'required', requiredSince: day(-1) })], ['totp'], 'support')
    expect(d.signIn).toEqual({ kind: 'second_factor', methods: ['totp'] })
  })
})
