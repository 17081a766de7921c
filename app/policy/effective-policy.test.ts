/**
 * The combined policy: a table of ordinary cases, then "a policy only adds protection" (decision
 * 054) as a property over random organizations, policies and factors, and the attacks it rules out
 * as plain cases.
 */
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { effectivePolicy, membershipDeadline, orgStatus, type MembershipPolicy, type Method, type PolicyDecision, type PolicyInput } from './effective-policy.ts'

const NOW = new Date('2026-11-20T12:00:00Z')
const DAY = 86_400_000
const day = (n: number) => new Date(NOW.getTime() + n * DAY)

const org = (over: Partial<MembershipPolicy> & { id?: string } = {}): MembershipPolicy => ({
  organizationId: over.id ?? 'a',
  organizationName: over.organizationName ?? `Org ${(over.id ?? 'a').toUpperCase()}`,
  joinedAt: day(-100),
  mode: 'optional',
  allowedMethods: ['email', 'totp', 'webauthn'],
  gracePeriodDays: 7,
  onDeadline: 'force_enrollment',
  rememberDeviceDays: 14,
  requiredSince: null,
  contacts: [`owner@${over.id ?? 'a'}.test`],
  ...over,
})

const input = (over: Partial<PolicyInput> = {}): PolicyInput => ({
  user: { kind: 'human', platformRole: 'none' },
  memberships: [],
  exemptions: [],
  extensions: [],
  enrolled: [],
  now: NOW,
  ...over,
})

type Case = { name: string; input: PolicyInput; expect: Partial<PolicyDecision> & { signInKind?: string; methods?: string[] } }

const REQ_APP_ONLY = { mode: 'required' as const, allowedMethods: ['totp', 'webauthn'], requiredSince: day(-2) }

