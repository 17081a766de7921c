/**
 * One dispatcher over the factor modules for "check this second factor for this member", shared
 * by the web verify page, step-up and (later) the JSON API. No Request or cookie here: `target`
 * says what the code or challenge is bound to (a pending sign-in id, a session's step-up).
 */
import { and, count, eq, gt, sql } from 'drizzle-orm'
import type { AuthenticationResponseJSON } from '@simplewebauthn/server'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { recordFailure } from '#app/auth/lockout.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema } from '#db/client.ts'
import { EMAIL_CODE_MESSAGES, verifyEmailCode } from './email-code.server.ts'
import { noticeRecoveryCodeUsed, type Method } from './factors.server.ts'
import { RECOVERY_MESSAGES, verifyRecoveryCode } from './recovery-codes.server.ts'
import { TOTP_MESSAGES, verifyTotp } from './totp.server.ts'
import { verifyWebauthnAuthentication, WEBAUTHN_MESSAGES } from './webauthn.server.ts'

export const FAILURE_NOTICE_THRESHOLD = 10

export type FactorInput =
  | { method: 'totp'; code: string }
  | { method: 'recovery_code'; code: string }
  | { method: 'email'; code: string }
  | { method: 'webauthn'; challengeId: string; response: AuthenticationResponseJSON }

export type FactorCheck = { ok: true; method: Method; recoveryCodesLeft?: number } | { ok: false; method: Method; code: string; message: string; counted: boolean }

/**
 * Checks one second factor; a wrong answer is audited and counted toward the account's lockout.
 * `auditDetails` go on the `auth.mfa_failed` event (step-up puts its session id there, to count
 * wrong answers per session).
 */
export async function checkSecondFactor(user: User, input: FactorInput, target: string, meta: RequestMeta, auditDetails: Record<string, unknown> = {}): Promise<FactorCheck> {
  let failure: { code: string; message: string; counted: boolean } | undefined
  let recoveryCodesLeft: number | undefined
  switch (input.method) {
    case 'totp': {
      const r = await verifyTotp(user, input.code, meta)
      if (!r.ok) failure = { code: r.code, message: TOTP_MESSAGES[r.code], counted: r.code !== 'malformed' }
      break
    }
    case 'recovery_code': {
      const r = await verifyRecoveryCode(user.id, input.code)
      if (!r.ok) failure = { code: r.code, message: RECOVERY_MESSAGES[r.code], counted: r.code !== 'malformed' }
      else recoveryCodesLeft = r.remaining
      break
    }
    case 'email': {
      const r = await verifyEmailCode(user, target, input.code)
      if (!r.ok) {
        const left = r.code === 'invalid' && r.attemptsLeft > 0 ? ` ${r.attemptsLeft} ${r.attemptsLeft === 1 ? 'try' : 'tries'} left.` : ''
        failure = { code: r.code, message: EMAIL_CODE_MESSAGES[r.code] + left, counted: r.code === 'invalid' }
      }
      break
    }
    case 'webauthn': {
      const r = await verifyWebauthnAuthentication(user, { challengeId: input.challengeId, target, response: input.response }, meta)
      if (!r.ok) failure = { code: r.code, message: WEBAUTHN_MESSAGES[r.code], counted: r.code !== 'expired_challenge' }
      break
    }
  }
  if (!failure) {
    if (input.method === 'recovery_code') await noticeRecoveryCodeUsed(user, recoveryCodesLeft ?? 0)
    return { ok: true, method: input.method, recoveryCodesLeft }
  }
  if (failure.counted) await countSecondFactorFailure(user, input.method, failure.code, meta, auditDetails)
  return { ok: false, method: input.method, ...failure }
}

/** A failed second factor: audited, toward the lockout, and at 10 in an hour the member is told. */
export async function countSecondFactorFailure(user: User, method: Method, reason: string, meta: RequestMeta, auditDetails: Record<string, unknown> = {}) {
  await recordAudit({ action: 'auth.mfa_failed', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { ...auditDetails, method, reason } })
  await recordFailure(user.id, meta)
  const [row] = await db
    .select({ n: count() })
    .from(schema.auditEvents)
    .where(and(eq(schema.auditEvents.subjectId, user.id), eq(schema.auditEvents.action, 'auth.mfa_failed'), gt(schema.auditEvents.createdAt, sql`now() - interval '1 hour'`)))
  // Exactly at the threshold, so one burst sends one email, not one per further attempt.
  if ((row?.n ?? 0) === FAILURE_NOTICE_THRESHOLD) {
    await queueNotice({ to: user.email, userId: user.id, template: 'mfa_failures', params: { count: FAILURE_NOTICE_THRESHOLD, at: new Date().toISOString(), ip: meta.ip } })
  }
}
