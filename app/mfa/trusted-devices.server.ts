/**
 * "Remember this device": a 256-bit token in its own cookie, stored as a keyed hash. It counts
 * only while younger than the remember-device days, only if the method it was earned with is
 * still one the member has, never after 2FA was turned off or reset, and never for staff.
 */
import { and, desc, eq, gt, inArray, sql } from 'drizzle-orm'
import { COOKIE, clearCookie, readCookie, setCookie } from '#app/auth/cookies.server.ts'
import { keyedHash, keyedHashes, randomToken } from '#app/auth/crypto.server.ts'
import { browserLabel } from '#app/auth/user-agent.ts'
import type { User } from '#app/auth/session.server.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { db, schema, type Tx } from '#db/client.ts'

export const DEFAULT_REMEMBER_DAYS = 14
const d = schema.trustedDevices
const hash = (token: string) => keyedHash('trusted-device', token)

export type DeviceMethod = 'totp' | 'webauthn' | 'email'

export async function rememberDevice(user: User, method: DeviceMethod, meta: RequestMeta, days = DEFAULT_REMEMBER_DAYS): Promise<string | undefined> {
  if (user.platformRole !== 'none') return undefined
  const token = randomToken()
  // The same words as the sessions list (decision 061).
  const label = browserLabel(meta.userAgent).label
  const [row] = await db
    .insert(d)
    .values({ userId: user.id, tokenHash: hash(token), label, method, lastUsedAt: sql`now()`, expiresAt: new Date(Date.now() + days * 86_400_000) })
    .returning({ id: d.id })
  await recordAudit({ action: 'auth.trusted_device_added', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { deviceId: row.id, label, method, days } })
  return setCookie(COOKIE.device, token, days * 86_400)
}

/**
 * The live trusted-device row of `user` behind this browser's token (COOKIE.device), or undefined.
 * Whether it still counts (age under the policy's days, method, 2FA turned on or reset since, staff)
 * is the sign-in decision's (app/sign-in/decide.ts); `markTrustedDeviceUsed` once it did.
 */
export async function findTrustedDevice(token: string | undefined, userId: string) {
  if (!token || token.length > 100) return undefined
  const [row] = await db
    .select({ id: d.id, method: d.method, createdAt: d.createdAt })
    .from(d)
    .where(and(inArray(d.tokenHash, keyedHashes('trusted-device', token)), eq(d.userId, userId), gt(d.expiresAt, sql`now()`)))
  return row
}

export async function markTrustedDeviceUsed(deviceId: string, token: string) {
  // Any key of the hash ring matched; the hash moves to the current key (decision 062).
  await db.update(d).set({ tokenHash: hash(token), lastUsedAt: sql`now()` }).where(eq(d.id, deviceId))
}

export async function listDevices(userId: string) {
  return db
    .select({ id: d.id, label: d.label, method: d.method, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt, expiresAt: d.expiresAt })
    .from(d)
    .where(and(eq(d.userId, userId), gt(d.expiresAt, sql`now()`)))
    .orderBy(desc(d.createdAt))
}

export async function revokeDevice(user: User, deviceId: string, meta: RequestMeta): Promise<boolean> {
  const [row] = await db.delete(d).where(and(eq(d.userId, user.id), eq(d.id, deviceId))).returning({ id: d.id, label: d.label })
  if (!row) return false
  await recordAudit({ action: 'auth.trusted_device_revoked', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { deviceId: row.id, label: row.label } })
  return true
}

export async function revokeAllDevices(user: Pick<User, 'id' | 'email'>, meta: RequestMeta, tx: Tx = db, reason = 'member'): Promise<number> {
  const rows = await tx.delete(d).where(eq(d.userId, user.id)).returning({ id: d.id })
  if (rows.length) {
    await recordAudit({ action: 'auth.trusted_device_revoked', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { all: true, count: rows.length, reason } }, tx)
  }
  return rows.length
}

export const clearDeviceCookie = () => clearCookie(COOKIE.device)

export const readDeviceToken = (request: Request) => readCookie(request, COOKIE.device)
