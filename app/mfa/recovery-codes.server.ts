/**
 * Recovery codes: 10 one-time codes "xxxx-xxxx" from an alphabet without look-alikes (no 0/o,
 * 1/l/i). Stored as argon2id hashes only (salted: ASVS asks for that for secrets under 112 bits),
 * shown once. Accepted case-insensitively, with or without the hyphen; each works once.
 */
import { randomInt } from 'node:crypto'
import { randomUUID } from 'node:crypto'
import { and, count, eq, isNull, sql } from 'drizzle-orm'
import { hashPassword, verifyPassword } from '#app/auth/password.server.ts'
import { db, schema, type Tx } from '#db/client.ts'

export const RECOVERY_CODE_COUNT = 10
export const RECOVERY_LOW_WATERMARK = 3
export const RECOVERY_ALPHABET = '23456789abcdefghjkmnpqrstuvwxyz'

const r = schema.recoveryCodes

function newCode(): string {
  let s = ''
  for (let i = 0; i < 8; i++) s += RECOVERY_ALPHABET[randomInt(0, RECOVERY_ALPHABET.length)]
  return `${s.slice(0, 4)}-${s.slice(4)}`
}

/** "ABCD-EFGH", "abcdefgh", " abcd efgh " → "abcdefgh"; null when it cannot be a code. */
export function normaliseRecoveryCode(input: string): string | null {
  if (input.length > 40) return null
  const code = input.toLowerCase().replace(/[\s-]/g, '')
  return code.length === 8 && [...code].every((c) => RECOVERY_ALPHABET.includes(c)) ? code : null
}

/** Replaces the member's set with a fresh one; returns the codes (the only time they exist in clear). */
export async function generateRecoveryCodes(userId: string, tx: Tx = db): Promise<string[]> {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode)
  const hashes = await Promise.all(codes.map((c) => hashPassword(c.replace('-', ''))))
  const batchId = randomUUID()
  await tx.delete(r).where(eq(r.userId, userId))
  await tx.insert(r).values(hashes.map((codeHash) => ({ userId, batchId, codeHash })))
  return codes
}

export async function deleteRecoveryCodes(userId: string, tx: Tx = db) {
  await tx.delete(r).where(eq(r.userId, userId))
}

export async function countRecoveryCodes(userId: string, tx: Tx = db): Promise<number> {
  const [row] = await tx.select({ n: count() }).from(r).where(and(eq(r.userId, userId), isNull(r.usedAt)))
  return row?.n ?? 0
}

/** The member had recovery codes and has used every one (a regenerated or removed set leaves no rows). */
export async function recoveryCodesUsedUp(userId: string): Promise<boolean> {
  const [row] = await db.select({ total: count(), unused: sql<number>`count(*) filter (where ${r.usedAt} is null)`.mapWith(Number) }).from(r).where(eq(r.userId, userId))
  return (row?.total ?? 0) > 0 && row.unused === 0
}

export type RecoveryCheck = { ok: true; remaining: number } | { ok: false; code: 'malformed' | 'invalid' }

/** Checks a code against the member's unused ones and uses it up (one conditional UPDATE). */
export async function verifyRecoveryCode(userId: string, input: string): Promise<RecoveryCheck> {
  const code = normaliseRecoveryCode(input)
  if (!code) return { ok: false, code: 'malformed' }
  const unused = await db.select({ id: r.id, codeHash: r.codeHash }).from(r).where(and(eq(r.userId, userId), isNull(r.usedAt)))
  for (const row of unused) {
    if (!(await verifyPassword(row.codeHash, code))) continue
    const [won] = await db.update(r).set({ usedAt: sql`now()` }).where(and(eq(r.id, row.id), isNull(r.usedAt))).returning({ id: r.id })
    if (!won) return { ok: false, code: 'invalid' }
    return { ok: true, remaining: await countRecoveryCodes(userId) }
  }
  return { ok: false, code: 'invalid' }
}

export const RECOVERY_MESSAGES = {
  malformed: 'A recovery code looks like abcd-2345 (8 letters and digits).',
  invalid: 'That recovery code is not right or was already used.',
  none_left: 'No recovery codes left: you have used every one. Use another way to verify, or contact support if you cannot.',
} as const
