/**
 * The one verification engine: every one-time secret (pending sign-in, email code, WebAuthn
 * challenge, step-up, invite, password reset, API challenge) is a row here, keyed by purpose,
 * stored as keyed hashes, expiring, counted, and consumed once by a conditional UPDATE so that
 * two racing requests cannot both win.
 */
import { and, eq, gt, inArray, isNull, lt, sql } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { keyedHash, keyedHashes, randomToken } from './crypto.server.ts'

export type Purpose =
  | 'login' | 'email_code' | 'webauthn_register' | 'webauthn_login' | 'step_up' | 'invite'
  | 'password_reset' | 'enroll_email' | 'totp_setup' | 'freeze' | 'temporary_access' | 'passkey_login'
  | 'sso' | 'sso_link'
export type Verification = typeof schema.verifications.$inferSelect

const v = schema.verifications

export async function createVerification(
  input: {
    purpose: Purpose
    userId?: string | null
    target?: string | null
    payload?: Record<string, unknown>
    ttlSeconds: number
    maxAttempts?: number
    /** Mint a bearer token now (returned once, stored hashed). */
    withToken?: boolean
  },
  tx: Tx = db,
): Promise<{ verification: Verification; token?: string }> {
  const token = input.withToken ? randomToken() : undefined
  const [verification] = await tx
    .insert(v)
    .values({
      purpose: input.purpose,
      userId: input.userId ?? null,
      target: input.target ?? null,
      payload: input.payload ?? {},
      tokenHash: token ? keyedHash(`verification:${input.purpose}`, token) : null,
      maxAttempts: input.maxAttempts ?? 5,
      expiresAt: new Date(Date.now() + input.ttlSeconds * 1000),
    })
    .returning()
  return { verification, token }
}

const live = () => and(isNull(v.consumedAt), gt(v.expiresAt, sql`now()`), lt(v.attempts, v.maxAttempts))

/** A live (unexpired, unconsumed, not exhausted) verification by its bearer token. */
export async function findByToken(purpose: Purpose, token: string, tx: Tx = db): Promise<Verification | undefined> {
  if (!token || token.length > 200) return undefined
  const [row] = await tx
    .select()
    .from(v)
    // Every key of the hash ring: a link mailed before a rotation still opens (decision 062).
    .where(and(eq(v.purpose, purpose), inArray(v.tokenHash, keyedHashes(`verification:${purpose}`, token)), live()))
  return row
}

/** `findByToken` with the account it was made for, in one query (a sign-in's pending challenge). */
export async function findByTokenWithUser(purpose: Purpose, token: string): Promise<{ verification: Verification; user: typeof schema.users.$inferSelect } | undefined> {
  if (!token || token.length > 200) return undefined
  const [row] = await db
    .select({ verification: v, user: schema.users })
    .from(v)
    .innerJoin(schema.users, eq(schema.users.id, v.userId))
    .where(and(eq(v.purpose, purpose), inArray(v.tokenHash, keyedHashes(`verification:${purpose}`, token)), live()))
  return row
}

/**
 * The account a link was made for, used or expired alike (while its row is kept): only for words
 * such as the page's language (decision 079), never to let the link do anything.
 */
export async function ownerOfToken(purpose: Purpose, token: string, tx: Tx = db): Promise<string | null> {
  if (!token || token.length > 200) return null
  const [row] = await tx
    .select({ userId: v.userId })
    .from(v)
    .where(and(eq(v.purpose, purpose), inArray(v.tokenHash, keyedHashes(`verification:${purpose}`, token))))
  return row?.userId ?? null
}

export async function findLive(id: string, purpose: Purpose, tx: Tx = db): Promise<Verification | undefined> {
  if (!isUuid(id)) return undefined
  const [row] = await tx.select().from(v).where(and(eq(v.id, id), eq(v.purpose, purpose), live()))
  return row
}

/** Consumes once: true for the one caller that wins. */
export async function consumeVerification(id: string, tx: Tx = db): Promise<Verification | undefined> {
  const [row] = await tx.update(v).set({ consumedAt: sql`now()` }).where(and(eq(v.id, id), live())).returning()
  return row
}

/** Replaces the token of a verification (the mail worker mints links this way) and returns it. */
export async function mintToken(id: string, purpose: Purpose, tx: Tx = db): Promise<string | undefined> {
  const token = randomToken()
  const [row] = await tx
    .update(v)
    .set({ tokenHash: keyedHash(`verification:${purpose}`, token), sentAt: sql`now()` })
    .where(and(eq(v.id, id), live()))
    .returning({ id: v.id })
  return row ? token : undefined
}

/** Replaces the short code of a verification (email codes) and returns it. */
export async function mintCode(id: string, code: string, tx: Tx = db): Promise<boolean> {
  const [row] = await tx
    .update(v)
    .set({ codeHash: keyedHash(`code:${id}`, code), sentAt: sql`now()` })
    .where(and(eq(v.id, id), live()))
    .returning({ id: v.id })
  return Boolean(row)
}

export type CodeCheck = { ok: true; verification: Verification } | { ok: false; reason: 'invalid' | 'expired'; attemptsLeft: number }

/** Checks a short code: one conditional UPDATE consumes it on a match, otherwise one counts the attempt. */
export async function checkCode(id: string, code: string, tx: Tx = db): Promise<CodeCheck> {
  if (!isUuid(id)) return { ok: false, reason: 'expired', attemptsLeft: 0 }
  const [won] = await tx
    .update(v)
    .set({ consumedAt: sql`now()` })
    .where(and(eq(v.id, id), live(), inArray(v.codeHash, keyedHashes(`code:${id}`, code))))
    .returning()
  if (won) return { ok: true, verification: won }
  const [counted] = await tx
    .update(v)
    .set({ attempts: sql`${v.attempts} + 1` })
    .where(and(eq(v.id, id), live()))
    .returning({ attempts: v.attempts, maxAttempts: v.maxAttempts })
  if (!counted) return { ok: false, reason: 'expired', attemptsLeft: 0 }
  return { ok: false, reason: 'invalid', attemptsLeft: Math.max(0, counted.maxAttempts - counted.attempts) }
}

/**
 * Consumes a verification by its short code, without counting a miss on it: one conditional UPDATE,
 * so two racing requests cannot both win. For a code whose misses count elsewhere (a temporary
 * access code's wrong answers count on the pending sign-in and the account lockout, decision 070).
 */
export async function consumeByCode(id: string, code: string, tx: Tx = db): Promise<Verification | undefined> {
  if (!isUuid(id)) return undefined
  const [row] = await tx
    .update(v)
    .set({ consumedAt: sql`now()` })
    .where(and(eq(v.id, id), live(), inArray(v.codeHash, keyedHashes(`code:${id}`, code))))
    .returning()
  return row
}

/** Counts a failed attempt against a verification (e.g. a wrong TOTP code during a pending sign-in). */
export async function countAttempt(id: string, tx: Tx = db): Promise<number> {
  const [row] = await tx
    .update(v)
    .set({ attempts: sql`${v.attempts} + 1` })
    .where(and(eq(v.id, id), live()))
    .returning({ attempts: v.attempts, maxAttempts: v.maxAttempts })
  return row ? Math.max(0, row.maxAttempts - row.attempts) : 0
}

export async function revokeVerifications(userId: string, purpose: Purpose, tx: Tx = db) {
  await tx.update(v).set({ consumedAt: sql`now()` }).where(and(eq(v.userId, userId), eq(v.purpose, purpose), isNull(v.consumedAt)))
}

export function isUuid(value: string): boolean {
  return /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(value)
}
