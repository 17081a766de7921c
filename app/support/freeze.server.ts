/**
 * "Freeze my account", the link in every reset notice and every "a factor was added" notice: a
 * member who did not make the change locks the account until support lifts it. Every support
 * person is emailed, and sees the lock and the auth.account_frozen event on the member's page.
 * The GET page changes nothing (mail scanners open links); the POST consumes the link once,
 * locks, and ends every session.
 */
import { eq, sql } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { endAllSessions } from '#app/auth/session.server.ts'
import { consumeVerification, findByToken, ownerOfToken } from '#app/auth/verification.server.ts'
import { revokeAllDevices } from '#app/mfa/trusted-devices.server.ts'
import { enqueueStaffNotices, writeStaffNotices } from './staff-notices.server.ts'
import { revokeAccessCodesOnFreeze } from './temporary-access.server.ts'

/** A frozen account stays locked until support unlocks it (lockedUntil far in the future). */
export const FREEZE_YEARS = 100

export async function findFreezeLink(token: string) {
  const verification = await findByToken('freeze', token)
  if (!verification?.userId) return undefined
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  return user ? { verification, user } : undefined
}

/** The region of the account the link was made for, even once used (the page after freezing keeps its language). */
export async function freezeLinkRegion(token: string): Promise<string | null> {
  const userId = await ownerOfToken('freeze', token)
  if (!userId) return null
  const [user] = await db.select({ region: schema.users.region }).from(schema.users).where(eq(schema.users.id, userId))
  return user?.region ?? null
}

const linkExpired = () => new DomainError('link_expired', 'This link has expired or was already used. Contact support.')

/** Freezes the account behind the link; link_expired when it was used or has expired. Returns the account's email. */
export async function freezeAccount(token: string, meta: RequestMeta): Promise<{ email: string }> {
  const found = await findFreezeLink(token)
  if (!found) throw linkExpired()
  const done = await db.transaction(async (tx) => {
    if (!(await consumeVerification(found.verification.id, tx))) return undefined
    await tx
      .update(schema.users)
      .set({ lockedUntil: sql`now() + make_interval(years => ${FREEZE_YEARS})`, failedAttempts: 0 })
      .where(eq(schema.users.id, found.user.id))
    const sessions = await endAllSessions(found.user.id, tx)
    const devices = await revokeAllDevices(found.user, meta, tx, 'frozen')
    // A temporary access code not used yet stops working too (decision 070).
    await revokeAccessCodesOnFreeze(found.user, meta, tx)
    await recordAudit(
      { action: 'auth.account_frozen', actor: { id: found.user.id, label: found.user.email }, subjectId: found.user.id, meta, details: { via: found.verification.payload.via ?? 'notice', sessionsEnded: sessions, devicesRevoked: devices } },
      tx,
    )
    return writeStaffNotices(
      { template: 'support_account_frozen', path: `/support/users/${found.user.id}`, params: { memberEmail: found.user.email, memberRegion: found.user.region, at: new Date().toISOString() } },
      tx,
    )
  })
  if (!done) throw linkExpired()
  // Support is told at once: a member who froze their account is waiting for a call.
  await enqueueStaffNotices(done)
  return { email: found.user.email }
}
