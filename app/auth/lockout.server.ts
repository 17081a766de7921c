/**
 * Account lockout, kept in the database: after `LOCKOUT_THRESHOLD` consecutive failures
 * (password or second factor) the account locks for an hour, doubling with each repeat up to
 * 24 hours. Support can lift it early (unlockUser).
 */
import { eq, sql } from 'drizzle-orm'
import { config } from '#app/config/env.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, systemActor, type RequestMeta } from '#app/audit/record.server.ts'

const u = schema.users

/** The longest lockout that failures cause; a longer one was set on purpose (a frozen account, see app/support/freeze). */
export const MAX_LOCK_SECONDS = 24 * 3600

export function lockRemainingSeconds(user: { lockedUntil: Date | null }, now = new Date()): number {
  if (!user.lockedUntil || user.lockedUntil <= now) return 0
  return Math.ceil((user.lockedUntil.getTime() - now.getTime()) / 1000)
}

/** Counts one failure; locks the account when the threshold is reached. */
export async function recordFailure(userId: string, meta: RequestMeta, tx: Tx = db): Promise<{ lockedForSeconds: number }> {
  const threshold = config.lockoutThreshold
  const [row] = await tx
    .update(u)
    .set({
      failedAttempts: sql`case when ${u.failedAttempts} + 1 >= ${threshold} then 0 else ${u.failedAttempts} + 1 end`,
      lockedUntil: sql`case when ${u.failedAttempts} + 1 >= ${threshold}
        then now() + least(interval '24 hours', interval '1 hour' * power(2, ${u.lockCount})) else ${u.lockedUntil} end`,
      lockCount: sql`case when ${u.failedAttempts} + 1 >= ${threshold} then ${u.lockCount} + 1 else ${u.lockCount} end`,
    })
    .where(eq(u.id, userId))
    .returning({ failedAttempts: u.failedAttempts, lockedUntil: u.lockedUntil, lockCount: u.lockCount })
  if (row && row.failedAttempts === 0 && row.lockedUntil && row.lockedUntil > new Date()) {
    const seconds = lockRemainingSeconds(row)
    await recordAudit({ action: 'auth.locked', actor: systemActor('system'), subjectId: userId, meta, details: { lockedForSeconds: seconds, lockCount: row.lockCount, threshold } }, tx)
    return { lockedForSeconds: seconds }
  }
  return { lockedForSeconds: 0 }
}

/** Lifts a lockout (support). Returns false when the account was not locked. */
export async function unlockUser(userId: string, tx: Tx = db): Promise<boolean> {
  const [row] = await tx
    .update(u)
    .set({ lockedUntil: null, failedAttempts: 0 })
    .where(sql`${u.id} = ${userId} and ${u.lockedUntil} > now()`)
    .returning({ id: u.id })
  return Boolean(row)
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
