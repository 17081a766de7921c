/**
 * THE decision of what a member owes after the password, for every channel (decision 063). Pure:
 * the member, how they got here, their factors, their effective policy (the one policy function,
 * app/policy/effective-policy.ts) and the trusted device this browser presented, in; the next step
 * out. flow.server.ts loads the inputs and runs the step; the verify step re-checks the method with
 * `methodAllowed`.
 *
 * The states carry the policy's names (`SignInStep` in effective-policy.ts), one name each:
 * none · second_factor · grace_prompt · enroll_only · blocked.
 */
import type { Factors, Method } from '#app/mfa/factors.server.ts'
import type { PolicyDecision } from '#app/policy/effective-policy.ts'
import { blockedMessage, BLOCKED_FALLBACK } from '#app/policy/sign-in-step.ts'

export type SignInUser = {
  platformRole: 'none' | 'support' | 'superadmin'
  preferredMethod: 'email' | 'totp' | 'webauthn' | null
  mfaResetAt: Date | null
  mfaEnabledAt?: Date | null
}

/** A trusted-device row this browser's cookie matched (live, this member's); whether it still counts is decided here. */
export type TrustedDevice = { method: 'totp' | 'webauthn' | 'email'; createdAt: Date }

export type DecideInput = {
  user: SignInUser
  factors: Factors
  policy: PolicyDecision
  /** What the member proved so far: the password, or the password set through an emailed link (the invitation, decision 050). */
  proof?: 'password' | 'password_and_mailbox'
  trustedDevice?: TrustedDevice | null
  /**
   * Single sign-on (decision 075): the identity provider's MFA, trusted by the region policy and
   * present in its ID token (app/sso/idp-mfa.ts). It stands in for the second factor a member owes
   * for their own factors; the reset rule, enrollment, grace and block are decided as for any sign-in.
   */
  idpMfa?: boolean
  /**
   * Break-glass password sign-in where the domain requires SSO (decision 075): the member's own app
   * or key is asked whatever the policy's mode, and a remembered device never stands in for it.
   */
  ownFactorRequired?: boolean
  now?: Date
}

/** The second factor owed: what is offered, and what follows it. Stored with a pending sign-in. */
export type SecondFactorStep = {
  kind: 'second_factor'
  methods: Method[]
  preferred: Method
  /** factor: a factor the member has; reset: the email code owed after a reset; prove_email: the mailbox proven before forced enrollment. */
  reason: 'factor' | 'reset' | 'prove_email'
  /** The session that follows may reach enrollment only. */
  enrollAfter: boolean
  /**
   * Show the grace prompt once this step is done (a member in grace who holds no allowed factor).
   * Absent in pending sign-ins stored before this field existed: read as false.
   */
  graceAfter?: boolean
  /** How long a device remembered at this sign-in counts (0: not offered). */
  rememberDays: number
}

export type NextStep =
  /** Signed in with the password alone. */
  | { kind: 'none' }
  /** Signed in with the password, then shown the grace-period prompt (deadline, organizations). */
  | { kind: 'grace_prompt' }
  /** An enrollment-only session, straight away (nothing to prove first). */
  | { kind: 'enroll_only'; reason: 'staff_without_factor' | 'policy' }
  | { kind: 'blocked'; message: string }
  /** A second factor is owed; `passedBy` when it is already given (a trusted device, the invitation's mailbox). */
  | (SecondFactorStep & { passedBy?: 'trusted_device' | 'email' | 'idp' })

const hasAppOrKey = (f: Factors) => Boolean(f.totp) || f.keys.length > 0
const DAY_MS = 86_400_000

export function decideNextStep(input: DecideInput): NextStep {
  if (input.ownFactorRequired) return ownFactorStep(input)
  const step = decideOwed(input.user, input.factors, input.policy)
  if (step.kind !== 'second_factor') return step
  if (input.idpMfa && step.reason === 'factor' && input.user.platformRole === 'none') return { ...step, passedBy: 'idp' }
  // The invitation link came by email, so it proves the mailbox as an email code would; a member
  // who holds an app or key is still asked for it: the mailbox alone never opens a stronger account.
  if (input.proof === 'password_and_mailbox' && step.methods.includes('email') && !hasAppOrKey(input.factors)) return { ...step, passedBy: 'email' }
  if (step.reason === 'factor' && step.rememberDays > 0 && deviceCounts(input, step)) return { ...step, passedBy: 'trusted_device' }
  return step
}

/** Break-glass: the member's own app or key (with its recovery codes), nothing less; blocked when they hold none. */
function ownFactorStep({ user, factors, policy }: DecideInput): NextStep {
  const owed = decideOwed(user, factors, policy)
  if (owed.kind === 'blocked') return owed
  const strong: Method[] = [...(factors.totp ? (['totp'] as const) : []), ...(factors.keys.length ? (['webauthn'] as const) : [])]
  if (strong.length === 0) return { kind: 'blocked', message: OWN_FACTOR_NEEDED }
  return { kind: 'second_factor', ...withRecoveryCodes(user, factors, strong), reason: 'factor', enrollAfter: false, rememberDays: 0 }
}

export const OWN_FACTOR_NEEDED = 'Your organization signs you in through single sign-on. Continue with SSO instead.'

/**
 * A trusted device stands in for the second factor only while younger than the current policy's
 * remember-device days, only if it was earned with a method still offered, never from before 2FA
 * was turned on or reset, and never for staff.
 */
