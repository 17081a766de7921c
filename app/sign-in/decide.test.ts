import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Factors } from '#app/mfa/factors.server.ts'
import { effectivePolicy, type MembershipPolicy } from '#app/policy/effective-policy.ts'
import { blockedMessage, gracePromptFrom, passwordSessionVerdict } from '#app/policy/sign-in-step.ts'
import { decideNextStep, decidePasskey, methodAllowed, PASSKEY_NOT_ALLOWED, type SignInUser, type TrustedDevice } from './decide.ts'

const none: Factors = { totp: null, keys: [], recoveryCodesLeft: 0 }
const app: Factors = { totp: { confirmedAt: new Date(), lastUsedAt: null }, keys: [], recoveryCodesLeft: 10 }
const key: Factors = { totp: null, keys: [{ id: 'k', label: 'YubiKey', createdAt: new Date(), lastUsedAt: null }], recoveryCodesLeft: 0 }
const both: Factors = { ...app, keys: key.keys }
const member = { platformRole: 'none' as const, preferredMethod: null, mfaResetAt: null }
const staff = { ...member, platformRole: 'support' as const }

const now = new Date('2026-11-22T12:00:00Z')
const DAY = 86_400_000
const org = (over: Partial<MembershipPolicy> = {}): MembershipPolicy => ({
  organizationId: 'o1', organizationName: 'Acme', joinedAt: new Date(now.getTime() - 100 * DAY), mode: 'optional',
  allowedMethods: ['email', 'totp', 'webauthn'], gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14,
  requiredSince: null, contacts: ['owner@acme.test'], ...over,
})

/** The decision with the member's real effective policy (no membership: optional). */
function policyOf(user: SignInUser, factors: Factors, memberships: MembershipPolicy[] = []) {
  const enrolled = [...(factors.totp ? ['totp'] : []), ...(factors.keys.length ? ['webauthn'] : [])]
  return effectivePolicy({ user: { kind: 'human', platformRole: user.platformRole }, memberships, exemptions: [], extensions: [], enrolled, now })
}

function decide(user: SignInUser, factors: Factors, memberships: MembershipPolicy[] = [], extra: { trustedDevice?: TrustedDevice; proof?: 'password_and_mailbox' } = {}) {
  return decideNextStep({ user, factors, policy: policyOf(user, factors, memberships), now, ...extra })
}

describe('decideNextStep with organization policy', () => {
  it.each([
    ['required with email allowed: a member with no app or key is asked for an email code', member, none, [org({ mode: 'required', requiredSince: now })], { kind: 'second_factor', methods: ['email'], reason: 'factor' }],
    ['required without email, in grace: password then the grace prompt', member, none, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: now })], { kind: 'grace_prompt' }],
    ['required without email, overdue, force enrollment: prove the mailbox, then enrollment only', member, none, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'second_factor', methods: ['email'], reason: 'prove_email', enrollAfter: true }],
    ['required without email, overdue, block: refused with whom to contact', member, none, [org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'blocked' }],
    ['a factor the policy does not allow does not count, but is still asked before the grace prompt', member, key, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: now })], { kind: 'second_factor', methods: ['webauthn'], graceAfter: true, enrollAfter: false }],
    ['overdue with an own factor the policy does not accept: prove it, then enrollment only', member, key, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'second_factor', methods: ['webauthn'], reason: 'factor', enrollAfter: true }],
    ['disabled: no second factor even with an app', member, app, [org({ mode: 'disabled' })], { kind: 'none' }],
    ['remember-device days come from the policy', member, app, [org({ rememberDeviceDays: 3 })], { kind: 'second_factor', rememberDays: 3 }],
    ['staff never remember devices', staff, app, [], { kind: 'second_factor', rememberDays: 0 }],
    // Decision 071: backup codes of a member whose only factor is email stand in for the email code.
    ['email only, with backup codes: the codes are offered beside the email code', member, { ...none, recoveryCodesLeft: 10 }, [org({ mode: 'required', requiredSince: now })], { kind: 'second_factor', methods: ['email', 'recovery_code'], preferred: 'email' }],
    ['email only, no codes left: the email code alone', member, none, [org({ mode: 'required', requiredSince: now })], { kind: 'second_factor', methods: ['email'] }],
    ['email not allowed: backup codes of an email-only member are not offered (mailbox proof only)', member, { ...none, recoveryCodesLeft: 10 }, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'second_factor', methods: ['email'], reason: 'prove_email' }],
  ])('%s', (_name, user, factors, memberships, expected) => {
    expect(decide(user, factors, memberships)).toMatchObject(expected)
  })

  it('the blocked message names the organization and whom to contact', () => {
    const decision = decide(member, none, [org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: new Date(now.getTime() - 30 * DAY) })])
    expect(decision.kind === 'blocked' && decision.message).toMatch(/Acme.*owner@acme\.test/)
  })
})

