/**
 * THE one decision of what a member owes after the password, for every channel (web now, the
 * JSON API later). Pure: plain data in, a decision out. Organization policy (app/policy) plugs in
 * here; the verify step re-checks the offered methods on the server with `methodAllowed`.
 */
import type { Factors, Method } from '#app/mfa/factors.server.ts'

export type SecondStepUser = { platformRole: 'none' | 'support' | 'superadmin'; preferredMethod: 'email' | 'totp' | 'webauthn' | null; mfaResetAt: Date | null; kind?: 'human' | 'service' }

export type SecondStep =
  | { kind: 'none' }
  | { kind: 'second_factor'; methods: Method[]; preferred: Method; reason: 'factor' | 'reset'; enrollAfter: boolean }
  | { kind: 'enroll'; reason: 'staff_without_factor' }

export function decideSecondStep(user: SecondStepUser, factors: Factors): SecondStep {
  const strong: Method[] = []
  if (factors.totp) strong.push('totp')
  if (factors.keys.length > 0) strong.push('webauthn')
  const staff = user.platformRole !== 'none'
  if (strong.length > 0) {
    const methods: Method[] = [...strong, 'email', ...(factors.recoveryCodesLeft > 0 ? (['recovery_code'] as Method[]) : [])]
    const preferred = user.preferredMethod && user.preferredMethod !== 'email' && methods.includes(user.preferredMethod) ? user.preferredMethod : strong[0]
    return { kind: 'second_factor', methods, preferred, reason: 'factor', enrollAfter: false }
  }
  // After a support, admin or CLI reset the mailbox must confirm before anything else.
  if (user.mfaResetAt) return { kind: 'second_factor', methods: ['email'], preferred: 'email', reason: 'reset', enrollAfter: staff }
  if (staff) return { kind: 'enroll', reason: 'staff_without_factor' }
  return { kind: 'none' }
}

/** Server-side re-check at verify time: the method must be one the decision offered. */
export function methodAllowed(decision: SecondStep, method: Method): boolean {
  return decision.kind === 'second_factor' && decision.methods.includes(method)
}
