/**
 * Lifting a lockout early, with a reason, audited as support.unlock. Support's console goes
 * through supportUnlock (app/support/approvals.server.ts): a frozen or privileged account waits
 * for a second support person. `unlockAccount` is the operator CLI's break-glass path (the
 * operator is already at the database) and does it at once (decision 057).
 */
import { eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { recordAudit, NO_REQUEST, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { lockRemainingSeconds, MAX_LOCK_SECONDS, unlockUser } from '#app/auth/lockout.server.ts'
import { DomainError } from '#app/errors.ts'
import { noSuchAccount } from './reset.server.ts'

export const UNLOCK_REASON_MIN = 5
export const UNLOCK_REASON_MAX = 500

export const NOT_LOCKED = 'This account is not locked.'
export const notLocked = () => new DomainError('invalid_request', NOT_LOCKED)

export function unlockReasonError(reason: string): string | null {
  const r = reason.trim()
  if (r.length < UNLOCK_REASON_MIN) return `Give a reason of at least ${UNLOCK_REASON_MIN} characters`
  if (r.length > UNLOCK_REASON_MAX) return `Keep the reason under ${UNLOCK_REASON_MAX} characters`
  return null
}

export function requireUnlockReason(reason: string): void {
  const error = unlockReasonError(reason)
  if (error) throw new DomainError('invalid_request', error, 'reason')
}

/** A lock longer than any failure lockout was set on purpose: the member froze the account (decision 032). */
export const isFrozen = (user: { lockedUntil: Date | null }) => lockRemainingSeconds(user) > MAX_LOCK_SECONDS

/** Locks the account row and reads it. */
export async function lockTarget(targetUserId: string, tx: Tx) {
  const [target] = await tx.select().from(schema.users).where(eq(schema.users.id, targetUserId)).for('update')
  if (!target) throw noSuchAccount()
  return target
}

/** The unlock inside the caller's transaction (the target row locked); null when it was not locked. */
export async function unlockInTx(input: { actor: Actor; targetUserId: string; reason: string; meta?: RequestMeta; details?: Record<string, unknown> }, tx: Tx): Promise<Date | null> {
  const target = await lockTarget(input.targetUserId, tx)
  const wasLockedUntil = target.lockedUntil
  if (!(await unlockUser(target.id, tx)) || !wasLockedUntil) return null
  await recordAudit(
    { action: 'support.unlock', actor: input.actor, subjectId: target.id, meta: input.meta ?? NO_REQUEST, details: { reason: input.reason.trim(), wasLockedUntil: wasLockedUntil.toISOString(), ...input.details } },
    tx,
  )
  return wasLockedUntil
}

/** The operator CLI's unlock: at once, whoever the account is (break-glass, decision 057). Returns until when it was locked. */
export async function unlockAccount(input: { actor: Actor; targetUserId: string; reason: string; meta?: RequestMeta }): Promise<Date> {
  requireUnlockReason(input.reason)
  const wasLockedUntil = await db.transaction((tx) => unlockInTx(input, tx))
  if (!wasLockedUntil) throw notLocked()
  return wasLockedUntil
}