describe('decideNextStep', () => {
  it.each([
    ['member without a factor signs in with the password', member, none, { kind: 'none' }],
    ['member with an app owes a second factor', member, app, { kind: 'second_factor', methods: ['totp', 'email', 'recovery_code'], preferred: 'totp' }],
    ['member with a key only (codes used up) gets key and email', member, key, { kind: 'second_factor', methods: ['webauthn', 'email'], preferred: 'webauthn' }],
    ['preferred method is honoured', { ...member, preferredMethod: 'webauthn' as const }, both, { kind: 'second_factor', preferred: 'webauthn' }],
    ['preferred email is honoured where email is allowed', { ...member, preferredMethod: 'email' as const }, app, { kind: 'second_factor', preferred: 'email' }],
    ['staff without app or key prove the mailbox, then must enrol', staff, none, { kind: 'second_factor', methods: ['email'], enrollAfter: true }],
    ['staff with an app owes a second factor', staff, app, { kind: 'second_factor' }],
    ['after a reset, an email code is owed even with no factor', { ...member, mfaResetAt: new Date() }, none, { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: false }],
    ['staff after a reset: email code, then enrollment', { ...staff, mfaResetAt: new Date() }, none, { kind: 'second_factor', methods: ['email'], enrollAfter: true }],
  ])('%s', (_name, user, factors, expected) => {
    expect(decide(user, factors)).toMatchObject(expected)
  })
})

describe('decideNextStep after a reset, with organization policy', () => {
  const reset = { ...member, mfaResetAt: new Date(now.getTime() - 3600_000) }
  const staffReset = { ...staff, mfaResetAt: reset.mfaResetAt }
  const grace = org({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: now })
  const overdue = org({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: new Date(now.getTime() - 30 * DAY) })
  it.each([
    ['disabled wins over the reset rule: nothing asked', reset, none, [org({ mode: 'disabled' })], { kind: 'none' }],
    ['disabled wins over the reset rule even with an app enrolled since', reset, app, [org({ mode: 'disabled' })], { kind: 'none' }],
    ['disabled + optional is optional: the reset email code is owed', reset, none, [org({ mode: 'disabled' }), org({ organizationId: 'o2', organizationName: 'Beta' })], { kind: 'second_factor', methods: ['email'], reason: 'reset' }],
    ['no membership (optional): the reset email code is owed', reset, none, [], { kind: 'second_factor', methods: ['email'], reason: 'reset', graceAfter: false }],
    ['staff are never under disabled: email code, then enrollment', staffReset, none, [org({ mode: 'disabled' })], { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: true }],
    ['required with email allowed: the email code, no grace prompt after', reset, none, [org({ mode: 'required', requiredSince: now })], { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: false, graceAfter: false }],
    ['required in grace without an allowed factor: the email code, then the grace prompt', reset, none, [grace], { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: false, graceAfter: true }],
    ['required and overdue (force enrollment): the email code, then enrollment only', reset, none, [overdue], { kind: 'second_factor', methods: ['email'], reason: 'reset', enrollAfter: true, graceAfter: false }],
    ['required and overdue (block): still refused', reset, none, [org({ ...overdue, onDeadline: 'block' })], { kind: 'blocked' }],
  ])('%s', (_name, user, factors, memberships, expected) => {
    expect(decide(user, factors, memberships)).toMatchObject(expected)
  })

  it('a preferred method the policy does not offer falls back to the strong one', () => {
    const decision = decide({ ...member, preferredMethod: 'email' }, app, [org({ mode: 'required', allowedMethods: ['totp'] })])
    expect(decision).toMatchObject({ kind: 'second_factor', preferred: 'totp' })
    expect(decision.kind === 'second_factor' && decision.methods).not.toContain('email')
  })

  it('re-checks methods: a method not offered is refused', () => {
    const decision = decide(member, key)
    expect(methodAllowed(decision, 'webauthn')).toBe(true)
    expect(methodAllowed(decision, 'totp')).toBe(false)
    expect(methodAllowed(decision, 'recovery_code')).toBe(false)
    expect(methodAllowed(decide(member, none), 'email')).toBe(false)
  })
})

