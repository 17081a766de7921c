/**
 * The organization audit page over real HTTP: filters by actor, member and date (and combined),
 * the retention form (owners set it, it is saved and audited; bad values get 400 and write
 * nothing; admins cannot), and a CSV export that says so when it is cut at its row cap.
 * Event times are placed by inserting events with their created_at (data, not the clock).
 */
import { and, count, eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { exportOrgAuditCsv, parseAuditQuery } from '#app/audit/query.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { db, schema } from '#db/client.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'

let owner: TestClient
let admin: TestClient
let orgId: string

async function event(input: { at: string; action: string; actor: string; subjectId?: string; org?: string | null }) {
  const organizationId = input.org === undefined ? orgId : input.org
  await db.insert(schema.auditEvents).values({
    chain: organizationId ?? 'platform',
    organizationId,
    actorLabel: input.actor,
    subjectId: input.subjectId ?? null,
    action: input.action,
    details: { at: input.at },
    createdAt: new Date(input.at),
  })
}

beforeAll(async () => {
  const org = await createOrg({ slug: 'aud', name: 'Audit Org' })
  orgId = org.id
  const other = await createOrg({ slug: 'aud-other' })
  const ownerUser = await createUser({ email: 'owner@aud.test', org, role: 'owner' })
  const adminUser = await createUser({ email: 'admin@aud.test', org, role: 'admin' })
  const mia = await createUser({ email: 'mia@aud.test', org })
  const max = await createUser({ email: 'max@aud.test', org })
  const outsider = await createUser({ email: 'outsider@else.test', org: other })

  await event({ at: '2024-03-01T10:00:00Z', action: 'org.role_changed', actor: 'admin@aud.test', subjectId: mia.id })
  await event({ at: '2024-03-02T23:59:59Z', action: 'org.member_removed', actor: 'owner@aud.test', subjectId: max.id })
  await event({ at: '2024-03-03T00:00:00Z', action: 'org.deadline_extended', actor: 'admin@aud.test', subjectId: max.id })
  // A member's own security event (platform chain) shows; an outsider's and another organization's do not.
  await event({ at: '2024-03-05T12:00:00Z', action: 'auth.login_success', actor: 'mia@aud.test', subjectId: mia.id, org: null })
  await event({ at: '2024-03-04T12:00:00Z', action: 'auth.login_success', actor: 'admin@aud.test', subjectId: outsider.id, org: null })
  await event({ at: '2024-03-04T13:00:00Z', action: 'org.role_changed', actor: 'admin@aud.test', subjectId: outsider.id, org: other.id })

  const { url } = await startTestApp({ workers: false })
  owner = new TestClient(url)
  await signInAs(owner, ownerUser.id)
  admin = new TestClient(url)
  await signInAs(admin, adminUser.id)
})

/** The page's rows as "day action member", newest first. */
async function pageRows(query: string) {
  const res = await admin.get(`/orgs/aud/audit${query}`)
  expect(res.status, query).toBe(200)
  // A <Time> is rendered as <time ...>UTC text</time> by the server (decision 073).
  const html = (await res.text()).replaceAll('<!-- -->', '').replace(/<time [^>]*>([^<]*)<\/time>/g, '$1')
  return [...html.matchAll(/<tr><td>(\d{4}-\d\d-\d\d) [\d:]+ UTC<\/td><td><code>([^<]+)<\/code>.*?<\/td><td>([^<]*)<\/td><td>([^<]*)<\/td>/g)].map((m) => `${m[1]} ${m[2]} ${m[3]} ${m[4]}`)
}

describe('audit filters', () => {
  it('by actor: part of the label, any case', async () => {
    expect(await pageRows('?actor=ADMIN@aud')).toEqual([
      '2024-03-03 org.deadline_extended admin@aud.test max@aud.test',
      '2024-03-01 org.role_changed admin@aud.test mia@aud.test',
    ])
    expect(await pageRows('?actor=nobody')).toEqual([])
  })

  it('by member: organization events about them and their own security events', async () => {
    expect(await pageRows('?member=max@aud.test')).toEqual([
      '2024-03-03 org.deadline_extended admin@aud.test max@aud.test',
      '2024-03-02 org.member_removed owner@aud.test max@aud.test',
    ])
    expect(await pageRows('?member=mia@')).toEqual([
      '2024-03-05 auth.login_success mia@aud.test mia@aud.test',
      '2024-03-01 org.role_changed admin@aud.test mia@aud.test',
    ])
    expect(await pageRows('?member=outsider')).toEqual([])
  })

  it('by date: from and to are whole days, both included', async () => {
    expect(await pageRows('?from=2024-03-02&to=2024-03-02')).toEqual(['2024-03-02 org.member_removed owner@aud.test max@aud.test'])
    expect(await pageRows('?from=2024-03-03&to=2024-03-05')).toEqual([
      '2024-03-05 auth.login_success mia@aud.test mia@aud.test',
      '2024-03-03 org.deadline_extended admin@aud.test max@aud.test',
    ])
    expect(await pageRows('?to=2024-03-01')).toEqual(['2024-03-01 org.role_changed admin@aud.test mia@aud.test'])
  })

  it('a malformed filter is dropped alone: the others still apply', async () => {
    expect(await pageRows(`?actor=admin&from=not-a-day&member=${'x'.repeat(400)}`)).toEqual([
      '2024-03-03 org.deadline_extended admin@aud.test max@aud.test',
      '2024-03-01 org.role_changed admin@aud.test mia@aud.test',
    ])
  })

  it('combines filters, and the CSV export applies the same ones', async () => {
    expect(await pageRows('?actor=admin&member=max&from=2024-03-01&to=2024-03-31')).toEqual(['2024-03-03 org.deadline_extended admin@aud.test max@aud.test'])
    const res = await admin.get('/orgs/aud/audit/csv?actor=admin&member=max&to=2024-03-31')
    expect(res.headers.get('x-export-truncated')).toBe('false')
    const lines = (await res.text()).trim().split('\r\n')
    expect(lines).toHaveLength(2)
    expect(lines[1]).toMatch(/^2024-03-03T00:00:00\.000Z,org\.deadline_extended,admin@aud\.test,max@aud\.test,organization,/)
  })
})

describe('audit CSV row cap', () => {
  it('ends a cut-off export with a notice naming the cap instead of stopping silently', async () => {
    const scope = orgScope({ id: orgId })
    const q = parseAuditQuery(new URL('http://x/?to=2024-03-31'))
    const cut = await exportOrgAuditCsv(scope, q, 2)
    expect(cut.truncated).toBe(true)
    const lines = cut.csv.trim().split('\r\n')
    expect(lines).toHaveLength(4) // header, the two newest events, the notice
    expect(lines[1]).toContain('auth.login_success')
    expect(lines[2]).toContain('org.deadline_extended')
    expect(lines[3]).toMatch(/^"TRUNCATED: only the newest 2 matching events are in this file \(back to 2024-03-03\)\. Narrow the filter/)

    // Exactly at the cap is whole: no notice.
    const whole = await exportOrgAuditCsv(scope, q, 4)
    expect(whole.truncated).toBe(false)
    expect(whole.csv.trim().split('\r\n')).toHaveLength(5)
    expect(whole.csv).not.toContain('TRUNCATED')
  })
})

describe('retention setting', () => {
  const retention = async () => (await db.select({ d: schema.organizations.auditRetentionDays }).from(schema.organizations).where(eq(schema.organizations.id, orgId)))[0].d
  const changes = async () => (await db.select({ n: count() }).from(schema.auditEvents).where(and(eq(schema.auditEvents.organizationId, orgId), eq(schema.auditEvents.action, 'org.audit_retention_changed'))))[0].n

  it('an owner sets it: saved, shown and audited with old and new values', async () => {
    expect(await retention()).toBe(2557)
    expect((await owner.text('/orgs/aud/audit')).html.replaceAll('<!-- -->', '')).toContain('Kept for 7 years (2,557 days)')
    const res = await owner.post('/orgs/aud/audit', { retentionDays: '400' })
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/orgs/aud/audit')
    expect(await retention()).toBe(400)
    expect((await owner.text('/orgs/aud/audit')).html.replaceAll('<!-- -->', '')).toContain('(400 days)')
    const events = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'org.audit_retention_changed'))
    expect(events).toHaveLength(1)
    expect(events[0]).toMatchObject({ organizationId: orgId, actorLabel: 'owner@aud.test', details: { old: 2557, new: 400 } })
    expect(await pageRows('?action=org.audit_retention_changed')).toHaveLength(1)
  })

  it('bad values get 400 with a message and write nothing', async () => {
    const before = { days: await retention(), events: await changes() }
    const cases: [Record<string, string>, string][] = [
      [{ retentionDays: '29' }, 'Keep events at least 30 days.'],
      [{ retentionDays: '36501' }, 'At most 100 years.'],
      [{ retentionDays: '12.5' }, 'Whole days only.'],
      [{ retentionDays: 'forever' }, 'Enter a number of days.'],
      [{ retentionDays: '-400' }, 'Keep events at least 30 days.'],
      [{}, ''],
    ]
    for (const [form, message] of cases) {
      const res = await owner.post('/orgs/aud/audit', form)
      expect(res.status, JSON.stringify(form)).toBe(400)
      if (message) expect(await res.text(), JSON.stringify(form)).toContain(message)
    }
    expect({ days: await retention(), events: await changes() }).toEqual(before)
  })

  it('admins (not owners) cannot change it, and another organization cannot be reached', async () => {
    const before = { days: await retention(), events: await changes() }
    expect((await admin.post('/orgs/aud/audit', { retentionDays: '90' })).status).toBe(404)
    expect((await owner.post('/orgs/aud-other/audit', { retentionDays: '90' })).status).toBe(404)
    expect({ days: await retention(), events: await changes() }).toEqual(before)
    expect((await admin.text('/orgs/aud/audit')).html).not.toContain('Save retention')
  })
})
