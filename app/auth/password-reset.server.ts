/**
 * Forgot password: the same answer whether or not the email exists; a one-time link valid
 * 30 minutes, minted by the mail worker and stored hashed; every session ends after a reset.
 */
import { and, eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { MailUnavailableError, queueEmail, queueNotice } from '#app/mail/queue-email.server.ts'
import { hashPassword } from './password.server.ts'
import { accountKey, normaliseEmail, throttleAttempt } from './rate-limit.server.ts'
import { endAllSessions } from './session.server.ts'
import { consumeVerification, countAttempt, createVerification, findByToken, revokeVerifications } from './verification.server.ts'
import { checkSecondFactor } from '#app/mfa/check.server.ts'
import { hasAppOrKey, listFactors } from '#app/mfa/factors.server.ts'

export const RESET_TTL_SECONDS = 30 * 60
export const RESET_REQUESTED_MESSAGE =
  'If an account with that email exists in this region, we have sent it a link to reset the password. The link works for 30 minutes.'

export async function requestPasswordReset(input: { region: string; email: string; meta: RequestMeta }): Promise<void> {
  const email = normaliseEmail(input.email)
  const throttle = await throttleAttempt(input.meta.ip, `reset:${accountKey(input.region, email)}`)
  if (!throttle.allowed) return
  const [user] = await db.select().from(schema.users).where(and(eq(schema.users.region, input.region), eq(schema.users.email, email)))
  if (!user || user.kind !== 'human') return
  await revokeVerifications(user.id, 'password_reset')
  const { verification } = await createVerification({ purpose: 'password_reset', userId: user.id, ttlSeconds: RESET_TTL_SECONDS, maxAttempts: 5 })
  await recordAudit({ action: 'auth.password_reset_requested', actor: { id: null, label: email }, subjectId: user.id, meta: input.meta })
  try {
    await queueEmail({ to: user.email, userId: user.id, template: 'password_reset', verificationId: verification.id, params: { region: user.region } })
  } catch (e) {
    // The answer must not differ for existing accounts: the failure is logged and visible in outbound_emails.
    if (!(e instanceof MailUnavailableError)) throw e
    console.warn(`[mail] password reset email not queued: ${e.message}`)
  }
}

/** The member a live reset link belongs to, or undefined. */
export async function findPasswordReset(token: string) {
  const verification = await findByToken('password_reset', token)
  if (!verification?.userId) return undefined
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  return user ? { verification, user } : undefined
}

export type ResetResult = { ok: true; userId: string } | { ok: false; code: 'invalid_link' } | { ok: false; code: 'second_factor'; message: string }

/** Whether finishing this reset needs a second factor other than email (the member has an app or key). */
export async function resetNeedsSecondFactor(userId: string): Promise<boolean> {
  return hasAppOrKey(await listFactors(userId))
}

export async function completePasswordReset(input: {
  token: string
  password: string
  meta: RequestMeta
  /** Required when the member has an app or key: the mailbox alone never opens such an account. */
  secondFactor?: { method: 'totp' | 'recovery_code'; code: string }
}): Promise<ResetResult> {
  const found = await findPasswordReset(input.token)
  if (!found) return { ok: false, code: 'invalid_link' }
  if (await resetNeedsSecondFactor(found.user.id)) {
    if (!input.secondFactor?.code) return { ok: false, code: 'second_factor', message: 'Enter a code from your authenticator app or one of your recovery codes.' }
    const check = await checkSecondFactor(found.user, input.secondFactor, `reset:${found.verification.id}`, input.meta)
    if (!check.ok) {
      if (check.counted) await countAttempt(found.verification.id)
      return { ok: false, code: 'second_factor', message: check.message }
    }
  }
  const passwordHash = await hashPassword(input.password)
  const done = await db.transaction(async (tx) => {
    if (!(await consumeVerification(found.verification.id, tx))) return false
    await tx.update(schema.users).set({ passwordHash, failedAttempts: 0 }).where(eq(schema.users.id, found.user.id))
    const ended = await endAllSessions(found.user.id, tx)
    await recordAudit({ action: 'auth.password_reset', actor: { id: found.user.id, label: found.user.email }, subjectId: found.user.id, meta: input.meta, details: { sessionsEnded: ended } }, tx)
    return true
  })
  if (!done) return { ok: false, code: 'invalid_link' }
  await queueNotice({ to: found.user.email, userId: found.user.id, template: 'password_changed', params: { at: new Date().toISOString() } })
  return { ok: true, userId: found.user.id }
}
