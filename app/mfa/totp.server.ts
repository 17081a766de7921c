/**
 * Authenticator apps (TOTP, RFC 6238): SHA-1, 6 digits, 30-second steps, one step either side.
 * The secret is encrypted at rest (AES-256-GCM under the key ring); the last accepted time step
 * is stored so an accepted code can never be used again (conditional UPDATE, so two racing
 * requests with the same code cannot both win).
 */
import { and, eq, isNotNull, isNull, lt, or, sql } from 'drizzle-orm'
import { generateSecret, generateURI, verify } from 'otplib'
import QRCode from 'qrcode'
import { timingSafeEqual } from 'node:crypto'
import { findRegion } from '#app/config/env.server.ts'
import { encryptSecret, readSecret, type SecretBinding } from '#app/auth/crypto.server.ts'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import { queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import type { User } from '#app/auth/session.server.ts'

export const TOTP_PERIOD = 30
export const TOTP_DIGITS = 6
/** One step either side, in seconds (otplib's tolerance is in seconds). */
export const TOTP_TOLERANCE_SECONDS = 30

export type TotpCheck = { ok: true; timeStep: number } | { ok: false; code: 'malformed' | 'invalid' | 'replayed' | 'no_app' }

const t = schema.totpFactors

/** Each ciphertext opens only in its own column of its own member's row (decision 062). */
const current = (userId: string): SecretBinding => ({ column: 'totp_factors.secret_ciphertext', userId })
const pending = (userId: string): SecretBinding => ({ column: 'totp_factors.pending_secret_ciphertext', userId })

/** Digits only, spaces allowed ("123 456"); anything else is malformed, never checked. */
export function normaliseTotpCode(input: string): string | null {
  const code = input.replace(/\s+/g, '')
  return /^\d{6}$/.test(code) ? code : null
}

export function issuerFor(region: string): string {
  return findRegion(region)?.issuer ?? 'Gatehouse'
}

/** Starts (or restarts) enrollment: a fresh unconfirmed secret. Refused when an app is already on. */
export async function beginTotpSetup(user: User) {
  const [existing] = await db.select().from(t).where(eq(t.userId, user.id))
  if (existing?.confirmedAt) return { ok: false as const, code: 'already_enabled' as const }
  const secret = generateSecret()
  const { ciphertext, keyId } = encryptSecret(secret, current(user.id))
  await db
    .insert(t)
    .values({ userId: user.id, secretCiphertext: ciphertext, keyId })
    .onConflictDoUpdate({ target: t.userId, set: { secretCiphertext: ciphertext, keyId, lastUsedStep: null, createdAt: sql`now()` }, where: isNull(t.confirmedAt) })
  return { ok: true as const, ...(await describeSetup(user, secret)) }
}

/** The pending setup's secret, URI and QR code (to show the page again after a wrong code). */
export async function pendingTotpSetup(user: User) {
  const [row] = await db.select().from(t).where(and(eq(t.userId, user.id), isNull(t.confirmedAt)))
  const secret = row && readSecret(row.secretCiphertext, row.keyId, current(user.id))
  if (!secret) return undefined
  return describeSetup(user, secret)
}

/**
 * Whether `typed` is the secret of the setup in progress (reference page 002's `{code, secret}`,
 * decision 071): spaces and case ignored, compared in constant time; null when none is in progress.
 */
export async function pendingSecretMatches(user: User, typed: string): Promise<boolean | null> {
  const setup = await pendingTotpSetup(user)
  if (!setup) return null
  const a = Buffer.from(setup.secret.toUpperCase())
  const b = Buffer.from(typed.replace(/\s+/g, '').toUpperCase())
  return a.length === b.length && timingSafeEqual(a, b)
}

async function describeSetup(user: User, secret: string) {
  const uri = generateURI({ issuer: issuerFor(user.region), label: user.email, secret, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD })
  const qrDataUrl = await QRCode.toDataURL(uri, { margin: 1, width: 220 })
  return { secret, uri, qrDataUrl, issuer: issuerFor(user.region) }
}

async function check(secret: string, code: string, afterTimeStep: number | null) {
  const result = await verify({ secret, token: code, epochTolerance: TOTP_TOLERANCE_SECONDS, ...(afterTimeStep !== null ? { afterTimeStep } : {}) })
  return result.valid && 'timeStep' in result ? result.timeStep : null
}

/** Confirms enrollment with a current code; the caller then runs factor bookkeeping (factors.server.ts). */
export async function confirmTotpSetup(user: User, input: string, tx: Tx = db): Promise<TotpCheck> {
  const code = normaliseTotpCode(input)
  if (!code) return { ok: false, code: 'malformed' }
  const [row] = await tx.select().from(t).where(and(eq(t.userId, user.id), isNull(t.confirmedAt)))
  if (!row) return { ok: false, code: 'no_app' }
  const secret = readSecret(row.secretCiphertext, row.keyId, current(user.id))
  const step = secret === null ? null : await check(secret, code, null)
  if (step === null) return { ok: false, code: 'invalid' }
  const [won] = await tx
    .update(t)
    .set({ confirmedAt: sql`now()`, lastUsedStep: step, lastUsedAt: sql`now()` })
    .where(and(eq(t.id, row.id), isNull(t.confirmedAt)))
    .returning({ id: t.id })
  return won ? { ok: true, timeStep: step } : { ok: false, code: 'invalid' }
}

/**
 * Checks a code for a member's enabled app. A code from an already accepted time step is refused
 * as a replay: recorded, and reported to the member by email. No Request or cookie here: the
 * web sign-in, step-up and the JSON API all call this.
 */
export async function verifyTotp(user: User, input: string, meta: RequestMeta): Promise<TotpCheck> {
  const code = normaliseTotpCode(input)
  if (!code) return { ok: false, code: 'malformed' }
  const [row] = await db.select().from(t).where(and(eq(t.userId, user.id), isNotNull(t.confirmedAt)))
  if (!row) return { ok: false, code: 'no_app' }
  // A secret that does not open here (copied from another row) accepts no code.
  const secret = readSecret(row.secretCiphertext, row.keyId, current(user.id))
  const step = secret === null ? null : await check(secret, code, null)
  if (step === null) return { ok: false, code: 'invalid' }
  const [won] = await db
    .update(t)
    .set({ lastUsedStep: step, lastUsedAt: sql`now()` })
    .where(and(eq(t.id, row.id), or(isNull(t.lastUsedStep), lt(t.lastUsedStep, step))))
    .returning({ id: t.id })
  if (won) return { ok: true, timeStep: step }
  await recordAudit({ action: 'auth.totp_replay_refused', actor: { id: user.id, label: user.email }, subjectId: user.id, meta, details: { timeStep: step } })
  await queueNotice({ to: user.email, userId: user.id, template: 'totp_replay', params: { at: new Date().toISOString(), ip: meta.ip } })
  return { ok: false, code: 'replayed' }
}

/** How long a started replacement waits for the new app's first code. */
export const TOTP_REPLACEMENT_SECONDS = 10 * 60

/** Wrong codes a pending replacement takes; the last one drops it (start again for a new secret). */
export const TOTP_REPLACEMENT_MAX_WRONG = 5

export type TotpReplacementCheck = TotpCheck | { ok: false; code: 'no_pending' | 'expired' | 'too_many' }

/**
 * Starts moving an enabled app to a new phone: a fresh secret, stored encrypted beside the current
 * one, which keeps signing in until the new app proves it has the secret (confirmTotpReplacement).
 * A replacement still running is shown again rather than remade (the member may have scanned it).
 */
export async function beginTotpReplacement(user: User) {
  const [row] = await db.select().from(t).where(and(eq(t.userId, user.id), isNotNull(t.confirmedAt)))
  if (!row) return { ok: false as const, code: 'no_app' as const }
  if (row.pendingSecretCiphertext && row.pendingKeyId && row.pendingExpiresAt && row.pendingExpiresAt > new Date()) {
    const shown = readSecret(row.pendingSecretCiphertext, row.pendingKeyId, pending(user.id))
    if (shown) return { ok: true as const, expiresAt: row.pendingExpiresAt, ...(await describeSetup(user, shown)) }
  }
  const secret = generateSecret()
  const { ciphertext, keyId } = encryptSecret(secret, pending(user.id))
  const [started] = await db
    .update(t)
    .set({ pendingSecretCiphertext: ciphertext, pendingKeyId: keyId, pendingExpiresAt: sql`now() + make_interval(secs => ${TOTP_REPLACEMENT_SECONDS})`, pendingAttempts: 0 })
    .where(and(eq(t.id, row.id), isNotNull(t.confirmedAt)))
    .returning({ expiresAt: t.pendingExpiresAt })
  if (!started) return { ok: false as const, code: 'no_app' as const }
  return { ok: true as const, expiresAt: started.expiresAt!, ...(await describeSetup(user, secret)) }
}

/**
 * Confirms a replacement with a current code from the NEW app (inside the caller's transaction):
 * the new secret takes the old one's place, the pending columns are cleared, and the replay guard
 * starts from the new code's step. Conditional on the pending ciphertext read, so a replacement
 * restarted or cancelled meanwhile is never confirmed with a code for another secret.
 */
export async function confirmTotpReplacement(user: User, input: string, tx: Tx): Promise<TotpReplacementCheck> {
  const code = normaliseTotpCode(input)
  if (!code) return { ok: false, code: 'malformed' }
  const [row] = await tx.select().from(t).where(and(eq(t.userId, user.id), isNotNull(t.confirmedAt))).for('update')
  if (!row) return { ok: false, code: 'no_app' }
  if (!row.pendingSecretCiphertext || !row.pendingKeyId || !row.pendingExpiresAt) return { ok: false, code: 'no_pending' }
  if (row.pendingExpiresAt <= new Date()) return { ok: false, code: 'expired' }
  const newSecret = readSecret(row.pendingSecretCiphertext, row.pendingKeyId, pending(user.id))
  const step = newSecret === null ? null : await check(newSecret, code, null)
  if (step === null || newSecret === null) {
    // Counted on the row (locked above); the last allowed wrong code drops the replacement.
    const dropped = row.pendingAttempts + 1 >= TOTP_REPLACEMENT_MAX_WRONG
    await tx
      .update(t)
      .set(dropped ? { pendingSecretCiphertext: null, pendingKeyId: null, pendingExpiresAt: null, pendingAttempts: 0 } : { pendingAttempts: row.pendingAttempts + 1 })
      .where(eq(t.id, row.id))
    return { ok: false, code: dropped ? 'too_many' : 'invalid' }
  }
  // Moving columns changes the binding: encrypted again for the current column, not copied.
  const moved = encryptSecret(newSecret, current(user.id))
  const [won] = await tx
    .update(t)
    .set({
      secretCiphertext: moved.ciphertext,
      keyId: moved.keyId,
      pendingSecretCiphertext: null,
      pendingKeyId: null,
      pendingExpiresAt: null,
      pendingAttempts: 0,
      confirmedAt: sql`now()`,
      createdAt: sql`now()`,
      lastUsedStep: step,
      lastUsedAt: sql`now()`,
    })
    .where(and(eq(t.id, row.id), eq(t.pendingSecretCiphertext, row.pendingSecretCiphertext)))
    .returning({ id: t.id })
  return won ? { ok: true, timeStep: step } : { ok: false, code: 'no_pending' }
}

/** Drops a started replacement; the current app is untouched. Returns whether there was one. */
export async function cancelTotpReplacement(userId: string): Promise<boolean> {
  const rows = await db
    .update(t)
    .set({ pendingSecretCiphertext: null, pendingKeyId: null, pendingExpiresAt: null })
    .where(and(eq(t.userId, userId), isNotNull(t.pendingSecretCiphertext)))
    .returning({ id: t.id })
  return rows.length > 0
}

export const TOTP_REPLACEMENT_MESSAGES: Record<Exclude<TotpReplacementCheck, { ok: true }>['code'], string> = {
  malformed: 'Enter the 6-digit code from your new authenticator app.',
  invalid: 'That code is not right. Enter the newest code from the NEW app (the one you just scanned), and check the time on that phone.',
  replayed: 'That code was already used. Wait for the next code in your new app.',
  no_app: 'There is no authenticator app on this account to replace.',
  no_pending: 'There is no replacement waiting for a code. Start again with "Replace authenticator app".',
  expired: 'This replacement expired (it lasts 10 minutes). Your current app still works. Start again to get a new QR code.',
  too_many: `Too many wrong codes (${TOTP_REPLACEMENT_MAX_WRONG}): that QR code no longer works. Your current app still works; scan a new QR code to try again.`,
}

export async function getTotp(userId: string) {
  const [row] = await db.select({ confirmedAt: t.confirmedAt, lastUsedAt: t.lastUsedAt }).from(t).where(and(eq(t.userId, userId), isNotNull(t.confirmedAt)))
  return row
}

export async function deleteTotp(userId: string, tx: Tx = db): Promise<boolean> {
  const rows = await tx.delete(t).where(eq(t.userId, userId)).returning({ confirmedAt: t.confirmedAt })
  return rows.some((r) => r.confirmedAt)
}

export const TOTP_MESSAGES: Record<Exclude<TotpCheck, { ok: true }>['code'], string> = {
  malformed: 'Enter the 6-digit code from your authenticator app.',
  invalid: 'That code is not right. Check the time on your phone and try the newest code.',
  replayed: 'That code was already used. Wait for the next code in your app.',
  no_app: 'There is no authenticator app on this account.',
}
