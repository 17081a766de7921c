/**
 * Members of one organization: the server-side paginated, sorted and filtered list (status under
 * THIS organization's policy, computed in SQL so that filtering by status never loads every row),
 * CSV export, role changes and removal (always at least one owner), all audited.
 */
import { z } from 'zod'
import { recordAudit, refuseChange, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { eq } from 'drizzle-orm'
import { db, schema, sql as pg } from '#db/client.ts'
import { asDate, factorJoins, joinedPendingDeadline, joinedStatus } from '#app/policy/member-status.server.ts'
import type { OrgRole, OrgScope } from './scope.server.ts'
import { parseSearchParams } from '#app/http/forms.server.ts'
import { SORTS, STATUSES } from './members.schema.ts'

const m = schema.memberships

export { SORTS, STATUSES }

export const memberQuery = z.object({
  q: z.string().trim().max(200).optional().default(''),
  region: z.string().trim().max(20).optional().default(''),
  status: z.enum(['', ...STATUSES]).optional().default(''),
  factor: z.enum(['', 'none', 'any', 'totp', 'webauthn']).optional().default(''),
  role: z.enum(['', 'owner', 'admin', 'member']).optional().default(''),
  sort: z.enum(SORTS).optional().default('name'),
  dir: z.enum(['asc', 'desc']).optional().default('asc'),
  page: z.coerce.number().int().min(1).max(100_000).optional().default(1),
  pageSize: z.coerce.number().int().min(1).max(200).optional().default(50),
})
export type MemberQuery = z.infer<typeof memberQuery>

/** Reads the query from a URL; bad values fall back to defaults rather than failing the page. */
export function parseMemberQuery(url: URL): MemberQuery {
  return parseSearchParams(url, memberQuery)
}

export type MemberRow = {
  membershipId: string; userId: string; name: string; email: string; region: string; role: OrgRole; kind: 'human' | 'service'
  factors: string[]; status: (typeof STATUSES)[number]; deadline: Date | null; lastSignInAt: Date | null; joinedAt: Date
}

const ORDER: Record<(typeof SORTS)[number], string> = {
  name: 'lower(name)', email: 'email', region: 'region', role: 'role', kind: 'kind', status: 'status', lastSignIn: 'last_sign_in_at', joined: 'joined_at',
}

function memberRows(scope: OrgScope, q: MemberQuery, now: Date) {
  const like = q.q ? `%${q.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
  // Filters on the status and factor columns apply after they are computed, still in SQL.
  return pg`
    select * from (
      select m.id as membership_id, u.id as user_id, u.name, u.email, u.region, m.role, u.kind, u.last_sign_in_at, m.joined_at,
        t.id is not null as has_totp, w.user_id is not null as has_key,
        ${joinedStatus(now)} as status, ${joinedPendingDeadline(now)} as deadline
      from memberships m
      join users u on u.id = m.user_id
      left join region_policies p on p.organization_id = m.organization_id and p.region = u.region
      ${factorJoins}
      where m.organization_id = ${scope.orgId}
        ${like ? pg`and (lower(u.name) like ${like} or u.email like ${like})` : pg``}
        ${q.region ? pg`and u.region = ${q.region}` : pg``}
        ${q.role ? pg`and m.role = ${q.role}` : pg``}
    ) r
    where true
      ${q.status ? pg`and status = ${q.status}` : pg``}
      ${q.factor === 'none' ? pg`and not has_totp and not has_key` : q.factor === 'any' ? pg`and (has_totp or has_key)` : q.factor === 'totp' ? pg`and has_totp` : q.factor === 'webauthn' ? pg`and has_key` : pg``}`
}

type RawRow = { membership_id: string; user_id: string; name: string; email: string; region: string; role: OrgRole; kind: 'human' | 'service'; last_sign_in_at: Date | null; joined_at: Date; has_totp: boolean; has_key: boolean; status: MemberRow['status']; deadline: Date | null }
const toRow = (r: RawRow): MemberRow => ({
  membershipId: r.membership_id, userId: r.user_id, name: r.name, email: r.email, region: r.region, role: r.role, kind: r.kind,
  factors: [...(r.has_totp ? ['totp'] : []), ...(r.has_key ? ['webauthn'] : [])], status: r.status, deadline: asDate(r.deadline),
  lastSignInAt: asDate(r.last_sign_in_at), joinedAt: asDate(r.joined_at)!,
})

/** One page, sorted and filtered in the database, with the filtered total. */
export async function listMembers(scope: OrgScope, q: Partial<MemberQuery>, now = new Date()) {
  const query = memberQuery.parse(q)
  const order = pg.unsafe(`${ORDER[query.sort]} ${query.dir === 'desc' ? 'desc nulls last' : 'asc nulls first'}, membership_id`)
  const rows = await pg<(RawRow & { total: number })[]>`
    select *, count(*) over ()::int as total from (${memberRows(scope, query, now)}) f
    order by ${order} limit ${query.pageSize} offset ${(query.page - 1) * query.pageSize}`
  let total = rows[0]?.total ?? 0
  if (!rows.length && query.page > 1) {
    const [c] = await pg<{ n: number }[]>`select count(*)::int as n from (${memberRows(scope, query, now)}) f`
    total = c.n
  }
  return { rows: rows.map(toRow), total, query }
}

const csvCell = (v: unknown) => {
  let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v)
  // A cell starting with = + - @ would be a formula in a spreadsheet: neutralise it.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
export const toCsv = (header: string[], rows: unknown[][]) => [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'

/** Every filtered row (no pagination), as CSV. */
export async function exportMembersCsv(scope: OrgScope, q: Partial<MemberQuery>, now = new Date()): Promise<string> {
  const query = memberQuery.parse(q)
  const order = pg.unsafe(`${ORDER[query.sort]} ${query.dir === 'desc' ? 'desc nulls last' : 'asc nulls first'}, membership_id`)
  const rows = (await pg<RawRow[]>`select * from (${memberRows(scope, query, now)}) f order by ${order}`).map(toRow)
  return toCsv(
    ['name', 'email', 'region', 'role', 'kind', 'factors', 'status', 'deadline', 'last_sign_in'],
    rows.map((r) => [r.name, r.email, r.region, r.role, r.kind, r.factors.join(' '), r.status, r.deadline, r.lastSignInAt]),
  )
}

const NOT_A_MEMBER = 'That person is not a member of this organization.'
const LAST_OWNER = 'An organization keeps at least one owner: make someone else owner first.'

const PRIVILEGED: readonly OrgRole[] = ['owner', 'admin']
const isPrivileged = (role: OrgRole) => PRIVILEGED.includes(role)

/**
 * Only owners grant, change or take away 'owner' or 'admin' (decision 057): an admin who could
 * demote or remove another admin could then reset them, and one who could make admins could get
 * round "only owners invite admins". Refused before anything is written, audited with who tried.
 */
function ownerOnlyRefusal(input: { actorRole: OrgRole; targetRole: OrgRole; newRole?: OrgRole }): DomainError | null {
  if (input.actorRole === 'owner') return null
  if (isPrivileged(input.targetRole)) return new DomainError('forbidden', `Only an owner can change the role of an ${input.targetRole === 'owner' ? 'owner' : 'admin'} or remove them.`)
  if (input.newRole && isPrivileged(input.newRole)) return new DomainError('forbidden', `Only an owner can make someone an ${input.newRole}.`)
  return null
}

/** Changes a role. Only owners touch owners and admins; the last owner cannot be demoted. */
export async function changeRole(scope: OrgScope, input: { userId: string; role: OrgRole; actorRole: OrgRole; actor: Actor; meta?: RequestMeta }) {
  const outcome = await db.transaction(async (tx) => {
    // Lock the owner rows so that two concurrent demotions cannot both pass the "one owner left" check.
    const owners = await tx.select({ userId: m.userId }).from(m).where(scope.where(m.organizationId, eq(m.role, 'owner'))).for('update')
    const [target] = await tx.select({ role: m.role }).from(m).where(scope.where(m.organizationId, eq(m.userId, input.userId))).for('update')
    if (!target) throw new DomainError('not_found', NOT_A_MEMBER)
    const refusal = ownerOnlyRefusal({ actorRole: input.actorRole, targetRole: target.role, newRole: input.role })
    if (refusal) return { refused: refusal, old: target.role }
    if (target.role === input.role) return { changed: false }
    if (target.role === 'owner' && owners.length <= 1) throw new DomainError('invalid_request', LAST_OWNER)
    // Demoting an owner or admin also sets users.privileged_until (trigger, decision 057).
    await tx.update(m).set({ role: input.role }).where(scope.where(m.organizationId, eq(m.userId, input.userId)))
    await recordAudit({ action: 'org.role_changed', actor: input.actor, organizationId: scope.orgId, subjectId: input.userId, meta: input.meta, details: { old: target.role, new: input.role } }, tx)
    return { changed: true }
  })
  // Recorded after the transaction has ended: it wrote nothing, and its row locks are released.
  if ('refused' in outcome && outcome.refused) {
    return refuseChange(outcome.refused, { actor: input.actor, attempt: 'org.role_change', organizationId: scope.orgId, subjectId: input.userId, meta: input.meta, details: { old: outcome.old, new: input.role, actorRole: input.actorRole } })
  }
  return Boolean(outcome.changed)
}

/** Removes a member (not their account), with their exemptions and extensions here. Only owners remove owners and admins; the last owner stays. */
export async function removeMember(scope: OrgScope, input: { userId: string; actorRole: OrgRole; actor: Actor; meta?: RequestMeta }) {
  const refused = await db.transaction(async (tx) => {
    const owners = await tx.select({ userId: m.userId }).from(m).where(scope.where(m.organizationId, eq(m.role, 'owner'))).for('update')
    const [target] = await tx
      .select({ role: m.role, email: schema.users.email })
      .from(m)
      .innerJoin(schema.users, eq(schema.users.id, m.userId))
      .where(scope.where(m.organizationId, eq(m.userId, input.userId)))
      .for('update', { of: m })
    if (!target) throw new DomainError('not_found', NOT_A_MEMBER)
    const refusal = ownerOnlyRefusal({ actorRole: input.actorRole, targetRole: target.role })
    if (refusal) return { error: refusal, role: target.role }
    if (target.role === 'owner' && owners.length <= 1) throw new DomainError('invalid_request', LAST_OWNER)
    // Removing an owner or admin also sets users.privileged_until (trigger, decision 057).
    await tx.delete(m).where(scope.where(m.organizationId, eq(m.userId, input.userId)))
    await tx.delete(schema.exemptions).where(scope.where(schema.exemptions.organizationId, eq(schema.exemptions.userId, input.userId)))
    await tx.delete(schema.deadlineExtensions).where(scope.where(schema.deadlineExtensions.organizationId, eq(schema.deadlineExtensions.userId, input.userId)))
    await recordAudit({ action: 'org.member_removed', actor: input.actor, organizationId: scope.orgId, subjectId: input.userId, meta: input.meta, details: { email: target.email, role: target.role } }, tx)
    return null
  })
  if (refused) {
    await refuseChange(refused.error, { actor: input.actor, attempt: 'org.member_remove', organizationId: scope.orgId, subjectId: input.userId, meta: input.meta, details: { role: refused.role, actorRole: input.actorRole } })
  }
}