function deviceCounts({ user, trustedDevice, now = new Date() }: DecideInput, step: SecondFactorStep): boolean {
  if (!trustedDevice || user.platformRole !== 'none' || !user.mfaEnabledAt) return false
  if (now.getTime() - trustedDevice.createdAt.getTime() >= step.rememberDays * DAY_MS) return false
  if (!step.methods.includes(trustedDevice.method)) return false
  if (trustedDevice.createdAt < user.mfaEnabledAt) return false
  return !(user.mfaResetAt && trustedDevice.createdAt < user.mfaResetAt)
}

function decideOwed(user: SignInUser, factors: Factors, policy: PolicyDecision): NextStep {
  const signIn = policy.signIn
  if (signIn.kind === 'blocked') return { kind: 'blocked', message: blockedMessage(policy) ?? BLOCKED_FALLBACK }
  // Disabled asks for no second factor, not even the email code owed after a reset (Disabled wins over
  // the reset rule; the reset marker stays for a later sign-in where a factor can be asked). Staff
  // never get here: their decision is always 'required'.
  if (policy.mode === 'disabled' && signIn.kind === 'none' && user.platformRole === 'none') return { kind: 'none' }
  const enrollAfter = signIn.kind === 'enroll_only'
  // After a support, admin or CLI reset the mailbox must confirm first, even under optional; a member
  // in a grace period without an allowed factor then still sees the grace prompt.
  if (user.mfaResetAt) {
    const graceAfter = signIn.kind === 'grace_prompt' && signIn.methods.length === 0
    return { kind: 'second_factor', methods: ['email'], preferred: 'email', reason: 'reset', enrollAfter, graceAfter, rememberDays: 0 }
  }
  if (signIn.kind === 'none') return { kind: 'none' }
  if (signIn.kind === 'enroll_only') {
    if (signIn.prove.length === 0) return { kind: 'enroll_only', reason: user.platformRole === 'none' ? 'policy' : 'staff_without_factor' }
    if (signIn.prove.includes('email')) return { kind: 'second_factor', methods: ['email'], preferred: 'email', reason: 'prove_email', enrollAfter: true, rememberDays: 0 }
    // The member's own app or key guards the account even when the policy no longer accepts it.
    return { kind: 'second_factor', ...withRecoveryCodes(user, factors, signIn.prove), reason: 'factor', enrollAfter: true, rememberDays: 0 }
  }
  if (signIn.kind === 'grace_prompt' && signIn.methods.length === 0) return { kind: 'grace_prompt' }
  const rememberDays = user.platformRole === 'none' && signIn.kind === 'second_factor' ? policy.rememberDeviceDays : 0
  return { kind: 'second_factor', ...withRecoveryCodes(user, factors, signIn.methods), reason: 'factor', enrollAfter: false, graceAfter: signIn.kind === 'grace_prompt', rememberDays }
}

function withRecoveryCodes(user: SignInUser, factors: Factors, offered: Method[]): { methods: Method[]; preferred: Method } {
  const methods: Method[] = [...offered]
  // Recovery codes stand in for the app or key they back up, or for the email code of a member
  // whose only factor is email (backup codes, decision 071); they never satisfy policy alone.
  const backedUp = hasAppOrKey(factors) ? offered.some((m) => m === 'totp' || m === 'webauthn') : offered.includes('email')
  if (backedUp && factors.recoveryCodesLeft > 0) methods.push('recovery_code')
  const strong = methods.filter((m) => m === 'totp' || m === 'webauthn')
  // The member's own choice, where it is offered (email too: the page then waits for "Send the code").
  const preferred = user.preferredMethod && methods.includes(user.preferredMethod) ? user.preferredMethod : (strong[0] ?? methods[0])
  return { methods, preferred }
}

/** Server-side re-check at verify time: the method must be one the decision offered. */
export function methodAllowed(step: NextStep, method: Method): boolean {
  return step.kind === 'second_factor' && step.methods.includes(method)
}

/**
 * What a passkey sign-in gives (decision 069). A passkey answered with user verification is the
 * password and a key in one step. It is accepted only where the member's policy allows keys
 * (`allowedMethods`: what every Required organization allows, every asking one when none requires)
 * and the step the same decision owes takes the key as this sign-in's factor; the grace prompt then
 * follows where a password-and-key sign-in shows it. It is refused where keys are not allowed, where
 * the member is held to enrollment or owes the email code that follows a reset, and where sign-in
 * is blocked. Disabled asks for no second factor and allows every method: a passkey signs in.
 */
export type PasskeyVerdict =
  | { kind: 'signed_in'; then: 'continue' | 'grace_prompt' }
  | { kind: 'refused'; reason: 'blocked' | 'keys_not_allowed' | 'reset'; message: string }

export const PASSKEY_NOT_ALLOWED = 'Your organization does not allow security keys or passkeys for signing in. Sign in with your email and password instead.'
export const PASSKEY_AFTER_RESET = 'Your two-factor authentication was reset: sign in with your email and password, then confirm the code we email you.'

export function decidePasskey(step: NextStep, policy: Pick<PolicyDecision, 'allowedMethods'>): PasskeyVerdict {
  const notAllowed = { kind: 'refused', reason: 'keys_not_allowed', message: PASSKEY_NOT_ALLOWED } as const
  if (step.kind === 'blocked') return { kind: 'refused', reason: 'blocked', message: step.message }
  if (step.kind === 'second_factor' && step.reason === 'reset') return { kind: 'refused', reason: 'reset', message: PASSKEY_AFTER_RESET }
  if (!policy.allowedMethods.includes('webauthn')) return notAllowed
  if (step.kind === 'none') return { kind: 'signed_in', then: 'continue' }
  if (step.kind !== 'second_factor' || step.reason !== 'factor' || step.enrollAfter || !methodAllowed(step, 'webauthn')) return notAllowed
  return { kind: 'signed_in', then: step.graceAfter ? 'grace_prompt' : 'continue' }
}
