/**
 * Server-side sessions. The token (256 random bits) lives only in the cookie or bearer header;
 * the database keeps its keyed hash. Idle and absolute expiry are checked on every request.
 */
import { and, desc, eq, gt, inArray, lt, ne, sql } from 'drizzle-orm'
import { config } from '#app/config/env.server.ts'
import { db, schema, sql as pg, type Tx } from '#db/client.ts'
import { auditInsert, recordAudit, type Actor, type AuditInput, type RequestMeta } from '#app/audit/record.server.ts'
import { COOKIE, clearCookie, readCookie, setCookie } from './cookies.server.ts'
import { keyedHash, keyedHashes, randomToken } from './crypto.server.ts'

export type SessionLevel = (typeof schema.sessionLevel.enumValues)[number]
export type Session = typeof schema.sessions.$inferSelect
export type User = typeof schema.users.$inferSelect

const s = schema.sessions
const hashToken = (token: string) => keyedHash('session', token)
/** A token's hash under every key of the hash ring: lookups match any, so rotating the ring ends no session (decision 062). */
const tokenHashes = (token: string) => keyedHashes('session', token)

/** Enrollment-only sessions reach enrollment and sign-out only, for 15 minutes. */
export const ENROLL_ONLY_MINUTES = 15

type NewSession = { userId: string; level: SessionLevel; meta: RequestMeta; secondFactorMethod?: string; channel?: 'web' | 'api' }

/** A new session's row: a fresh token's hash, and its idle and absolute expiry (15 minutes for enrollment only). */
function sessionRow(input: NewSession, token: string) {
  const now = Date.now()
  const idleMinutes = input.level === 'enroll_only' ? ENROLL_ONLY_MINUTES : config.session.idleMinutes
  const absoluteMs = input.level === 'enroll_only' ? ENROLL_ONLY_MINUTES * 60_000 : config.session.absoluteHours * 3_600_000
  return {
    tokenHash: hashToken(token),
    userId: input.userId,
    level: input.level,
    channel: input.channel ?? 'web',
    idleExpiresAt: new Date(now + idleMinutes * 60_000),
    absoluteExpiresAt: new Date(now + absoluteMs),
    secondFactorAt: input.secondFactorMethod ? new Date(now) : null,
    secondFactorMethod: input.secondFactorMethod ?? null,
    ip: input.meta.ip,
    userAgent: input.meta.userAgent?.slice(0, 512) ?? null,
  }
}

/** Raw queries through the shared client take timestamps as text (drizzle's setting on the client). */
const iso = (d: Date) => d.toISOString()

export async function createSession(input: NewSession, tx: Tx = db): Promise<{ token: string; session: Session }> {
  const token = randomToken()
  const [session] = await tx.insert(s).values(sessionRow(input, token)).returning()
  return { token, session }
}

/**
 * A completed sign-in's session, in ONE statement with what commits with it (decision 068): the
 * session row, the end of the account's run of failures (lockout counts only consecutive ones) and
 * the sign-in's audit event. One round trip instead of a five-statement transaction, and the audit
 * chain's lock is held for that statement only.
 */
export async function startSignInSession(input: NewSession, audit: AuditInput): Promise<{ token: string }> {
  const token = randomToken()
  const r = sessionRow(input, token)
  await pg`
    with new_session as (
      insert into sessions (token_hash, user_id, level, channel, idle_expires_at, absolute_expires_at, second_factor_at, second_factor_method, ip, user_agent)
      values (${r.tokenHash}, ${r.userId}, ${r.level}, ${r.channel}, ${iso(r.idleExpiresAt)}, ${iso(r.absoluteExpiresAt)}, ${r.secondFactorAt && iso(r.secondFactorAt)}, ${r.secondFactorMethod}, ${r.ip}, ${r.userAgent})
      returning id),
    signed_in as (update users set failed_attempts = 0, last_sign_in_at = now() where id = ${r.userId}),
    audited as (${auditInsert(audit)})
    select id from new_session`
  return { token }
}

/**
 * A session's last-seen time (and so its sliding idle expiry) moves at most once a minute
 * (decision 083): a request within the minute reads the session and its user in one query and
 * writes nothing, instead of committing an UPDATE (a WAL flush, and a row lock that the page's
 * parallel loaders queued on). The idle expiry can so fall up to a minute before the last
 * request's "plus the idle minutes": never later.
 */
const TOUCH_AFTER = '1 minute'

/** Finds a live session by token and slides its idle expiry (at most once a minute). */
export async function loadSession(token: string | undefined, channel: 'web' | 'api' = 'web'): Promise<{ session: Session; user: User } | null> {
  if (!token || token.length > 100) return null
  const current = hashToken(token)
  const live = and(inArray(s.tokenHash, tokenHashes(token)), eq(s.channel, channel), gt(s.idleExpiresAt, sql`now()`), gt(s.absoluteExpiresAt, sql`now()`))
  // The database's clock decides whether the touch is due, as it set last_seen_at.
  const [found] = await db
    .select({ session: s, user: schema.users, due: sql<boolean>`${s.lastSeenAt} < now() - ${TOUCH_AFTER}::interval or ${s.tokenHash} <> ${current}` })
    .from(s)
    .innerJoin(schema.users, eq(schema.users.id, s.userId))
    .where(live)
  if (!found) return null
  if (!found.due) return { session: found.session, user: found.user }
  const idleMinutes = config.session.idleMinutes
  const [row] = await db
    .update(s)
    .set({
      // Moves a hash made under an older key to the current one.
      tokenHash: current,
      lastSeenAt: sql`now()`,
      idleExpiresAt: sql`least(${s.absoluteExpiresAt}, now() + make_interval(mins => (case when ${s.level} = 'enroll_only' then ${ENROLL_ONLY_MINUTES} else ${idleMinutes} end)::int))`,
    })
    .where(and(eq(s.id, found.session.id), live))
    .returning()
  return row ? { session: row, user: found.user } : null
}

