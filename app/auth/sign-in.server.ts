/**
 * The password step of sign-in, shared by the web form, the API and the benchmarks.
 * Unknown email and wrong password get the same answer after about the same work.
 */
import { and, eq, sql } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { burnPasswordCheck, verifyPassword } from './password.server.ts'
import { accountKey, normaliseEmail, recordUnknownAccountFailure, throttleAttempt, waitInWords } from './rate-limit.server.ts'
import { lockRemainingSeconds, MAX_LOCK_SECONDS, recordFailure } from './lockout.server.ts'
import { createSession, endSession, type SessionLevel, type User } from './session.server.ts'

export const INVALID_CREDENTIALS = 'Email or password is incorrect'

export type PasswordCheck =
  | { ok: true; user: User }
  | { ok: false; code: 'invalid_credentials' | 'throttled' | 'locked' | 'frozen'; message: string; retryAfterSeconds?: number }

export async function checkPassword(input: { region: string; email: string; password: string; meta: RequestMeta }): Promise<PasswordCheck> {
  const email = normaliseEmail(input.email)
  const throttle = await throttleAttempt(input.meta.ip, accountKey(input.region, email))
  if (!throttle.allowed) {
    return {
      ok: false,
      code: 'throttled',
      retryAfterSeconds: throttle.retryAfterSeconds,
      message: `Too many sign-in attempts. Try again in ${waitInWords(throttle.retryAfterSeconds)}.`,
    }
  }
  const [user] = await db.select().from(schema.users).where(and(eq(schema.users.region, input.region), eq(schema.users.email, email)))
  if (!user?.passwordHash) {
    await burnPasswordCheck(input.password)
    const mirroredLock = await recordUnknownAccountFailure(accountKey(input.region, email))
    await recordAudit({ action: 'auth.login_failed', actor: { id: null, label: email }, meta: input.meta, details: { region: input.region, reason: 'unknown_email' } })
    if (mirroredLock > 0) return lockedAnswer(mirroredLock)
    return { ok: false, code: 'invalid_credentials', message: INVALID_CREDENTIALS }
  }
  const locked = lockRemainingSeconds(user)
  if (locked > 0) {
    await burnPasswordCheck(input.password)
    return lockedAnswer(locked)
  }
  if (!(await verifyPassword(user.passwordHash, input.password))) {
    const { lockedForSeconds } = await recordWrongPassword(user, input.meta)
    if (lockedForSeconds > 0) return lockedAnswer(lockedForSeconds)
    return { ok: false, code: 'invalid_credentials', message: INVALID_CREDENTIALS }
  }
  return { ok: true, user }
}

/**
 * A wrong password for a known account, at sign-in or where a signed-in member confirms it (turning
 * 2FA off): one more failure on the account's lockout counter, audited as auth.login_failed.
 */
export async function recordWrongPassword(user: { id: string; email: string; region: string }, meta: RequestMeta, during?: string) {
  const failure = await recordFailure(user.id, meta)
  await recordAudit({ action: 'auth.login_failed', actor: { id: null, label: user.email }, subjectId: user.id, meta, details: { region: user.region, reason: 'wrong_password', ...(during ? { during } : {}) } })
  return failure
}

function lockedAnswer(seconds: number): PasswordCheck {
  if (seconds > MAX_LOCK_SECONDS) {
    return { ok: false, code: 'frozen', message: 'This account is frozen: it was locked after its owner reported a change they did not make. Contact support to unlock it.' }
  }
  return {
    ok: false,
    code: 'locked',
    retryAfterSeconds: seconds,
    message: `This account is locked after too many failed attempts. Try again in ${waitInWords(seconds)}, or contact support to unlock it sooner.`,
  }
}

/** Starts a real session once every step the member owes is done. */
export async function completeSignIn(input: {
  user: User
  level: SessionLevel
  meta: RequestMeta
  method?: 'password' | 'totp' | 'webauthn' | 'email' | 'recovery_code' | 'trusted_device'
  channel?: 'web' | 'api'
}) {
  const secondFactor = input.method && input.method !== 'password' && input.method !== 'trusted_device' ? input.method : undefined
  return db.transaction(async (tx) => {
    const created = await createSession(
      { userId: input.user.id, level: input.level, meta: input.meta, secondFactorMethod: secondFactor, channel: input.channel },
      tx,
    )
    // A success ends the run of consecutive failures (lockout counts only consecutive ones).
    await tx.update(schema.users).set({ failedAttempts: 0, lastSignInAt: sql`now()` }).where(eq(schema.users.id, input.user.id))
    const action = input.method === 'recovery_code' ? 'auth.login_success_backup_code' : input.level === 'mfa' ? 'auth.login_success_2fa' : 'auth.login_success'
    await recordAudit(
      { action, actor: { id: input.user.id, label: input.user.email }, subjectId: input.user.id, meta: input.meta, details: { method: input.method ?? 'password', level: input.level, channel: input.channel ?? 'web' } },
      tx,
    )
    return created
  })
}

/** Ends the session behind a token, and records it. */
export async function signOut(token: string | undefined, meta: RequestMeta): Promise<void> {
  const ended = await endSession(token)
  if (!ended) return
  const [user] = await db.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, ended.userId))
  await recordAudit({ action: 'auth.logout', actor: { id: ended.userId, label: user?.email ?? 'unknown' }, subjectId: ended.userId, meta, details: { channel: ended.channel } })
}
