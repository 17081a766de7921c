/**
 * Step-up: a second factor within the last 5 minutes on this session. Accepts an app, a key or
 * a recovery code; an email code only when the member has no app or key; a trusted device never
 * counts (it does not set second_factor_at).
 */
import type { Session } from '#app/auth/session.server.ts'
import { hasAppOrKey, type Factors, type Method } from './factors.server.ts'

export const STEP_UP_SECONDS = 5 * 60

export function hasFreshSecondFactor(session: Pick<Session, 'secondFactorAt'>, now = Date.now()): boolean {
  return Boolean(session.secondFactorAt && now - session.secondFactorAt.getTime() < STEP_UP_SECONDS * 1000)
}

export function stepUpMethods(factors: Factors): Method[] {
  if (!hasAppOrKey(factors)) return ['email']
  const methods: Method[] = []
  if (factors.totp) methods.push('totp')
  if (factors.keys.length) methods.push('webauthn')
  if (factors.recoveryCodesLeft > 0) methods.push('recovery_code')
  return methods
}

/**
 * Whether this session passed a second factor: signed in at the MFA level (a trusted device counts,
 * it was earned with one) or stepped up since. Owners and admins change nothing without it
 * (decision 056); an enrollment-only session never counts.
 */
export function sessionPassedSecondFactor(session: Pick<Session, 'level' | 'secondFactorAt'>): boolean {
  return session.level === 'mfa' || (session.level === 'password' && session.secondFactorAt !== null)
}

/** Whether an action needs step-up now: members with no factor at all have nothing to step up with. */
export function needsStepUp(session: Pick<Session, 'secondFactorAt'>, factors: Factors): boolean {
  return hasAppOrKey(factors) && !hasFreshSecondFactor(session)
}
