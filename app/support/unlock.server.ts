/** Lifting a lockout early (support console and CLI), with a reason, audited as support.unlock. */
import { eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { recordAudit, NO_REQUEST, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { unlockUser } from '#app/auth/lockout.server.ts'
import { UnknownUserError } from './reset.server.ts'

export const UNLOCK_REASON_MIN = 5

export type UnlockOutcome = { ok: true; wasLockedUntil: Date } | { ok: false; code: 'not_locked' | 'reason'; message: string }

export async function unlockAccount(input: { actor: Actor; targetUserId: string; reason: string; meta?: RequestMeta }): Promise<UnlockOutcome> {
  const reason = input.reason.trim()
  if (reason.length < UNLOCK_REASON_MIN) return { ok: false, code: 'reason', message: `Give a reason of at least ${UNLOCK_REASON_MIN} characters` }
  return db.transaction(async (tx) => {
    const [target] = await tx.select().from(schema.users).where(eq(schema.users.id, input.targetUserId)).for('update')
    if (!target) throw new UnknownUserError()
    const wasLockedUntil = target.lockedUntil
    if (!(await unlockUser(target.id, tx)) || !wasLockedUntil) return { ok: false as const, code: 'not_locked' as const, message: 'This account is not locked.' }
    await recordAudit({ action: 'support.unlock', actor: input.actor, subjectId: target.id, meta: input.meta ?? NO_REQUEST, details: { reason, wasLockedUntil: wasLockedUntil.toISOString() } }, tx)
    return { ok: true as const, wasLockedUntil }
  })
}
