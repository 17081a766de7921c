/**
 * THE one decision of what a member owes after the password, for every channel (web and the
 * JSON API). Pure: the member, their factors and their effective organization policy (computed
 * from the database at each sign-in by app/policy/enforcement.server.ts) in; a decision out.
 * The verify step re-checks the offered methods on the server with `methodAllowed`.
 */
import type { Factors, Method } from '#app/mfa/factors.server.ts'
import { hasAppOrKey } from '#app/mfa/factors.server.ts'
import type { PolicyDecision } from '#app/policy/effective-policy.ts'
import { blockedMessage } from '#app/policy/grace-prompt.server.ts'

export type SecondStepUser = { platformRole: 'none' | 'support' | 'superadmin'; preferredMethod: 'email' | 'totp' | 'webauthn' | null; mfaResetAt: Date | null; kind?: 'human' | 'service' }

export type SecondStep =
  | { kind: 'none' }
  /** Signed in with the password, then shown the grace-period prompt (deadline, organizations). */
  | { kind: 'grace' }
  | {
      kind: 'second_factor'
      methods: Method[]
      preferred: Method
      /** factor: a factor the member has; reset: the email code owed after a reset; prove_email: the mailbox proven before forced enrollment. */
      reason: 'factor' | 'reset' | 'prove_email'
      /** The session that follows may reach enrollment only. */
      enrollAfter: boolean
      /**
       * Show the grace prompt once this step is done (a reset member whose Required policy is still
       * in its grace period and who holds no allowed factor). Absent in pending sign-ins stored
       * before this field existed: read as false.
       */
      graceAfter?: boolean
      /** How long a device remembered at this sign-in counts (0: not offered). */
      rememberDays: number
    }
  | { kind: 'enroll'; reason: 'staff_without_factor' | 'policy' }
  | { kind: 'blocked'; message: string }

export function decideSecondStep(user: SecondStepUser, factors: Factors, policy: PolicyDecision): SecondStep {
  const signIn = policy.signIn
  if (signIn.kind === 'blocked') return { kind: 'blocked', message: blockedMessage(policy) ?? 'Sign-in is blocked by your organization. Contact your administrator.' }
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
    if (signIn.prove.length === 0) return { kind: 'enroll', reason: user.platformRole === 'none' ? 'policy' : 'staff_without_factor' }
    if (signIn.prove.includes('email')) return { kind: 'second_factor', methods: ['email'], preferred: 'email', reason: 'prove_email', enrollAfter: true, rememberDays: 0 }
    // The member's own app or key guards the account even when the policy no longer accepts it.
    return { kind: 'second_factor', ...withRecoveryCodes(user, factors, signIn.prove), reason: 'factor', enrollAfter: true, rememberDays: 0 }
  }
  if (signIn.kind === 'grace_prompt' && signIn.methods.length === 0) return { kind: 'grace' }
  const rememberDays = user.platformRole === 'none' && signIn.kind === 'second_factor' ? policy.rememberDeviceDays : 0
  return { kind: 'second_factor', ...withRecoveryCodes(user, factors, signIn.methods), reason: 'factor', enrollAfter: false, graceAfter: signIn.kind === 'grace_prompt', rememberDays }
}

function withRecoveryCodes(user: SecondStepUser, factors: Factors, offered: Method[]): { methods: Method[]; preferred: Method } {
  const methods: Method[] = [...offered]
  // Recovery codes stand in for the app or key they back up; they never satisfy policy alone.
  if (hasAppOrKey(factors) && factors.recoveryCodesLeft > 0 && offered.some((m) => m === 'totp' || m === 'webauthn')) methods.push('recovery_code')
  const strong = methods.filter((m) => m === 'totp' || m === 'webauthn')
  // The member's own choice, where it is offered (email too: the page then waits for "Send the code").
  const preferred = user.preferredMethod && methods.includes(user.preferredMethod) ? user.preferredMethod : (strong[0] ?? methods[0])
  return { methods, preferred }
}

/** Server-side re-check at verify time: the method must be one the decision offered. */
export function methodAllowed(decision: SecondStep, method: Method): boolean {
  return decision.kind === 'second_factor' && decision.methods.includes(method)
}
