/**
 * Security state made directly in this file's database: sessions at a chosen level (support
 * staff cannot reach level 'mfa' through sign-in until the MFA flow lands), and factors,
 * recovery codes and trusted devices for a member.
 */
import { randomBytes } from 'node:crypto'
import { generateSecret } from 'otplib'
import { encryptSecret, keyedHash, randomToken } from '#app/auth/crypto.server.ts'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import type { TestClient } from '#tests/setup/http.ts'

/** A session for `userId` at `level`, its cookie set on `client`. secondFactorAt is now when a method is given. */
export async function signInAs(client: TestClient, userId: string, options: { level?: 'password' | 'mfa' | 'enroll_only'; secondFactorMethod?: string } = {}) {
  const level = options.level ?? 'mfa'
  const { token, session } = await createSession({
    userId,
    level,
    meta: { ip: '127.0.0.1', userAgent: 'test' },
    secondFactorMethod: options.secondFactorMethod ?? (level === 'mfa' ? 'totp' : undefined),
  })
  client.cookies.set('gh_session', token)
  return { token, session }
}

/**
 * Marks the user's current sessions as having passed a second factor at sign-in, but not within
 * the last 5 minutes (as a trusted-device sign-in does): owners and admins may change things with
 * them, but not lower protection (decision 056).
 */
export async function passedSecondFactorAtSignIn(userId: string) {
  const { eq } = await import('drizzle-orm')
  await db.update(schema.sessions).set({ level: 'mfa', secondFactorAt: null }).where(eq(schema.sessions.userId, userId))
}

/** An app, two keys, ten recovery codes (one used), two trusted devices. Returns the TOTP secret. */
export async function giveFactors(userId: string) {
  const secret = generateSecret()
  const { ciphertext, keyId } = encryptSecret(secret, { column: 'totp_factors.secret_ciphertext', userId })
  await db.insert(schema.totpFactors).values({ userId, secretCiphertext: ciphertext, keyId, confirmedAt: new Date(), lastUsedAt: new Date() })
  for (const label of ['YubiKey 5C', 'MacBook Touch ID']) {
    await db.insert(schema.webauthnCredentials).values({ userId, credentialId: randomToken(16), publicKey: randomToken(32), label, deviceType: label.includes('Touch') ? 'multiDevice' : 'singleDevice' })
  }
  const batchId = crypto.randomUUID()
  for (let i = 0; i < 10; i++) {
    await db.insert(schema.recoveryCodes).values({ userId, batchId, codeHash: `$argon2id$fake$${randomBytes(8).toString('hex')}`, usedAt: i === 0 ? new Date() : null })
  }
  for (const label of ['Firefox on Linux', 'Safari on iPhone']) {
    await db.insert(schema.trustedDevices).values({ userId, tokenHash: keyedHash('device', randomToken()), label, method: 'totp', expiresAt: new Date(Date.now() + 7 * 86_400_000) })
  }
  await db.update(schema.users).set({ mfaEnabledAt: new Date(), preferredMethod: 'totp' }).where((await import('drizzle-orm')).eq(schema.users.id, userId))
  return { secret, ciphertext }
}

export async function securityCounts(userId: string) {
  const { eq, count } = await import('drizzle-orm')
  const n = async (table: typeof schema.totpFactors | typeof schema.webauthnCredentials | typeof schema.recoveryCodes | typeof schema.trustedDevices | typeof schema.sessions) => {
    const [row] = await db.select({ n: count() }).from(table).where(eq(table.userId, userId))
    return row.n
  }
  return {
    totp: await n(schema.totpFactors),
    webauthn: await n(schema.webauthnCredentials),
    recoveryCodes: await n(schema.recoveryCodes),
    trustedDevices: await n(schema.trustedDevices),
    sessions: await n(schema.sessions),
  }
}
