/**
 * Forgot password: the same answer whether or not the email exists; a one-time link valid
 * 30 minutes, minted by the mail worker and stored hashed; every session ends after a reset.
 */
import { and, eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { MailUnavailableError, queueEmail, queueNotice } from '#app/mail/queue-email.server.ts'
import { hashPassword } from './password.server.ts'
import { accountKey, normaliseEmail, throttleAttempt } from './rate-limit.server.ts'
import { endOtherSessions } from './session.server.ts'
import { consumeVerification, createVerification, findByToken, revokeVerifications } from './verification.server.ts'
import { hasAppOrKey, listFactors, stepUpMethods, type Method } from '#app/mfa/factors.server.ts'
import { verifyFactor, type FactorInput } from '#app/mfa/verifier.server.ts'
import { webauthnAuthenticationOptions } from '#app/mfa/webauthn.server.ts'
import { logger } from '#app/observability/logger.server.ts'
import { DomainError } from '#app/errors.ts'
import { findSsoForEmail } from '#app/sso/config.server.ts'

const log = logger.child({ component: 'mail' })

export const RESET_TTL_SECONDS = 30 * 60
export const RESET_REQUESTED_MESSAGE =
  'If an account with that email exists in this region, we have sent it a link to reset the password. The link works for 30 minutes.'

/**
 * The request does the same work for every address (decision 057): one outbox row (the address and
 * region, which are what the person typed, not secrets) and one job carrying that row's id. The
 * mail worker decides whether an account exists (preparePasswordResetEmail), so neither the answer
 * nor its timing tells the two apart.
 */
export async function requestPasswordReset(input: { region: string; email: string; meta: RequestMeta }): Promise<void> {
  const email = normaliseEmail(input.email)
  // Decided by the domain alone, so it says nothing about whether the account exists (decision 075).
  const sso = await findSsoForEmail(email)
  if (sso?.ssoRequired) {
    throw new DomainError('sso_required', `${sso.orgName} signs you in through single sign-on, so there is no Gatehouse password to reset: use “Continue with ${sso.orgName} SSO” on the sign-in page. If you cannot, contact your administrator or support.`, 'email')
  }
  const throttle = await throttleAttempt(input.meta.ip, `reset:${accountKey(input.region, email)}`)
  if (!throttle.allowed) return
  try {
    await queueEmail({ to: email, template: 'password_reset', params: { region: input.region, requestedFrom: { ip: input.meta.ip, userAgent: input.meta.userAgent?.slice(0, 512) ?? null } } })
  } catch (e) {
    // The failure is logged and visible in outbound_emails (not_queued); the answer stays the same.
    if (!(e instanceof MailUnavailableError)) throw e
    log.warn({ error: e.message }, 'password reset email not queued')
  }
}

/**
 * The mail worker's half of a reset request: finds the account for the row's region and address
 * and, if there is one (a person, not a service account), replaces any earlier link with a new
 * verification, records the request and binds the row to both. Undefined: no such account, send
 * nothing. Idempotent: a retried job finds the row already bound.
 */
export async function preparePasswordResetEmail(emailId: string) {
  const o = schema.outboundEmails
  return db.transaction(async (tx) => {
    const [email] = await tx.select().from(o).where(eq(o.id, emailId)).for('update')
    if (!email) return undefined
    if (email.verificationId) return email
    const [user] = await tx.select().from(schema.users).where(and(eq(schema.users.region, String(email.params.region ?? '')), eq(schema.users.email, email.toAddress)))
    if (!user || user.kind !== 'human') return undefined
    await revokeVerifications(user.id, 'password_reset', tx)
    const { verification } = await createVerification({ purpose: 'password_reset', userId: user.id, ttlSeconds: RESET_TTL_SECONDS, maxAttempts: 5 }, tx)
    const from = (email.params.requestedFrom ?? {}) as Partial<RequestMeta>
    await recordAudit({ action: 'auth.password_reset_requested', actor: { id: null, label: email.toAddress }, subjectId: user.id, meta: { ip: from.ip ?? null, userAgent: from.userAgent ?? null } }, tx)
    const [bound] = await tx.update(o).set({ userId: user.id, verificationId: verification.id }).where(eq(o.id, emailId)).returning()
    return bound
  })
}

/** The member a live reset link belongs to, or undefined. */
export async function findPasswordReset(token: string) {
  const verification = await findByToken('password_reset', token)
  if (!verification?.userId) return undefined
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  return user ? { verification, user } : undefined
}

/** What the reset page asks for, in the member's own methods. */
export function resetFactorPrompt(methods: Method[]): string {
  const ways = [methods.includes('totp') && 'a code from your authenticator app', methods.includes('webauthn') && 'your security key', methods.includes('recovery_code') && 'one of your recovery codes'].filter(Boolean)
  return `Confirm with ${ways.length > 1 ? `${ways.slice(0, -1).join(', ')} or ${ways.at(-1)}` : ways[0]}.`
}

export type ResetResult = { ok: true; userId: string } | { ok: false; code: 'invalid_link' } | { ok: false; code: 'second_factor'; message: string }

/**
 * The second factors that can finish this member's reset: none when they have no app or key (the
 * mailbox is all they have), else the step-up methods (app, key, recovery code; never email).
 */
export async function resetFactorMethods(userId: string): Promise<Method[]> {
  const factors = await listFactors(userId)
  return hasAppOrKey(factors) ? stepUpMethods(factors) : []
}

const resetTarget = (verificationId: string) => `reset:${verificationId}`

/** Security-key options for a live reset link, bound to that link; undefined when the link is dead or there is no key. */
export async function resetKeyOptions(token: string) {
  const found = await findPasswordReset(token)
  if (!found) return undefined
  return webauthnAuthenticationOptions(found.user, resetTarget(found.verification.id))
}

export type ResetSecondFactor = Exclude<FactorInput, { method: 'email' }>

export async function completePasswordReset(input: {
  token: string
  password: string
  meta: RequestMeta
  /** Required when the member has an app or key: the mailbox alone never opens such an account. */
  secondFactor?: ResetSecondFactor
}): Promise<ResetResult> {
  const found = await findPasswordReset(input.token)
  if (!found) return { ok: false, code: 'invalid_link' }
  const methods = await resetFactorMethods(found.user.id)
  if (methods.length && (!input.secondFactor || !methods.includes(input.secondFactor.method))) {
    return { ok: false, code: 'second_factor', message: resetFactorPrompt(methods) }
  }
  const { user, verification } = found
  const passwordHash = await hashPassword(input.password)
  // Consuming the link, the new password, the ended sessions and the audit event: one transaction.
  const finish = async (tx: Tx) => {
    await tx.update(schema.users).set({ passwordHash, failedAttempts: 0 }).where(eq(schema.users.id, user.id))
    // A reset has no current session to keep: every session and API session token ends (decision 061).
    const ended = await endOtherSessions({ user, keep: null, reason: 'password_reset', meta: input.meta }, tx)
    await recordAudit({ action: 'auth.password_reset', actor: { id: user.id, label: user.email }, subjectId: user.id, meta: input.meta, details: { sessionsEnded: ended } }, tx)
  }
  let done: boolean
  if (input.secondFactor && methods.length) {
    // Through the one verifier (decision 063): a wrong answer counts on the link (5 end it) and toward the lockout.
    const check = await verifyFactor(user, input.secondFactor, { kind: 'verification', id: verification.id, target: resetTarget(verification.id) }, input.meta, { complete: finish })
    if (!check.ok && check.code !== 'consumed') return { ok: false, code: 'second_factor', message: check.message }
    done = check.ok
  } else {
    done = await db.transaction(async (tx) => {
      if (!(await consumeVerification(verification.id, tx))) return false
      await finish(tx)
      return true
    })
  }
  if (!done) return { ok: false, code: 'invalid_link' }
  await queueNotice({ to: found.user.email, userId: found.user.id, template: 'password_changed', params: { at: new Date().toISOString() } })
  return { ok: true, userId: found.user.id }
}