const cases: Case[] = [
  // Modes
  { name: 'no membership in the region: optional, nothing asked', input: input(), expect: { mode: 'optional', status: 'compliant', signInKind: 'none' } },
  { name: 'no membership, member with an app: asked for it', input: input({ enrolled: ['totp'] }), expect: { mode: 'optional', signInKind: 'second_factor', methods: ['totp', 'email'] } },
  { name: 'disabled: nothing asked even with an app enrolled', input: input({ memberships: [org({ mode: 'disabled' })], enrolled: ['totp'] }), expect: { mode: 'disabled', status: 'compliant', signInKind: 'none' } },
  { name: 'optional without factor: password only', input: input({ memberships: [org()] }), expect: { mode: 'optional', signInKind: 'none' } },
  { name: 'optional with a key: asked, key + email offered', input: input({ memberships: [org()], enrolled: ['webauthn'] }), expect: { signInKind: 'second_factor', methods: ['webauthn', 'email'] } },
  { name: 'optional with an app the org does not list: still asked for it (own factors are always asked)', input: input({ memberships: [org({ allowedMethods: ['email', 'webauthn'] })], enrolled: ['totp'] }), expect: { signInKind: 'second_factor', methods: ['totp', 'email'] } },
  { name: 'required with email allowed: compliant, asked for email code', input: input({ memberships: [org({ mode: 'required', requiredSince: day(-30) })] }), expect: { status: 'compliant', signInKind: 'second_factor', methods: ['email'] } },
  { name: 'required app/key only, no factor, in grace', input: input({ memberships: [org(REQ_APP_ONLY)] }), expect: { status: 'in_grace', deadline: day(5), deadlineAction: 'force_enrollment', signInKind: 'grace_prompt' } },
  { name: 'required app/key only, app enrolled: compliant', input: input({ memberships: [org(REQ_APP_ONLY)], enrolled: ['totp'] }), expect: { status: 'compliant', signInKind: 'second_factor', methods: ['totp'] } },
  { name: 'recovery codes never count', input: input({ memberships: [org(REQ_APP_ONLY)], enrolled: ['recovery'] }), expect: { status: 'in_grace', hasAllowedFactor: false } },
  { name: 'past deadline, force enrollment: enroll only, prove email first', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-10) })] }), expect: { status: 'overdue', signInKind: 'enroll_only' } },
  { name: 'past deadline, block: blocked, says whom to contact', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-10), onDeadline: 'block' })] }), expect: { status: 'overdue', deadlineAction: 'block', signInKind: 'blocked' } },
  { name: 'deadline exactly now is overdue', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-7) })] }), expect: { status: 'overdue' } },
  { name: 'late joiner: deadline from joined_at', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-60), joinedAt: day(-1) })] }), expect: { status: 'in_grace', deadline: day(6) } },
  { name: 'grace 0 days: overdue at once', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-0.001), gracePeriodDays: 0 })] }), expect: { status: 'overdue' } },
  { name: 'factor not allowed does not satisfy (app only, key enrolled)', input: input({ memberships: [org({ ...REQ_APP_ONLY, allowedMethods: ['totp'] })], enrolled: ['webauthn'] }), expect: { status: 'in_grace', hasAllowedFactor: false } },

  // Several organizations
  { name: 'strictest mode wins: optional + required', input: input({ memberships: [org({ id: 'a' }), org({ id: 'b', ...REQ_APP_ONLY })] }), expect: { mode: 'required', status: 'in_grace', pendingOrganizations: ['Org B'] } },
  { name: 'disabled + optional = optional', input: input({ memberships: [org({ id: 'a', mode: 'disabled' }), org({ id: 'b' })], enrolled: ['totp'] }), expect: { mode: 'optional', signInKind: 'second_factor' } },
  { name: 'an Optional org asks nothing of a member without an app or key, so its list does not drop email', input: input({ memberships: [org({ id: 'a', mode: 'required', requiredSince: day(-1) }), org({ id: 'b', allowedMethods: ['totp', 'webauthn'] })] }), expect: { allowedMethods: ['email', 'totp', 'webauthn'], status: 'compliant', methods: ['email'] } },
  { name: 'email dropped by an Optional org once it asks (the member has an app)', input: input({ memberships: [org({ id: 'a', mode: 'required', requiredSince: day(-1) }), org({ id: 'b', allowedMethods: ['totp', 'webauthn'] })], enrolled: ['totp'] }), expect: { status: 'compliant', methods: ['totp'] } },
  { name: 'email dropped by a Required org: the member proves the mailbox before the grace prompt, not a password alone', input: input({ memberships: [org({ id: 'a', mode: 'required', requiredSince: day(-30) }), org({ id: 'b', ...REQ_APP_ONLY })] }), expect: { allowedMethods: ['totp', 'webauthn'], status: 'in_grace', signInKind: 'grace_prompt', methods: ['email'], pendingOrganizations: ['Org B'] } },
  { name: 'an optional org\'s narrower list does not change what a Required org accepts', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY }), org({ id: 'b', allowedMethods: ['webauthn'] })], enrolled: ['totp'] }), expect: { allowedMethods: ['totp', 'webauthn'], hasAllowedFactor: true, signInKind: 'second_factor', methods: ['totp'] } },
  { name: 'two Required orgs: only a factor both allow is accepted', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY }), org({ id: 'b', ...REQ_APP_ONLY, allowedMethods: ['webauthn'] })], enrolled: ['totp', 'webauthn'] }), expect: { status: 'compliant', methods: ['webauthn'] } },
  { name: 'disjoint Required sets: nothing is accepted, non-compliant, own factor still asked in grace', input: input({ memberships: [org({ id: 'a', mode: 'required', allowedMethods: ['totp'], requiredSince: day(-1) }), org({ id: 'b', mode: 'required', allowedMethods: ['webauthn'], requiredSince: day(-3) })], enrolled: ['webauthn'] }), expect: { allowedMethods: ['totp', 'webauthn'], status: 'in_grace', hasAllowedFactor: false, deadline: day(6), pendingOrganizations: ['Org A'], signInKind: 'grace_prompt', methods: ['webauthn'] } },
  { name: 'disabled org does not narrow the allowed methods', input: input({ memberships: [org({ id: 'a', mode: 'disabled', allowedMethods: ['webauthn'] }), org({ id: 'b', mode: 'required', requiredSince: day(-1) })] }), expect: { allowedMethods: ['email', 'totp', 'webauthn'], status: 'compliant' } },
  { name: 'earliest deadline applies', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY, requiredSince: day(-1) }), org({ id: 'b', ...REQ_APP_ONLY, requiredSince: day(-5) })] }), expect: { deadline: day(2) } },
  { name: 'shortest remember-device period applies', input: input({ memberships: [org({ id: 'a', rememberDeviceDays: 14 }), org({ id: 'b', rememberDeviceDays: 3 })] }), expect: { rememberDeviceDays: 3 } },
  { name: 'block beats force_enrollment when both are past', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY, requiredSince: day(-10) }), org({ id: 'b', ...REQ_APP_ONLY, requiredSince: day(-9), onDeadline: 'block' })] }), expect: { signInKind: 'blocked', deadlineAction: 'block' } },
  { name: 'a block deadline not yet reached does not block', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY, requiredSince: day(-10) }), org({ id: 'b', ...REQ_APP_ONLY, requiredSince: day(-1), onDeadline: 'block' })] }), expect: { signInKind: 'enroll_only' } },

  // Exemptions
  { name: 'exempt service account: not asked', input: input({ user: { kind: 'service', platformRole: 'none' }, memberships: [org(REQ_APP_ONLY)], exemptions: [{ organizationId: 'a', expiresAt: null }] }), expect: { status: 'exempt', signInKind: 'none' } },
  { name: 'lapsed exemption: asked again', input: input({ user: { kind: 'service', platformRole: 'none' }, memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30) })], exemptions: [{ organizationId: 'a', expiresAt: day(-1) }] }), expect: { status: 'overdue' } },
  { name: 'exemption still running', input: input({ user: { kind: 'service', platformRole: 'none' }, memberships: [org(REQ_APP_ONLY)], exemptions: [{ organizationId: 'a', expiresAt: day(1) }] }), expect: { status: 'exempt' } },
  { name: 'exemption of a person has no effect', input: input({ memberships: [org(REQ_APP_ONLY)], exemptions: [{ organizationId: 'a', expiresAt: null }] }), expect: { status: 'in_grace' } },
  { name: 'exempt by one org, still required by another', input: input({ user: { kind: 'service', platformRole: 'none' }, memberships: [org({ id: 'a', ...REQ_APP_ONLY }), org({ id: 'b', ...REQ_APP_ONLY, requiredSince: day(-20), onDeadline: 'block' })], exemptions: [{ organizationId: 'a', expiresAt: null }] }), expect: { status: 'overdue', signInKind: 'blocked', pendingOrganizations: ['Org B'] } },

  // Extensions
  { name: 'extension moves an overdue member back into grace', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30) })], extensions: [{ organizationId: 'a', deadline: day(4) }] }), expect: { status: 'in_grace', deadline: day(4) } },
  { name: 'lapsed extension: overdue', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30) })], extensions: [{ organizationId: 'a', deadline: day(-1) }] }), expect: { status: 'overdue', deadline: day(-1) } },
  { name: 'an extension earlier than the computed deadline does not shorten it', input: input({ memberships: [org(REQ_APP_ONLY)], extensions: [{ organizationId: 'a', deadline: day(1) }] }), expect: { status: 'in_grace', deadline: day(5) } },
  { name: 'a stale lapsed extension does not make a fresh grace period overdue', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-1) })], extensions: [{ organizationId: 'a', deadline: day(-20) }] }), expect: { status: 'in_grace', deadline: day(6), signInKind: 'grace_prompt' } },
  { name: 'a stale extension does not shorten a late joiner\'s grace', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-60), joinedAt: day(-1) })], extensions: [{ organizationId: 'a', deadline: day(2) }] }), expect: { status: 'in_grace', deadline: day(6) } },
  { name: 'earliest deadline across orgs uses each org\'s later-of rule', input: input({ memberships: [org({ id: 'a', ...REQ_APP_ONLY, requiredSince: day(-1) }), org({ id: 'b', ...REQ_APP_ONLY, requiredSince: day(-3) })], extensions: [{ organizationId: 'b', deadline: day(9) }, { organizationId: 'a', deadline: day(-5) }] }), expect: { deadline: day(6), pendingOrganizations: ['Org A', 'Org B'] } },
  { name: 'extension of another org does not apply', input: input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30) })], extensions: [{ organizationId: 'z', deadline: day(4) }] }), expect: { status: 'overdue' } },

  // Staff
  { name: 'staff without app or key: enroll only, even with no organization', input: input({ user: { kind: 'human', platformRole: 'support' } }), expect: { mode: 'required', signInKind: 'enroll_only', status: 'overdue' } },
  { name: 'staff in a disabled org still needs an app or key', input: input({ user: { kind: 'human', platformRole: 'superadmin' }, memberships: [org({ mode: 'disabled' })], enrolled: ['webauthn'] }), expect: { signInKind: 'second_factor', methods: ['webauthn'], allowedMethods: ['totp', 'webauthn'] } },
  { name: 'staff: email never offered', input: input({ user: { kind: 'human', platformRole: 'support' }, memberships: [org({ mode: 'required', requiredSince: day(-1) })], enrolled: ['totp'] }), expect: { methods: ['totp'] } },
]

