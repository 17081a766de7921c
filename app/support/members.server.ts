/**
 * What support sees: members across every organization and region, and one member's security
 * state. Factor rows are read column by column so that no secret (TOTP ciphertext, public key,
 * code hash, token hash) ever leaves this module.
 */
import { and, asc, count, desc, eq, exists, ilike, isNull, or, sql } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { lockRemainingSeconds } from '#app/auth/lockout.server.ts'
import { METHOD_LABELS } from '#app/mfa/methods.schema.ts'
import { describeAuditEvent } from '#app/audit/sentences.ts'

export const PAGE_SIZE = 25
const u = schema.users
const m = schema.memberships
const o = schema.organizations
/** Who a member is, as both support views show it. */
const who = { id: u.id, email: u.email, name: u.name, region: u.region, kind: u.kind, platformRole: u.platformRole }

const escapeLike = (s: string) => s.replace(/[\\%_]/g, (c) => `\\${c}`)

export async function searchMembers(input: { query: string; page?: number; pageSize?: number }) {
  const query = input.query.trim().slice(0, 200)
  const pageSize = input.pageSize ?? PAGE_SIZE
  const page = Math.max(1, Math.floor(input.page ?? 1))
  if (!query) return { query, page, pageSize, total: 0, pages: 0, rows: [] }
  const like = `%${escapeLike(query)}%`
  const matches = or(
    ilike(u.email, like),
    ilike(u.name, like),
    exists(
      db
        .select({ one: sql`1` })
        .from(m)
        .innerJoin(o, eq(o.id, m.organizationId))
        .where(and(eq(m.userId, u.id), or(ilike(o.name, like), ilike(o.slug, like)))),
    ),
  )
  const [{ total }] = await db.select({ total: count() }).from(u).where(matches)
  const rows = await db
    .select({
      ...who,
      lockedUntil: u.lockedUntil,
      mfaEnabledAt: u.mfaEnabledAt,
      // Written out with table names: drizzle leaves columns unqualified in a one-table select.
      organizations: sql<string[]>`coalesce((select array_agg(o.name || ' (' || m.role || ')' order by o.name)
        from memberships m join organizations o on o.id = m.organization_id where m.user_id = "users"."id"), '{}')`,
    })
    .from(u)
    .where(matches)
    .orderBy(asc(u.email), asc(u.region))
    .limit(pageSize)
    .offset((page - 1) * pageSize)
  return {
    query,
    page,
    pageSize,
    total,
    pages: Math.ceil(total / pageSize),
    rows: rows.map((r) => ({ ...r, locked: lockRemainingSeconds(r) > 0 })),
  }
}

export type MemberDetail = NonNullable<Awaited<ReturnType<typeof memberDetail>>>

export async function memberDetail(userId: string) {
  const [user] = await db
    .select({
      ...who,
      preferredMethod: u.preferredMethod,
      mfaEnabledAt: u.mfaEnabledAt,
      mfaResetAt: u.mfaResetAt,
      failedAttempts: u.failedAttempts,
      lockedUntil: u.lockedUntil,
      lockCount: u.lockCount,
      lastSignInAt: u.lastSignInAt,
      privilegedUntil: u.privilegedUntil,
      createdAt: u.createdAt,
    })
    .from(u)
    .where(eq(u.id, userId))
  if (!user) return undefined
  const t = schema.totpFactors
  const w = schema.webauthnCredentials
  const rc = schema.recoveryCodes
  const d = schema.trustedDevices
  const a = schema.auditEvents
  const [organizations, totp, keys, [codes], devices, events] = await Promise.all([
    db.select({ slug: o.slug, name: o.name, role: m.role, joinedAt: m.joinedAt }).from(m).innerJoin(o, eq(o.id, m.organizationId)).where(eq(m.userId, userId)).orderBy(asc(o.name)),
    db.select({ createdAt: t.createdAt, confirmedAt: t.confirmedAt, lastUsedAt: t.lastUsedAt }).from(t).where(eq(t.userId, userId)),
    db
      .select({ label: w.label, deviceType: w.deviceType, backedUp: w.backedUp, createdAt: w.createdAt, lastUsedAt: w.lastUsedAt })
      .from(w)
      .where(eq(w.userId, userId))
      .orderBy(asc(w.createdAt)),
    db.select({ left: count() }).from(rc).where(and(eq(rc.userId, userId), isNull(rc.usedAt))),
    db
      .select({ label: d.label, method: d.method, createdAt: d.createdAt, lastUsedAt: d.lastUsedAt, expiresAt: d.expiresAt })
      .from(d)
      .where(and(eq(d.userId, userId), sql`${d.expiresAt} > now()`))
      .orderBy(desc(d.createdAt)),
    db
      .select({ id: a.id, action: a.action, actorLabel: a.actorLabel, ip: a.ip, createdAt: a.createdAt, details: a.details })
      .from(a)
      .where(eq(a.subjectId, userId))
      .orderBy(desc(a.createdAt), desc(a.id))
      .limit(25),
  ])
  const factors = [
    ...totp.map((f) => ({ kind: 'totp' as const, name: METHOD_LABELS.totp, createdAt: f.createdAt, confirmed: Boolean(f.confirmedAt), lastUsedAt: f.lastUsedAt })),
    ...keys.map((k) => ({
      kind: 'webauthn' as const,
      name: `${k.label}${k.deviceType === 'multiDevice' || k.backedUp ? ' (passkey)' : ''}`,
      createdAt: k.createdAt,
      confirmed: true,
      lastUsedAt: k.lastUsedAt,
    })),
  ]
  const lockSeconds = lockRemainingSeconds(user)
  return {
    user,
    organizations,
    factors,
    recoveryCodesLeft: codes?.left ?? 0,
    lockout: { locked: lockSeconds > 0, remainingSeconds: lockSeconds, until: lockSeconds > 0 ? user.lockedUntil : null, failedAttempts: user.failedAttempts, lockCount: user.lockCount },
    trustedDevices: devices,
    // The event in words for the table (decision 073); the short summary stays under "details".
    events: events.map((e) => ({ ...e, sentence: describeAuditEvent({ action: e.action, actor: e.actorLabel, subject: user.email, details: e.details }), details: summarise(e.details) })),
  }
}

/** A short, non-secret line for an event's details (reasons, tickets, counts). */
function summarise(details: Record<string, unknown>): string {
  const keep = ['reason', 'ticket', 'note', 'requestId', 'approvedBy', 'lockedForSeconds', 'method', 'label']
  return keep
    .filter((k) => details[k] !== undefined && details[k] !== null)
    .map((k) => `${k}: ${String(details[k]).slice(0, 120)}`)
    .join(' · ')
}
