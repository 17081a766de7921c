/**
 * Enrolling a factor from the settings pages or /enroll: the TOTP confirm and key registration
 * with their bookkeeping in one transaction, and the notices after it. The fresh session that
 * replaces an enrollment-only one is the sign-in flow's (`enroll` in app/sign-in/flow.server.ts).
 */
import type { KeyKind } from './methods.schema.ts'
import type { RegistrationResponseJSON } from '@simplewebauthn/server'
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { eq, sql } from 'drizzle-orm'
import { afterFactorAdded, noticeFactorAdded } from './factors.server.ts'
import { confirmTotpSetup, TOTP_MESSAGES } from './totp.server.ts'
import { verifyWebauthnRegistration, WEBAUTHN_MESSAGES } from './webauthn.server.ts'
import { loadEffectivePolicy } from '#app/policy/member-status.server.ts'

export type EnrollResult = { ok: true; recoveryCodes: string[] | null; label?: string; kind?: KeyKind } | { ok: false; message: string }

export const ENROLLMENT_CLOSED_MESSAGE = 'Your organization has turned off two-factor authentication for your region, so new methods cannot be set up. The ones you already have are kept, and you can still remove them.'

const FACTOR_NAMES = { totp: 'an authenticator app', webauthn: 'a security key' } as const

/**
 * Why the member may not set up a new factor (of `method`, when given) now, or null. Under an
 * effective `disabled` policy no enrollment is offered (decision 051); enrolled factors are kept and
 * can still be removed. A method the effective policy does not allow is not offered either: it
 * would never be asked for nor satisfy the policy. Staff are never under `disabled`; an exempt
 * service account may add what it likes.
 */
export async function enrollmentClosed(userId: string, method?: 'totp' | 'webauthn'): Promise<string | null> {
  const decision = await loadEffectivePolicy(userId)
  if (decision.status === 'exempt') return null
  if (decision.mode === 'disabled') return ENROLLMENT_CLOSED_MESSAGE
  if (method && !decision.allowedMethods.includes(method)) {
    const other = decision.allowedMethods.filter((m): m is 'totp' | 'webauthn' => m !== 'email' && m !== method)
    return `Your organization does not accept ${FACTOR_NAMES[method]} for two-factor authentication in your region.${other.length ? ` Set up ${other.map((m) => FACTOR_NAMES[m]).join(' or ')} instead.` : ''}`
  }
  return null
}

/** `currentSessionId`: the session enrolling; every other one ends with the commit (decision 061). */
export async function enrollTotp(user: User, code: string, meta: RequestMeta, currentSessionId: string | null): Promise<EnrollResult> {
  const closed = await enrollmentClosed(user.id, 'totp')
  if (closed) return { ok: false, message: closed }
  const result = await db.transaction(async (tx) => {
    const check = await confirmTotpSetup(user, code, tx)
    if (!check.ok) return { ok: false as const, message: TOTP_MESSAGES[check.code] }
    const recoveryCodes = await afterFactorAdded(user, 'totp', {}, meta, tx, currentSessionId)
    return { ok: true as const, recoveryCodes }
  })
  if (result.ok) await noticeFactorAdded(user, 'totp')
  return result
}

export async function enrollKey(user: User, input: { challengeId: string; target: string; response: RegistrationResponseJSON; label: string }, meta: RequestMeta, currentSessionId: string | null): Promise<EnrollResult> {
  const closed = await enrollmentClosed(user.id, 'webauthn')
  if (closed) return { ok: false, message: closed }
  const result = await db.transaction(async (tx) => {
    const check = await verifyWebauthnRegistration(user, input, tx)
    if (!check.ok) return { ok: false as const, message: WEBAUTHN_MESSAGES[check.code] }
    const recoveryCodes = await afterFactorAdded(user, 'webauthn', { keyId: check.keyId, label: check.label, kind: check.kind }, meta, tx, currentSessionId)
    return { ok: true as const, recoveryCodes, label: check.label, kind: check.kind }
  })
  if (result.ok) await noticeFactorAdded(user, 'webauthn', result.label)
  return result
}
