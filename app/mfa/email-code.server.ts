/**
 * Email codes: 6 digits, 10 minutes, single use, at most 5 tries, bound to what asked for it
 * (`target`: a pending sign-in, or a session for step-up), a new one at most once a minute,
 * stored as a keyed hash. The mail worker mints the code (and, for sign-in, a link that completes
 * the same pending sign-in) when it sends: no code ever sits in a queue.
 */
import { and, desc, eq, gt, sql } from 'drizzle-orm'
import { checkCode, createVerification, revokeVerifications } from '#app/auth/verification.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { MailUnavailableError, queueEmail } from '#app/mail/queue-email.server.ts'
import { db, schema } from '#db/client.ts'

export const EMAIL_CODE_TTL_SECONDS = 10 * 60
export const EMAIL_CODE_MAX_ATTEMPTS = 5
export const EMAIL_CODE_RESEND_SECONDS = 60

const v = schema.verifications

export type SendResult = { ok: true; verificationId: string } | { ok: false; code: 'too_soon'; retryAfterSeconds: number } | { ok: false; code: 'unavailable' }

/**
 * Sends a code for `target`. `withLink` adds the sign-in link (web pending sign-ins only);
 * `apiSignIn` words it as a sign-in code without the link (API pending sign-ins).
 */
export async function sendEmailCode(user: User, target: string, options: { withLink: boolean; apiSignIn?: boolean }): Promise<SendResult> {
  const [latest] = await db
    .select({ createdAt: v.createdAt })
    .from(v)
    .where(and(eq(v.purpose, 'email_code'), eq(v.target, target), gt(v.createdAt, sql`now() - make_interval(secs => ${EMAIL_CODE_RESEND_SECONDS})`)))
    .orderBy(desc(v.createdAt))
    .limit(1)
  if (latest) {
    const wait = Math.max(1, EMAIL_CODE_RESEND_SECONDS - Math.floor((Date.now() - latest.createdAt.getTime()) / 1000))
    return { ok: false, code: 'too_soon', retryAfterSeconds: wait }
  }
  // Only the newest code for this target works.
  await db.update(v).set({ consumedAt: sql`now()` }).where(and(eq(v.purpose, 'email_code'), eq(v.target, target), sql`${v.consumedAt} is null`))
  const { verification } = await createVerification({
    purpose: 'email_code',
    userId: user.id,
    target,
    ttlSeconds: EMAIL_CODE_TTL_SECONDS,
    maxAttempts: EMAIL_CODE_MAX_ATTEMPTS,
  })
  try {
    await queueEmail({
      to: user.email,
      userId: user.id,
      template: options.withLink ? 'email_code_sign_in' : options.apiSignIn ? 'email_code_api_sign_in' : 'email_code',
      verificationId: verification.id,
      params: { region: user.region },
    })
  } catch (e) {
    if (!(e instanceof MailUnavailableError)) throw e
    // Nothing will arrive: retire the code so the resend wait does not apply to the next try.
    await db.delete(v).where(eq(v.id, verification.id))
    return { ok: false, code: 'unavailable' }
  }
  return { ok: true, verificationId: verification.id }
}

/** When a new code for `target` may be asked for, or null when it may be now (the once-a-minute limit). */
export async function emailResendAt(target: string): Promise<Date | null> {
  const [latest] = await db
    .select({ at: sql<Date>`${v.createdAt} + make_interval(secs => ${EMAIL_CODE_RESEND_SECONDS})`.mapWith((x: string | Date) => new Date(x)) })
    .from(v)
    .where(and(eq(v.purpose, 'email_code'), eq(v.target, target), gt(v.createdAt, sql`now() - make_interval(secs => ${EMAIL_CODE_RESEND_SECONDS})`)))
    .orderBy(desc(v.createdAt))
    .limit(1)
  return latest?.at ?? null
}

/** The live email code for `target`, if one was sent. */
export async function findEmailCode(userId: string, target: string) {
  const [row] = await db
    .select()
    .from(v)
    .where(and(eq(v.purpose, 'email_code'), eq(v.target, target), eq(v.userId, userId), sql`${v.consumedAt} is null`, gt(v.expiresAt, sql`now()`), sql`${v.attempts} < ${v.maxAttempts}`))
    .orderBy(desc(v.createdAt))
    .limit(1)
  return row
}

export type EmailCodeCheck = { ok: true } | { ok: false; code: 'malformed' | 'invalid' | 'expired'; attemptsLeft: number }

/** Checks the code against the newest live code for `target`; a wrong one counts a try. */
export async function verifyEmailCode(user: User, target: string, input: string): Promise<EmailCodeCheck> {
  const code = input.replace(/\s+/g, '')
  if (!/^\d{6}$/.test(code)) return { ok: false, code: 'malformed', attemptsLeft: EMAIL_CODE_MAX_ATTEMPTS }
  const row = await findEmailCode(user.id, target)
  if (!row) return { ok: false, code: 'expired', attemptsLeft: 0 }
  const result = await checkCode(row.id, code)
  if (result.ok) return { ok: true }
  return { ok: false, code: result.reason, attemptsLeft: result.attemptsLeft }
}

export async function retireEmailCodes(userId: string) {
  await revokeVerifications(userId, 'email_code')
}

export const EMAIL_CODE_MESSAGES = {
  malformed: 'Enter the 6-digit code from the email.',
  invalid: 'That code is not right.',
  expired: 'That code has expired or was used up. Ask for a new one.',
  unavailable: 'We cannot send an email code right now. Use another method, or try again in a few minutes.',
} as const
