/**
 * The temporary access code as a factor (decision 070): what the member types at the second step
 * of a sign-in when support (or their organization admin) issued one after checking who they are.
 * The code is a 'temporary_access' verification of the member: 16 characters of an unambiguous
 * alphabet (80 random bits), stored as the keyed hash of its id and value, 1 to 24 hours, one use.
 * Using it is one conditional UPDATE (two racing sign-ins cannot both win) and the audit event
 * `auth.temporary_access_used`, in the caller's transaction. Issuing and revoking live in
 * app/support/temporary-access.server.ts. Wrong answers count where the verifier counts them.
 */
import { randomInt } from 'node:crypto'
import { and, desc, eq, gt, isNull, sql } from 'drizzle-orm'
import { recordAudit, type RequestMeta } from '#app/audit/record.server.ts'
import type { User } from '#app/auth/session.server.ts'
import { consumeByCode } from '#app/auth/verification.server.ts'
import { db, schema, type Tx } from '#db/client.ts'

/** Crockford's base32: no I, L, O or U, so a code read over the phone is not misheard. */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
export const ACCESS_CODE_LENGTH = 16

export const ACCESS_CODE_MESSAGES = {
  malformed: `A temporary access code has ${ACCESS_CODE_LENGTH} letters and digits, for example ABCD-EFGH-JKMN-PQRS.`,
  invalid: 'That temporary access code is not valid: it is mistyped, was already used, has expired or was revoked. Ask whoever gave it to you for a new one.',
} as const

/** A new random code, in its canonical form (no dashes). */
export function generateAccessCode(): string {
  let code = ''
  for (let i = 0; i < ACCESS_CODE_LENGTH; i++) code += ALPHABET[randomInt(ALPHABET.length)]
  return code
}

/** How the code is shown: four groups of four. */
export const formatAccessCode = (code: string) => code.match(/.{1,4}/g)!.join('-')

/** What the member typed, in canonical form (case, spaces and dashes ignored; O read as 0, I and L as 1), or null. */
export function normaliseAccessCode(typed: string): string | null {
  const code = typed.toUpperCase().replace(/[\s-]+/g, '').replace(/O/g, '0').replace(/[IL]/g, '1')
  if (code.length !== ACCESS_CODE_LENGTH || [...code].some((c) => !ALPHABET.includes(c))) return null
  return code
}

const v = schema.verifications

/** The member's live code (one at most: issuing a new one revokes the earlier, decision 070). */
export async function liveAccessCode(userId: string, tx: Tx = db) {
  const [row] = await tx
    .select()
    .from(v)
    .where(and(eq(v.purpose, 'temporary_access'), eq(v.userId, userId), isNull(v.consumedAt), gt(v.expiresAt, sql`now()`)))
    .orderBy(desc(v.createdAt))
    .limit(1)
  return row
}

export type AccessCodeCheck = { ok: true; verificationId: string } | { ok: false; code: keyof typeof ACCESS_CODE_MESSAGES }

/**
 * Uses the member's temporary access code inside `tx`: consumed once and audited, or refused. A
 * used, expired or revoked code is refused as a wrong one (nothing is written here; the verifier
 * counts it). `pendingSignIn` is the sign-in it completes, for the audit trail.
 */
export async function spendAccessCode(user: Pick<User, 'id' | 'email'>, typed: string, context: { meta: RequestMeta; pendingSignIn: string }, tx: Tx): Promise<AccessCodeCheck> {
  const code = normaliseAccessCode(typed)
  if (!code) return { ok: false, code: 'malformed' }
  const live = await liveAccessCode(user.id, tx)
  const used = live ? await consumeByCode(live.id, code, tx) : undefined
  if (!used) return { ok: false, code: 'invalid' }
  const issued = used.payload as { issuedBy?: string; by?: string }
  await recordAudit(
    {
      action: 'auth.temporary_access_used',
      actor: { id: user.id, label: user.email },
      subjectId: user.id,
      meta: context.meta,
      details: { accessCodeId: used.id, issuedBy: issued.issuedBy ?? null, by: issued.by ?? null, pendingSignIn: context.pendingSignIn },
    },
    tx,
  )
  return { ok: true, verificationId: used.id }
}