describe('passwordSessionVerdict: what a live password-level session becomes (decision 026)', () => {
  const overdue = new Date(now.getTime() - 30 * DAY)
  it.each([
    ['optional, no factor: continues', member, none, [org()], { kind: 'continue' }],
    ['in grace: continues', member, none, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: now })], { kind: 'continue' }],
    ['overdue, force enrollment: enrollment only', member, none, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: overdue })], { kind: 'enroll_only' }],
    ['overdue, block: blocked, with whom to contact', member, none, [org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: overdue })], { kind: 'blocked', message: expect.stringContaining('owner@acme.test') }],
    ['now owes a factor they have (enrolled meanwhile): continues', member, app, [org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: overdue })], { kind: 'continue' }],
    ['required with email allowed: continues', member, none, [org({ mode: 'required', requiredSince: overdue })], { kind: 'continue' }],
    ['after a reset, held to enrollment: enrollment only', { ...member, mfaResetAt: now }, none, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: overdue })], { kind: 'enroll_only' }],
    ['staff without an app or key: enrollment only', staff, none, [], { kind: 'enroll_only' }],
  ])('%s', (_name, user, factors, memberships, expected) => {
    expect(passwordSessionVerdict(policyOf(user, factors, memberships))).toEqual(expected)
  })
})

const NOW = new Date('2026-11-20T12:00:00Z')
const requiredOrg = (over: Partial<MembershipPolicy>): MembershipPolicy => ({
  organizationId: 'a', organizationName: 'Acme', joinedAt: new Date('2025-01-01T00:00:00Z'), mode: 'required', allowedMethods: ['totp', 'webauthn'],
  gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14, requiredSince: new Date('2026-11-18T12:00:00Z'), contacts: ['owner@acme.test'], ...over,
})
const policyWith = (over: Partial<MembershipPolicy>) => effectivePolicy({ user: { kind: 'human', platformRole: 'none' }, memberships: [requiredOrg(over)], exemptions: [], extensions: [], enrolled: [], now: NOW })

describe('grace prompt and blocked message', () => {
  it('names the deadline, the organization and the days left', () => {
    expect(gracePromptFrom(policyWith({}), NOW)).toEqual({ deadline: '2026-11-25T12:00:00.000Z', organizations: ['Acme'], allowedMethods: ['totp', 'webauthn'], daysLeft: 5 })
    expect(blockedMessage(policyWith({}))).toBeNull()
  })
  it('says whom to contact when blocked', () => {
    const d = policyWith({ requiredSince: new Date('2026-10-01T00:00:00Z'), onDeadline: 'block' })
    expect(gracePromptFrom(d, NOW)).toBeNull()
    expect(blockedMessage(d)).toContain('Contact owner@acme.test')
    expect(blockedMessage(d)).toContain('Acme requires two-factor authentication')
  })
})

describe('decideNextStep: what stands in for the second factor', () => {
  const enabled = { ...member, mfaEnabledAt: new Date(now.getTime() - 30 * DAY) }
  const device = (over: Partial<TrustedDevice> = {}): TrustedDevice => ({ method: 'totp', createdAt: new Date(now.getTime() - DAY), ...over })
  it.each([
    ['a trusted device younger than the remember-device days', enabled, device(), { passedBy: 'trusted_device' as const }],
    ['not once older than the policy’s days', enabled, device({ createdAt: new Date(now.getTime() - 15 * DAY) }), { passedBy: undefined }],
    ['not when earned with a method no longer offered', enabled, device({ method: 'webauthn' }), { passedBy: undefined }],
    ['not from before 2FA was turned on', { ...enabled, mfaEnabledAt: now }, device(), { passedBy: undefined }],
    ['never for staff', { ...enabled, platformRole: 'support' as const }, device(), { passedBy: undefined }],
  ])('%s', (_name, user, trustedDevice, expected) => {
    const step = decide(user, app, [org()], { trustedDevice })
    expect(step.kind).toBe('second_factor')
    expect(step.kind === 'second_factor' ? step.passedBy : null).toBe(expected.passedBy)
  })

  it('an invitation link proves the mailbox where an email code is owed, never over an app or key', () => {
    const required = [org({ mode: 'required', requiredSince: now })]
    expect(decide(member, none, required, { proof: 'password_and_mailbox' })).toMatchObject({ kind: 'second_factor', passedBy: 'email' })
    expect(decide(member, app, required, { proof: 'password_and_mailbox' })).not.toHaveProperty('passedBy')
  })
})