describe('effectivePolicy', () => {
  it.each(cases)('$name', ({ input: i, expect: e }) => {
    const d = effectivePolicy(i)
    const { signInKind, methods, ...fields } = e
    for (const [k, v] of Object.entries(fields)) expect(d[k as keyof PolicyDecision], k).toEqual(v)
    if (signInKind) expect(d.signIn.kind).toBe(signInKind)
    if (methods) expect('methods' in d.signIn ? d.signIn.methods : null).toEqual(methods)
  })

  it('a blocked member is told whom to contact', () => {
    const d = effectivePolicy(input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30), onDeadline: 'block', contacts: ['owner@acme.test'] })] }))
    expect(d.signIn).toEqual({ kind: 'blocked', organizations: ['Org A'], contacts: ['owner@acme.test'] })
  })

  it('the grace prompt names the deadline and the organizations', () => {
    const d = effectivePolicy(input({ memberships: [org({ ...REQ_APP_ONLY, organizationName: 'Acme' })] }))
    expect(d.signIn).toEqual({ kind: 'grace_prompt', deadline: day(5), organizations: ['Acme'], methods: [] })
  })

  it('overdue without email allowed: enrolment proves the mailbox first and offers app or key', () => {
    const d = effectivePolicy(input({ memberships: [org({ ...REQ_APP_ONLY, requiredSince: day(-30) })] }))
    expect(d.signIn).toEqual({ kind: 'enroll_only', allowedMethods: ['totp', 'webauthn'], prove: ['email'] })
  })

  it('overdue with an own factor the policy does not accept: that factor is proven, not the mailbox', () => {
    const d = effectivePolicy(input({ memberships: [org({ ...REQ_APP_ONLY, allowedMethods: ['webauthn'], requiredSince: day(-30) })], enrolled: ['totp'] }))
    expect(d.signIn).toEqual({ kind: 'enroll_only', allowedMethods: ['webauthn'], prove: ['totp'] })
  })
})

