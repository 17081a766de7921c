/**
 * Members of one organization: the server-side list, sorted, filtered and paginated by keyset over
 * the members read model (decisions 076, 078: status is a predicate on columns kept beside each
 * membership and the region's policy row, so a filtered page of a 100,000-member organization reads one index range and never
 * the users table but for the rows shown), CSV export, role changes and removal (always at least
 * one owner), all audited.
 */
import type { PendingQuery } from 'postgres'
import { z } from 'zod'
import { recordAudit, refuseChange, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { eq } from 'drizzle-orm'
import { db, schema, sql as pg, type SqlTx } from '#db/client.ts'
import { asDate, policyJoin, readUnderPolicies, storedPendingDeadline, storedStatus, storedStatusIsUnder, storedStatusUnder, type RegionPolicyTerms } from '#app/policy/member-status.server.ts'
import type { OrgRole, OrgScope } from './scope.server.ts'
import { parseSearchParams } from '#app/http/forms.server.ts'
import { SORTS, STATUSES } from './members.schema.ts'

const m = schema.memberships

export { SORTS, STATUSES }

/** Past this many matching members the count stops: "10,000+" (counting 100,000 rows for a label is not worth it). */
export const COUNT_LIMIT = 10_000
/** Up to this many matches of a status filter are found first and sorted alone (see listMembers). */
const FEW_MATCHES = 2_000

/**
 * A keyset cursor: the sort value of a row (as PostgreSQL prints it) and its membership id, in
 * base64url JSON. Opaque to callers; a malformed one is refused by the schema.
 */
type Cursor = { key: string; id: string }
const encodeCursor = (c: Cursor) => Buffer.from(JSON.stringify([c.key, c.id])).toString('base64url')
const cursorShape = z.tuple([z.string().max(400), z.string().uuid()])
function decodeCursor(s: string): Cursor | null {
  try {
    const parsed = cursorShape.safeParse(JSON.parse(Buffer.from(s, 'base64url').toString('utf8')))
    return parsed.success ? { key: parsed.data[0], id: parsed.data[1] } : null
  } catch {
    return null
  }
}
const cursor = z.string().max(1000).refine((s) => decodeCursor(s) !== null, 'Not a cursor from this list.')

export const memberQuery = z.object({
  q: z.string().trim().max(200).optional().default(''),
  region: z.string().trim().max(20).optional().default(''),
  status: z.enum(['', ...STATUSES]).optional().default(''),
  factor: z.enum(['', 'none', 'any', 'totp', 'webauthn']).optional().default(''),
  role: z.enum(['', 'owner', 'admin', 'member']).optional().default(''),
  sort: z.enum(SORTS).optional().default('name'),
  dir: z.enum(['asc', 'desc']).optional().default('asc'),
  /** The page after this row (the `next` cursor of a page). */
  after: cursor.optional(),
  /** The page before this row (the `prev` cursor of a page). */
  before: cursor.optional(),
  /** Deprecated (offset paging, slow deep in a large organization): use `after`/`before`. Ignored with a cursor. */
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

type Fragment = PendingQuery<any>
/**
 * Each sort: its expression over the membership `m` (indexed: memberships_org_name, _email,
 * _region, _role, _kind, _joined, each ending in id for the keyset), the same over a result row
 * `r`, and the type its cursor value is read back as. Status is not indexable (it depends on now):
 * that sort reads the organization's facts index, with its policies bound (decision 085), never
 * users. There is no sort by last sign-in: it lives on users, which the list no longer reads for
 * every member (decision 076).
 */
const SORT_SPECS: Record<(typeof SORTS)[number], { m: (now: Date, policies: RegionPolicyTerms[]) => Fragment; r: string; type: string }> = {
  name: { m: () => pg`lower(m.user_name)`, r: 'lower(r.name)', type: 'text' },
  email: { m: () => pg`m.user_email`, r: 'r.email', type: 'text' },
  region: { m: () => pg`m.user_region`, r: 'r.region', type: 'text' },
  role: { m: () => pg`m.role`, r: 'r.role', type: 'org_role' },
  kind: { m: () => pg`m.user_kind`, r: 'r.kind', type: 'user_kind' },
  joined: { m: () => pg`m.joined_at`, r: 'r.joined_at', type: 'timestamptz' },
  status: { m: (now, policies) => storedStatusUnder(now, policies), r: 'r.status', type: 'text' },
}

/** The list's filters and sort key, on the read model of `m` only. */
type Bound = { filters: Fragment; key: Fragment }

/** The filters and the sort key of `q`; a status, filtered or sorted by, under the organization's `policies`, bound (decision 085). */
function bindQuery(scope: OrgScope, q: MemberQuery, now: Date, policies: RegionPolicyTerms[]): Bound {
  const like = q.q ? `%${q.q.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%` : null
  const filters = pg`m.organization_id = ${scope.orgId}
    ${like ? pg`and (lower(m.user_name) like ${like} or m.user_email like ${like})` : pg``}
    ${q.region ? pg`and m.user_region = ${q.region}` : pg``}
    ${q.role ? pg`and m.role = ${q.role}` : pg``}
    ${q.status ? pg`and ${storedStatusIsUnder(q.status, now, policies)}` : pg``}
    ${q.factor === 'none' ? pg`and not m.has_totp and not m.has_key` : q.factor === 'any' ? pg`and (m.has_totp or m.has_key)` : q.factor === 'totp' ? pg`and m.has_totp` : q.factor === 'webauthn' ? pg`and m.has_key` : pg``}`
  return { filters, key: SORT_SPECS[q.sort].m(now, policies) }
}

/**
 * A read of the members list. A status, filtered or sorted by, binds the organization's policies,
 * read in the same snapshot (decision 085); otherwise nothing is bound and the pool's statements
 * serve as they are.
 */
function readMembers<T>(scope: OrgScope, q: MemberQuery, now: Date, read: (conn: SqlTx, bound: Bound) => Promise<T>) {
  if (!q.status && q.sort !== 'status') return read(pg, bindQuery(scope, q, now, []))
  return readUnderPolicies(scope.orgId, (tx, policies) => read(tx, bindQuery(scope, q, now, policies)))
}

/**
 * The page's rows, in the sort's order: first the page's memberships from the read model's indexes
 * alone (keyset after or before `cursor`, else `offset`), then their columns, shown status and last
 * sign-in for those rows only; from the memberships `among` only, when given (the few a status
 * filter matched).
 */
function memberRows(q: MemberQuery, now: Date, bound: Bound, page: { cursor: (Cursor & { forward: boolean }) | null; reverse: boolean; limit: number | null; offset: number; among?: string[] }) {
  const spec = SORT_SPECS[q.sort]
  const desc = (q.dir === 'desc') !== page.reverse
  const inner = pg.unsafe(desc ? 'desc' : 'asc')
  const outer = pg.unsafe(`${spec.r} ${q.dir}, r.membership_id ${q.dir}`)
  const { cursor } = page
  const keyset = cursor ? pg`and (${bound.key}, m.id) ${pg.unsafe(cursor.forward ? '>' : '<')} (${cursor.key}::${pg.unsafe(spec.type)}, ${cursor.id}::uuid)` : pg``
  return pg`
    select r.* from (
      select m.id as membership_id, m.user_id, m.user_name as name, m.user_email as email, m.user_region as region, m.role,
        m.user_kind as kind, m.joined_at, m.has_totp, m.has_key,
        ${storedStatus(now)} as status, ${storedPendingDeadline(now)} as deadline, k.sort_key, u.last_sign_in_at
      from (
        select m.id, (${bound.key})::text as sort_key
        from ${page.among ? pg`unnest(${page.among}::uuid[]) as among(id) join memberships m on m.id = among.id` : pg`memberships m`}
        where ${bound.filters} ${keyset}
        order by ${bound.key} ${inner}, m.id ${inner}
        ${page.limit === null ? pg`` : pg`limit ${page.limit}`} ${page.offset ? pg`offset ${page.offset}` : pg``}
      ) k join memberships m on m.id = k.id ${policyJoin} join users u on u.id = m.user_id
    ) r
    order by ${outer}`
}

type RawRow = { membership_id: string; user_id: string; name: string; email: string; region: string; role: OrgRole; kind: 'human' | 'service'; last_sign_in_at: Date | null; joined_at: Date; has_totp: boolean; has_key: boolean; status: MemberRow['status']; deadline: Date | null; sort_key: string }
const toRow = (r: RawRow): MemberRow => ({
  membershipId: r.membership_id, userId: r.user_id, name: r.name, email: r.email, region: r.region, role: r.role, kind: r.kind,
  factors: [...(r.has_totp ? ['totp'] : []), ...(r.has_key ? ['webauthn'] : [])], status: r.status, deadline: asDate(r.deadline),
  lastSignInAt: asDate(r.last_sign_in_at), joinedAt: asDate(r.joined_at)!,
})

export type MemberPage = {
  rows: MemberRow[]
  /** Matching members, exact up to COUNT_LIMIT; `totalExact` false means "COUNT_LIMIT or more". */
  total: number
  totalExact: boolean
  /** Cursors of the neighbouring pages (`after=next`, `before=prev`), null at either end. */
  next: string | null
  prev: string | null
  query: MemberQuery
}

/**
 * One page, sorted and filtered in the database by keyset (`after`/`before` a row), with the
 * filtered count (exact up to 10,000). The deprecated `page` (offset) still works without a cursor.
 */
export async function listMembers(scope: OrgScope, q: Partial<MemberQuery>, now = new Date(), options = { fewMatches: FEW_MATCHES }): Promise<MemberPage> {
  const query = memberQuery.parse(q)
  const after = query.after ? decodeCursor(query.after) : null
  const before = !after && query.before ? decodeCursor(query.before) : null
  const at = after ?? before
  // Rows after the cursor in the sort's direction (or before it, read backwards and put back in order).
  const cursor = at ? { ...at, forward: (query.dir === 'asc') === Boolean(after) } : null
  const offset = at ? 0 : (query.page - 1) * query.pageSize
  // A status depends on the region's policy, so no index orders its matches by the sort: when few
  // members match (an organization's overdue or exempt few), walking the sort's index would read the
  // whole organization to fill a page. So the count (up to COUNT_LIMIT, from the facts index) also
  // lists a status filter's matches when there are at most `fewMatches`, and the page then sorts only
  // those; more than that, and the sort's index finds a page quickly (decisions 083, 085).
  const { count, rows } = await readMembers(scope, query, now, async (conn, bound) => {
    const pageOf = (among?: string[]) => conn<RawRow[]>`${memberRows(query, now, bound, { cursor, reverse: Boolean(before), limit: query.pageSize + 1, offset, among })}`
    const counted = conn<{ n: number; few: string[] | null }[]>`
      select count(*)::int as n, ${query.status ? conn`case when count(*) <= ${options.fewMatches} then coalesce(array_agg(c.id), '{}') end` : conn`null`} as few
      from (select m.id from memberships m where ${bound.filters} limit ${COUNT_LIMIT + 1}) c`
    if (!query.status) {
      const [[count], rows] = await Promise.all([counted, pageOf()])
      return { count, rows }
    }
    const [count] = await counted
    return { count, rows: await pageOf(count.few ?? undefined) }
  })
  // One row more than a page says whether there is a page beyond, in the direction read.
  const more = rows.length > query.pageSize
  const page = before ? rows.slice(rows.length - Math.min(rows.length, query.pageSize)) : rows.slice(0, query.pageSize)
  const first = page[0]
  const last = page[page.length - 1]
  const hasNext = before ? true : more
  const hasPrev = before ? more : Boolean(after) || offset > 0
  return {
    rows: page.map(toRow),
    total: Math.min(count.n, COUNT_LIMIT),
    totalExact: count.n <= COUNT_LIMIT,
    next: hasNext && last ? encodeCursor({ key: last.sort_key, id: last.membership_id }) : null,
    prev: hasPrev && first ? encodeCursor({ key: first.sort_key, id: first.membership_id }) : null,
    query,
  }
}

const csvCell = (v: unknown) => {
  let s = v === null || v === undefined ? '' : v instanceof Date ? v.toISOString() : String(v)
  // A cell starting with = + - @ would be a formula in a spreadsheet: neutralise it.
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`
  return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s
}
export const toCsv = (header: string[], rows: unknown[][]) => [header, ...rows].map((r) => r.map(csvCell).join(',')).join('\r\n') + '\r\n'

/** Every filtered row (no pagination), as CSV, in the table's order. */
export async function exportMembersCsv(scope: OrgScope, q: Partial<MemberQuery>, now = new Date()): Promise<string> {
  const query = memberQuery.parse(q)
  const rows = (await readMembers(scope, query, now, (conn, bound) => conn<RawRow[]>`${memberRows(query, now, bound, { cursor: null, reverse: false, limit: null, offset: 0 })}`)).map(toRow)
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