export async function endSession(token: string | undefined): Promise<Session | undefined> {
  if (!token) return undefined
  const [row] = await db.delete(s).where(inArray(s.tokenHash, tokenHashes(token))).returning()
  return row
}

/** Ends one session by id; true when this call ended it (false when it was already gone). */
export async function endSessionById(sessionId: string): Promise<boolean> {
  const rows = await db.delete(s).where(eq(s.id, sessionId)).returning({ id: s.id })
  return rows.length > 0
}

export async function endAllSessions(userId: string, tx: Tx = db): Promise<number> {
  const rows = await tx.delete(s).where(eq(s.userId, userId)).returning({ id: s.id })
  return rows.length
}

/** Why a member's other sessions were ended (details.reason of `auth.session_revoked`). */
export type SessionsEndedReason =
  | 'signed_out_elsewhere'
  | 'factor_added'
  | 'factor_removed'
  | 'totp_replaced'
  | 'recovery_codes_regenerated'
  | 'password_reset'
  | 'mfa_reset'

/**
 * THE place a change to how a member signs in ends their other sessions (decision 061, ASVS
 * 3.3.3): every web session and API session token of the member except `keep` (the session making
 * the change; null, as after a reset, ends them all). Organization API keys are not sessions and
 * stay. Pass the change's transaction, so the sessions end exactly when the change commits.
 * Audited as `auth.session_revoked` when anything ended. Returns how many ended.
 */
export async function endOtherSessions(
  input: { user: Pick<User, 'id' | 'email'>; keep: string | null; reason: SessionsEndedReason; actor?: Actor; meta?: RequestMeta },
  tx: Tx = db,
): Promise<number> {
  const rows = await tx
    .delete(s)
    .where(and(eq(s.userId, input.user.id), input.keep ? ne(s.id, input.keep) : undefined))
    .returning({ id: s.id, channel: s.channel })
  if (rows.length) {
    await recordAudit(
      {
        action: 'auth.session_revoked',
        actor: input.actor ?? { id: input.user.id, label: input.user.email },
        subjectId: input.user.id,
        meta: input.meta,
        details: { reason: input.reason, count: rows.length, channels: [...new Set(rows.map((r) => r.channel))].sort(), kept: input.keep !== null },
      },
      tx,
    )
  }
  return rows.length
}

/** A member's live sessions (not past their idle or absolute expiry), most recently seen first. */
export async function listLiveSessions(userId: string, tx: Tx = db): Promise<Session[]> {
  return tx
    .select()
    .from(s)
    .where(and(eq(s.userId, userId), gt(s.idleExpiresAt, sql`now()`), gt(s.absoluteExpiresAt, sql`now()`)))
    .orderBy(desc(s.lastSeenAt), desc(s.createdAt))
}

/** Step-up: a second factor on this session within the last 5 minutes. A trusted device never sets it. */
export const STEP_UP_SECONDS = 5 * 60

export function hasFreshSecondFactor(session: Pick<Session, 'secondFactorAt'> & Partial<Pick<Session, 'level' | 'secondFactorMethod'>>, now = Date.now()): boolean {
  // A temporary access code's session reaches nothing but enrollment and lives 15 minutes: the code
  // stays its fresh factor for that whole time, so the member can add an app or key (decision 070).
  if (session.level === 'enroll_only' && session.secondFactorMethod === ACCESS_CODE_METHOD && session.secondFactorAt) return true
  return Boolean(session.secondFactorAt && now - session.secondFactorAt.getTime() < STEP_UP_SECONDS * 1000)
}

/** The second_factor_method of a session a temporary access code started (decision 070). */
export const ACCESS_CODE_METHOD = 'temporary_access'

/**
 * Whether this session passed a second factor: signed in at the MFA level (a trusted device counts,
 * it was earned with one) or stepped up since. Owners and admins change nothing without it
 * (decision 056); an enrollment-only session never counts.
 */
export function sessionPassedSecondFactor(session: Pick<Session, 'level' | 'secondFactorAt'>): boolean {
  return session.level === 'mfa' || (session.level === 'password' && session.secondFactorAt !== null)
}

/** Ends the session behind a token, and records it. */
export async function signOut(token: string | undefined, meta: RequestMeta): Promise<void> {
  const ended = await endSession(token)
  if (!ended) return
  const [user] = await db.select({ email: schema.users.email }).from(schema.users).where(eq(schema.users.id, ended.userId))
  await recordAudit({ action: 'auth.logout', actor: { id: ended.userId, label: user?.email ?? 'unknown' }, subjectId: ended.userId, meta, details: { channel: ended.channel } })
}

/** Records a fresh second factor on the session (step-up). */
export async function markSecondFactor(sessionId: string, method: string, tx: Tx = db) {
  await tx.update(s).set({ secondFactorAt: sql`now()`, secondFactorMethod: method }).where(eq(s.id, sessionId))
}

export async function pruneExpiredSessions() {
  await db.delete(s).where(lt(s.absoluteExpiresAt, sql`now() - interval '1 day'`))
}

export const readSessionToken = (request: Request) => readCookie(request, COOKIE.session)

export function sessionCookie(token: string): string {
  // A browser-session cookie: the server decides expiry, the browser forgets it when closed.
  return setCookie(COOKIE.session, token)
}

export const clearSessionCookie = () => clearCookie(COOKIE.session)
