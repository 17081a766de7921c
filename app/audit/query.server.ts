/**
 * An organization's audit page: its own chain plus its members' security events (platform chains,
 * member as subject), newest first, filtered and paginated in SQL. One query for the page and for CSV.
 */
import { eq } from 'drizzle-orm'
import { z } from 'zod'
import { isPlatformChain, recordAudit, type Actor, type RequestMeta } from './record.server.ts'
import { db, schema, sql as pg } from '#db/client.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { asDate } from '#app/policy/member-status.server.ts'
import { toCsv } from '#app/orgs/members.server.ts'
import { parseSearchParams } from '#app/http/forms.server.ts'
import { retentionLowers } from '#app/policy/lowering.ts'
import { requireLoweringAllowed, type ChangeAuthority } from '#app/policy/lowering.server.ts'

const day = z
  .string()
  .trim()
  .optional()
  .transform((v) => (v && /^\d{4}-\d{2}-\d{2}$/.test(v) && !Number.isNaN(Date.parse(v)) ? v : ''))

export const auditQuery = z.object({
  action: z.string().trim().max(80).optional().default(''),
  actor: z.string().trim().max(320).optional().default(''),
  member: z.string().trim().max(320).optional().default(''),
  from: day,
  to: day,
  page: z.coerce.number().int().min(1).max(100_000).optional().default(1),
})
export type AuditQuery = z.infer<typeof auditQuery>

export function parseAuditQuery(url: URL): AuditQuery {
  return parseSearchParams(url, auditQuery)
}

const PAGE = 50

function events(scope: OrgScope, q: AuditQuery) {
  const esc = (s: string) => `%${s.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`
  return pg`
    select e.id, e.created_at, e.action, e.actor_label, e.subject_id, s.email as subject_email, e.ip, e.details, e.chain
    from audit_events e
    left join users s on s.id = e.subject_id
    where (e.organization_id = ${scope.orgId}
        or (e.organization_id is null and e.subject_id in (select user_id from memberships where organization_id = ${scope.orgId})))
      ${q.action ? pg`and e.action = ${q.action}` : pg``}
      ${q.actor ? pg`and lower(e.actor_label) like ${esc(q.actor)}` : pg``}
      ${q.member ? pg`and s.email like ${esc(q.member)}` : pg``}
      ${q.from ? pg`and e.created_at >= ${q.from}::date` : pg``}
      ${q.to ? pg`and e.created_at < ${q.to}::date + 1` : pg``}`
}

type Raw = { id: number; created_at: string; action: string; actor_label: string; subject_id: string | null; subject_email: string | null; ip: string | null; details: Record<string, unknown>; chain: string }
const toEvent = (r: Raw) => ({ id: Number(r.id), createdAt: asDate(r.created_at)!, action: r.action, actor: r.actor_label, subjectEmail: r.subject_email, ip: r.ip, details: r.details, scope: isPlatformChain(r.chain) ? 'member security' : 'organization' })

export async function listOrgAudit(scope: OrgScope, q: AuditQuery) {
  const rows = await pg<(Raw & { total: number })[]>`
    select *, count(*) over ()::int as total from (${events(scope, q)}) x order by created_at desc, id desc limit ${PAGE} offset ${(q.page - 1) * PAGE}`
  return { events: rows.map(toEvent), total: rows[0]?.total ?? 0, pageSize: PAGE }
}

/** The most events one CSV export holds (the file is built in memory). */
export const AUDIT_CSV_MAX_ROWS = 100_000

/**
 * The filtered events as CSV, newest first, at most `maxRows` of them. When more match, the file
 * says so instead of stopping silently: its last line is a notice naming the cap and asking for a
 * narrower filter, and `truncated` is true (the route also sends `X-Export-Truncated: true`).
 */
export async function exportOrgAuditCsv(scope: OrgScope, q: AuditQuery, maxRows = AUDIT_CSV_MAX_ROWS): Promise<{ csv: string; truncated: boolean; maxRows: number }> {
  const fetched = await pg<Raw[]>`select * from (${events(scope, q)}) x order by created_at desc, id desc limit ${maxRows + 1}`
  const truncated = fetched.length > maxRows
  const rows = fetched.slice(0, maxRows).map(toEvent)
  const lines: unknown[][] = rows.map((e) => [e.createdAt, e.action, e.actor, e.subjectEmail, e.scope, e.ip, JSON.stringify(e.details)])
  if (truncated) {
    const oldest = rows.at(-1)?.createdAt.toISOString().slice(0, 10)
    lines.push([`TRUNCATED: only the newest ${maxRows.toLocaleString('en-US')} matching events are in this file (back to ${oldest}). Narrow the filter (action, actor, member or dates) to export the rest.`])
  }
  return { csv: toCsv(['time', 'action', 'actor', 'member', 'scope', 'ip', 'details'], lines), truncated, maxRows }
}

/** The shortest audit retention; the database function audit_prune refuses anything shorter too. */
export const AUDIT_RETENTION_MIN_DAYS = 30

export const retentionInput = z.object({
  retentionDays: z.coerce.number({ error: 'Enter a number of days.' }).int('Whole days only.').min(AUDIT_RETENTION_MIN_DAYS, `Keep events at least ${AUDIT_RETENTION_MIN_DAYS} days.`).max(36500, 'At most 100 years.'),
})

/**
 * Sets how long this organization's events are kept (the retention worker prunes older ones).
 * Shortening it lowers protection: it needs a person's fresh second factor (decision 056).
 */
export async function setAuditRetention(scope: OrgScope, days: number, actor: Actor, authority: ChangeAuthority, meta?: RequestMeta, now = new Date()) {
  await db.transaction(async (tx) => {
    const [old] = await tx.select({ days: schema.organizations.auditRetentionDays }).from(schema.organizations).where(eq(schema.organizations.id, scope.orgId)).for('update')
    // Nothing is written yet, and audit events hold no reference to the locked row.
    const lowered = old && retentionLowers(old.days, days) ? [`Audit retention ${old.days} → ${days} days`] : []
    await requireLoweringAllowed(authority, lowered, { actor, attempt: 'org.audit_retention_changed', organizationId: scope.orgId, meta }, now)
    await tx.update(schema.organizations).set({ auditRetentionDays: days }).where(eq(schema.organizations.id, scope.orgId))
    await recordAudit({ action: 'org.audit_retention_changed', actor, organizationId: scope.orgId, meta, details: { old: old?.days ?? null, new: days } }, tx)
  })
}