describe('orgStatus (one organization alone)', () => {
  const policy = { mode: 'required' as const, allowedMethods: ['totp'], requiredSince: day(-3), joinedAt: day(-100), gracePeriodDays: 7 }
  it.each([
    ['in grace', { kind: 'human' as const, policy, enrolled: [], now: NOW }, 'in_grace'],
    ['compliant', { kind: 'human' as const, policy, enrolled: ['totp'], now: NOW }, 'compliant'],
    ['overdue', { kind: 'human' as const, policy: { ...policy, requiredSince: day(-8) }, enrolled: [], now: NOW }, 'overdue'],
    ['exempt', { kind: 'service' as const, policy, exemption: { expiresAt: null }, enrolled: [], now: NOW }, 'exempt'],
    ['optional is compliant', { kind: 'human' as const, policy: { ...policy, mode: 'optional' as const }, enrolled: [], now: NOW }, 'compliant'],
  ])('%s', (_n, i, status) => {
    expect(orgStatus(i).status).toBe(status)
  })
})

describe('membershipDeadline: the later of the computed deadline and the extension', () => {
  const p = { mode: 'required' as const, requiredSince: day(-2), joinedAt: day(-100), gracePeriodDays: 7 }
  it.each([
    ['no extension: computed', undefined, day(5)],
    ['null extension: computed', null, day(5)],
    ['later extension wins', day(12), day(12)],
    ['earlier extension is ignored', day(1), day(5)],
    ['lapsed extension is ignored', day(-30), day(5)],
    ['equal extension: the same instant', day(5), day(5)],
  ])('%s', (_n, extension, expected) => {
    expect(membershipDeadline(p, extension)).toEqual(expected)
  })
  it('no deadline unless required, whatever the extension', () => {
    expect(membershipDeadline({ ...p, mode: 'optional' }, day(12))).toBeNull()
    expect(membershipDeadline({ ...p, mode: 'disabled' }, day(12))).toBeNull()
  })
  it('orgStatus follows the same rule', () => {
    const policy = { ...p, allowedMethods: ['totp'] }
    expect(orgStatus({ kind: 'human', policy, extension: day(-1), enrolled: [], now: NOW })).toEqual({ status: 'in_grace', deadline: day(5) })
    expect(orgStatus({ kind: 'human', policy: { ...policy, requiredSince: day(-30) }, extension: day(3), enrolled: [], now: NOW })).toEqual({ status: 'in_grace', deadline: day(3) })
    expect(orgStatus({ kind: 'human', policy: { ...policy, requiredSince: day(-30) }, extension: day(-1), enrolled: [], now: NOW })).toEqual({ status: 'overdue', deadline: day(-1) })
  })
})

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