describe('decidePasskey (decision 069)', () => {
  const passkey: Factors = { totp: null, keys: [{ id: 'p', label: 'Laptop', createdAt: new Date(), lastUsedAt: null, kind: 'passkey' }], recoveryCodesLeft: 10 }
  const verdict = (user: SignInUser, factors: Factors, memberships: MembershipPolicy[] = []) => decidePasskey(decide(user, factors, memberships), policyOf(user, factors, memberships))
  it.each([
    ['no organization (optional): signs in', member, [], { kind: 'signed_in', then: 'continue' }],
    ['required with keys allowed: satisfies it', member, [org({ mode: 'required', allowedMethods: ['webauthn'], requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'signed_in', then: 'continue' }],
    ['disabled: signs in', member, [org({ mode: 'disabled' })], { kind: 'signed_in' }],
    ['required without keys, in grace: refused', member, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: now })], { kind: 'refused', reason: 'keys_not_allowed', message: PASSKEY_NOT_ALLOWED }],
    ['optional without keys: refused', member, [org({ allowedMethods: ['totp', 'email'] })], { kind: 'refused', reason: 'keys_not_allowed' }],
    ['overdue without keys: refused (not an enrollment-only session)', member, [org({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'refused', reason: 'keys_not_allowed' }],
    ['blocked: refused with the blocked message', member, [org({ mode: 'required', allowedMethods: ['totp'], onDeadline: 'block', requiredSince: new Date(now.getTime() - 30 * DAY) })], { kind: 'refused', reason: 'blocked' }],
    ['one organization allows keys, another requires an app, in grace: signs in, then the grace prompt', member, [org({ mode: 'required', allowedMethods: ['webauthn'], requiredSince: now }), org({ organizationId: 'o2', organizationName: 'Globex', mode: 'required', allowedMethods: ['totp'], requiredSince: now })], { kind: 'signed_in', then: 'grace_prompt' }],
    ['staff with a passkey: signs in', staff, [], { kind: 'signed_in' }],
  ])('%s', (_name, user, memberships, expected) => {
    expect(verdict(user, passkey, memberships)).toMatchObject(expected)
  })

  it('after a support reset the mailbox comes first: refused', () => {
    expect(verdict({ ...member, mfaResetAt: now }, passkey)).toMatchObject({ kind: 'refused', reason: 'reset' })
  })

  it('property: a passkey signs in only where keys are allowed and a password-and-key sign-in would end in a full session', () => {
    const policyArb = fc.record({
      mode: fc.constantFrom('disabled', 'optional', 'required'),
      allowedMethods: fc.subarray(['email', 'totp', 'webauthn']),
      onDeadline: fc.constantFrom('force_enrollment', 'block'),
      overdue: fc.boolean(),
    })
    fc.assert(
      fc.property(fc.array(policyArb, { maxLength: 3 }), fc.boolean(), fc.boolean(), (policies, withApp, isStaff) => {
        const memberships = policies.map((p, i) => org({ organizationId: `o${i}`, organizationName: `Org ${i}`, mode: p.mode as MembershipPolicy['mode'], allowedMethods: p.allowedMethods, onDeadline: p.onDeadline as MembershipPolicy['onDeadline'], requiredSince: p.mode === 'required' ? new Date(now.getTime() - (p.overdue ? 30 : 0) * DAY) : null }))
        const user = isStaff ? staff : member
        const factors = withApp ? { ...passkey, totp: app.totp } : passkey
        const policy = policyOf(user, factors, memberships)
        const step = decideNextStep({ user, factors, policy, now })
        const v = decidePasskey(step, policy)
        if (v.kind !== 'signed_in') return
        expect(policy.allowedMethods).toContain('webauthn')
        expect(step.kind === 'none' || (step.kind === 'second_factor' && methodAllowed(step, 'webauthn') && !step.enrollAfter && step.reason === 'factor')).toBe(true)
        expect(step.kind).not.toBe('blocked')
      }),
      { numRuns: 300 },
    )
  })
})
