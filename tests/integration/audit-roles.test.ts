/**
 * The audit log is append-only against the application itself (decision 058): the app's own
 * database role, connected with DATABASE_URL as the app connects, tries what an attacker holding
 * the app's credentials would try, and nothing changes. Retention takes no cut-off from its caller,
 * verify-audit checks each anchor against the retention in force, and the hash encodes each event
 * canonically while chains written before still verify.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { describe, expect, it } from 'vitest'
import { recordAudit, systemActor } from '#app/audit/record.server.ts'
import { verifyAuditChains } from '#app/audit/verify.server.ts'
import { config } from '#app/config/env.server.ts'
import { db, schema, sql } from '#db/client.ts'
import { migrateDatabase, migrationsFolder } from '#db/migrate-database.ts'
import { pruneAudit } from '#app/audit/retention.server.ts'
import { createOrg } from '#tests/factories/users.ts'
import { ADMIN_URL, databaseUrls } from '#tests/setup/database-urls.ts'
import { connectAsOwner } from '#tests/setup/owner-db.ts'

const owner = connectAsOwner()
const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
const AUDIT_TABLES = ['audit_events', 'audit_anchors', 'audit_chain_heads']

type CliResult = { code: number; stdout: string; stderr: string }
function verifyAuditCli(env: Record<string, string> = {}, ...args: string[]): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['cli/bin.js', 'verify-audit', ...args], { env: { ...process.env, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 99) : 0, stdout, stderr })
    })
  })
}

/** Every row of the audit tables, to show that a refused statement changed nothing. */
async function auditSnapshot() {
  const out: Record<string, string> = {}
  for (const t of AUDIT_TABLES) {
    const [r] = await owner.unsafe<{ n: number; h: string }[]>(`select count(*)::int as n, coalesce(md5(string_agg(to_jsonb(t)::text, ',' order by to_jsonb(t)::text)), '') as h from ${t} t`)
    out[t] = `${r.n} rows, md5 ${r.h}`
  }
  return out
}

async function eventsOf(chain: string) {
  return db.select().from(schema.auditEvents).where(eq(schema.auditEvents.chain, chain)).orderBy(schema.auditEvents.seq)
}

describe('the application role', () => {
  it('is the role the app connects as, owns nothing and cannot act as the owner', async () => {
    const [me] = await sql<{ user: string; superuser: boolean; bypassrls: boolean; createrole: boolean; createdb: boolean }[]>`
      select current_user as user, rolsuper as superuser, rolbypassrls as bypassrls, rolcreaterole as createrole, rolcreatedb as createdb from pg_roles where rolname = current_user`
    expect(me).toEqual({ user: new URL(config.databaseUrl).username, superuser: false, bypassrls: false, createrole: false, createdb: false })
    const [ownerName] = await owner<{ user: string }[]>`select current_user as user`
    expect(me.user).not.toBe(ownerName.user)
    const owned = await sql`select relname from pg_class where relowner = (select oid from pg_roles where rolname = current_user)`
    expect(owned).toEqual([])
    await expect(sql.unsafe(`set role ${ownerName.user}`)).rejects.toThrow(/permission denied/)
    // Pruning is granted to this role alone, not to every role (PUBLIC).
    const [prune] = await owner<{ grantees: string[] }[]>`
      select array_agg(coalesce(r.rolname, 'PUBLIC')) as grantees
      from pg_proc p, aclexplode(p.proacl) a left join pg_roles r on r.oid = a.grantee
      where p.oid = 'audit_prune(text)'::regprocedure and a.privilege_type = 'EXECUTE'`
    expect(prune.grantees.sort()).toEqual([me.user, ownerName.user].sort())
  })

  it('cannot update, delete, truncate, alter or disable the triggers of the audit tables', async () => {
    for (let i = 0; i < 3; i++) await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), details: { i } })
    const before = await auditSnapshot()
    const attempts: [string, RegExp][] = []
    for (const t of AUDIT_TABLES) {
      attempts.push(
        [`update ${t} set chain = chain`, /permission denied/],
        [`delete from ${t}`, /permission denied/],
        [`truncate ${t}`, /permission denied/],
        [`alter table ${t} add column note text`, /must be owner/],
        [`alter table ${t} disable trigger all`, /must be owner/],
        [`drop table ${t}`, /must be owner/],
      )
    }
    attempts.push(
      ['alter table audit_events disable trigger audit_events_no_delete', /must be owner/],
      ['alter table audit_events rename to audit_events_old', /must be owner/],
      ['drop trigger audit_events_no_update on audit_events', /must be owner/],
      // The heads and anchors are written by the database's own functions only.
      [`insert into audit_chain_heads (chain, seq, hash) values ('forged', 1, repeat('0', 64))`, /permission denied/],
      [`insert into audit_anchors (chain, last_removed_seq, last_removed_hash) values ('platform', 99, repeat('0', 64))`, /permission denied/],
      // Ways around triggers and privileges: replica mode, a function of its own, the owner's role.
      ['set session_replication_role = replica', /permission denied/],
      ['create function public.audit_prune(p text) returns int language sql as $$ select 1 $$', /permission denied/],
      ['create or replace function audit_event_hash(e audit_events) returns text language sql as $$ select e.hash $$', /permission denied for schema public|must be owner/],
      ['alter function audit_prune(text) security invoker', /must be owner/],
    )
    const outcomes: string[] = []
    for (const [statement, expected] of attempts) {
      const error = await sql.unsafe(statement).then(() => null, (e: Error) => e.message)
      outcomes.push(`${statement}: ${error && expected.test(error) ? 'refused' : `NOT refused as expected (${error ?? 'it ran'})`}`)
    }
    expect(outcomes).toEqual(attempts.map(([s]) => `${s}: refused`))
    expect(await auditSnapshot()).toEqual(before)
    expect((await verifyAuditChains()).broken).toEqual([])
  })

  it('cannot steer the definer functions with temporary tables of the same names', async () => {
    const org = await createOrg()
    await db.update(schema.organizations).set({ auditRetentionDays: 30 }).where(eq(schema.organizations.id, org.id))
    await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: ago(40) })
    await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: org.id })
    await sql.begin(async (tx) => {
      await tx.unsafe('create temporary table audit_chain_heads (chain text primary key, seq bigint, hash text, updated_at timestamptz) on commit drop')
      await tx.unsafe('create temporary table audit_events (like public.audit_events including defaults) on commit drop')
      await tx.unsafe('create temporary table audit_anchors (like public.audit_anchors including defaults) on commit drop')
      await tx`insert into pg_temp.audit_chain_heads values (${org.id}, 1000, repeat('f', 64), now())`
      // Written through the real table: the chain trigger must read and move the real head.
      await tx`insert into public.audit_events (chain, organization_id, actor_label, action) values (${org.id}, ${org.id}, 'system', 'org.policy_changed')`
      // The prune must remove the real old event and write the real anchor.
      await tx`select audit_prune(${org.id})`
    })
    expect((await eventsOf(org.id)).map((e) => e.seq)).toEqual([2, 3])
    const [head] = await db.select().from(schema.auditChainHeads).where(eq(schema.auditChainHeads.chain, org.id))
    expect(head.seq).toBe(3)
    const [anchor] = await db.select().from(schema.auditAnchors).where(eq(schema.auditAnchors.chain, org.id))
    expect(anchor).toMatchObject({ lastRemovedSeq: 1, retentionDays: 30 })
    expect((await verifyAuditChains()).broken).toEqual([])
  })

  it('appends events, always with the current hash encoding', async () => {
    const chain = (await createOrg()).id
    await db.insert(schema.auditEvents).values({ chain, organizationId: chain, actorLabel: 'system', action: 'org.policy_changed', hashVersion: 1 })
    const [event] = await eventsOf(chain)
    expect(event.hashVersion).toBe(2)
    expect((await verifyAuditChains()).broken).toEqual([])
  })

  it('migrating refuses an application role that could reach past its grants', async () => {
    const ownerUrl = config.databaseOwnerUrl
    const as = (user: string) => Object.assign(new URL(ownerUrl), { username: user }).toString()
    const ownerName = new URL(ownerUrl).username
    await expect(migrateDatabase({ ownerUrl, appUrl: as(ownerName) })).rejects.toThrow(/must connect as its own role, not as the owner/)
    const creator = `gh_creator_${randomBytes(3).toString('hex')}`
    const member = `gh_member_${randomBytes(3).toString('hex')}`
    await owner.unsafe(`create role ${creator} login createrole`)
    await owner.unsafe(`create role ${member} login in role ${ownerName}`)
    try {
      await expect(migrateDatabase({ ownerUrl, appUrl: as(creator) })).rejects.toThrow(/may create roles/)
      await expect(migrateDatabase({ ownerUrl, appUrl: as(member) })).rejects.toThrow(/member of the owner role/)
    } finally {
      await owner.unsafe(`drop role ${creator}`)
      await owner.unsafe(`drop role ${member}`)
    }
  })

  it('gets read and write on tables a later migration adds, through default privileges', async () => {
    const table = `later_${randomBytes(3).toString('hex')}`
    await owner.unsafe(`create table ${table} (id bigserial primary key, note text)`)
    await sql.unsafe(`insert into ${table} (note) values ('x')`)
    await sql.unsafe(`update ${table} set note = 'y'`)
    expect(await sql.unsafe(`delete from ${table} returning note`)).toEqual([{ note: 'y' }])
    await expect(sql.unsafe(`drop table ${table}`)).rejects.toThrow(/must be owner/)
    await owner.unsafe(`drop table ${table}`)
  })
})

describe('retention', () => {
  it('a prune with a future cut-off: the app cannot pass a cut-off at all', async () => {
    const org = await createOrg()
    for (let i = 0; i < 3; i++) await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: org.id, details: { i } })
    const before = await auditSnapshot()
    await expect(sql`select audit_prune(${org.id}, now() + interval '1 day')`).rejects.toThrow(/function audit_prune\(.*\) does not exist/)
    await expect(sql`select audit_prune(${org.id}::text, (now() + interval '1 day')::timestamptz)`).rejects.toThrow(/does not exist/)
    // The one-argument function reads the retention itself: nothing written today is old enough.
    const [r] = await sql<{ n: number }[]>`select audit_prune(${org.id}) as n`
    expect(r.n).toBe(0)
    expect(await auditSnapshot()).toEqual(before)
    expect(await eventsOf(org.id)).toHaveLength(3)
  })

  it('removes only a prefix of events older than the retention, and records the retention on the anchor', async () => {
    const org = await createOrg()
    await db.update(schema.organizations).set({ auditRetentionDays: 30 }).where(eq(schema.organizations.id, org.id))
    const event = (createdAt: Date, note: string) => db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt, details: { note } })
    await event(ago(45), 'old')
    await event(ago(31), 'old')
    await event(ago(1), 'recent')
    // Written after a recent event with an old time: it must not take the recent one with it.
    await event(ago(400), 'backdated')
    expect(await pruneAudit()).toMatchObject({ removed: 2 })
    expect((await eventsOf(org.id)).map((e) => [e.seq, e.details.note])).toEqual([[3, 'recent'], [4, 'backdated']])
    const [anchor] = await db.select().from(schema.auditAnchors).where(eq(schema.auditAnchors.chain, org.id))
    expect(anchor).toMatchObject({ lastRemovedSeq: 2, retentionDays: 30 })
    expect(anchor.prunedAt.getTime() - anchor.cutOff!.getTime()).toBe(30 * DAY)
    expect(anchor.removedUntil!.getTime()).toBeLessThan(anchor.cutOff!.getTime())
    expect((await verifyAuditChains()).broken).toEqual([])
  })

  it('refuses a retention set below the minimum directly in the database, and removes nothing', async () => {
    const org = await createOrg()
    await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: ago(10) })
    await owner`update organizations set audit_retention_days = 1 where id = ${org.id}`
    const before = await auditSnapshot()
    await expect(sql`select audit_prune(${org.id})`).rejects.toThrow(/retention of 1 days .* below the minimum of 30 days/)
    // The worker goes on with the other chains and fails naming this one.
    await expect(pruneAudit()).rejects.toThrow(new RegExp(`chain ${org.id} is below the minimum`))
    expect(await auditSnapshot()).toEqual(before)
    await owner`update organizations set audit_retention_days = 30 where id = ${org.id}`
  })

  it('verify-audit checks every anchor against the retention in force', async () => {
    const org = await createOrg()
    await db.update(schema.organizations).set({ auditRetentionDays: 30 }).where(eq(schema.organizations.id, org.id))
    await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: ago(40) })
    await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: org.id })
    await sql`select audit_prune(${org.id})`
    expect((await verifyAuditChains()).broken).toEqual([])
    const [real] = await owner`select * from audit_anchors where chain = ${org.id}`

    // The owner fakes an anchor as a prune with a cut-off in the future would have left it.
    await owner`update audit_anchors set cut_off = now() + interval '1 day', removed_until = now() where chain = ${org.id}`
    const future = await verifyAuditChains()
    expect(future.broken).toContainEqual(expect.objectContaining({ chain: org.id, seq: 1, problem: 'retention' }))
    expect(future.broken.find((b) => b.chain === org.id)!.message).toContain('later than its retention of 30 days allows')
    const cli = await verifyAuditCli()
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain(`chain ${org.id}: the retention anchor at event 1`)

    // … or under a retention below the minimum, or removing an event newer than its cut-off.
    await owner`update audit_anchors set cut_off = pruned_at - interval '5 days', removed_until = pruned_at - interval '6 days', retention_days = 5 where chain = ${org.id}`
    expect((await verifyAuditChains()).broken.find((b) => b.chain === org.id)!.message).toContain('retention of 5 days, below the minimum of 30')
    await owner`update audit_anchors set cut_off = ${real.cut_off}, retention_days = 30, removed_until = ${real.cut_off} where chain = ${org.id}`
    expect((await verifyAuditChains()).broken.find((b) => b.chain === org.id)!.message).toContain('not older than its cut-off')

    await owner`update audit_anchors set cut_off = ${real.cut_off}, removed_until = ${real.removed_until} where chain = ${org.id}`
    expect((await verifyAuditChains()).broken).toEqual([])
  })
})

describe('the hash encoding', () => {
  const hashOf = async (fields: Record<string, unknown>) => {
    const [r] = await sql<{ h: string }[]>`select audit_event_hash(jsonb_populate_record(null::audit_events, ${JSON.stringify(fields)}::text::jsonb)) as h`
    return r.h
  }

  it('sees text moved from one field to the next', async () => {
    const base = { chain: 'platform', seq: 7, prev_hash: '0'.repeat(64), action: 'auth.login_success', details: {}, created_at: '2026-11-30T12:00:00Z' }
    const one = { ...base, actor_label: 'alice@acme.test', ip: '10.0.0.1|curl/8', user_agent: 'x' }
    const other = { ...base, actor_label: 'alice@acme.test', ip: '10.0.0.1', user_agent: 'curl/8|x' }
    // The old '|'-joined encoding cannot tell them apart; the JSON array can.
    expect(await hashOf({ ...one, hash_version: 1 })).toBe(await hashOf({ ...other, hash_version: 1 }))
    expect(await hashOf({ ...one, hash_version: 2 })).not.toBe(await hashOf({ ...other, hash_version: 2 }))
    // Nor is a missing value the same as an empty one.
    expect(await hashOf({ ...base, actor_label: 'a', ip: null, hash_version: 2 })).not.toBe(await hashOf({ ...base, actor_label: 'a', ip: '', hash_version: 2 }))

    // The owner moves the text in a real event: verify-audit names it.
    const chain = (await createOrg()).id
    await db.insert(schema.auditEvents).values({ chain, organizationId: chain, actorLabel: 'alice@acme.test', ip: '10.0.0.1|curl/8', userAgent: 'x', action: 'auth.login_success' })
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner`update audit_events set ip = '10.0.0.1', user_agent = 'curl/8|x' where chain = ${chain}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    expect((await verifyAuditChains()).broken).toContainEqual(expect.objectContaining({ chain, seq: 1, problem: 'edited' }))
    // Falling back on the old encoding for that event does not hide it either.
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner`update audit_events set hash_version = 1 where chain = ${chain}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    expect((await verifyAuditChains()).broken).toContainEqual(expect.objectContaining({ chain, seq: 1, problem: 'edited' }))
  })

  // Migrates a database of its own twice and runs the CLI twice: generous time on a loaded machine.
  it('chains written before the JSON encoding still verify after the migration', { timeout: 120_000 }, async () => {
    const name = `gh_v1_${process.pid}_${randomBytes(3).toString('hex')}`
    const { ownerUrl, appUrl } = databaseUrls(name)
    const admin = postgres(ADMIN_URL, { max: 1, onnotice: () => {} })
    await admin.unsafe(`create database ${name}`)
    try {
      // Step 1: the migrations before this one, as installations ran them, and events written then.
      const before = mkdtempSync(join(tmpdir(), 'gh-migrations-'))
      cpSync(migrationsFolder, before, { recursive: true })
      const journal = JSON.parse(readFileSync(join(before, 'meta/_journal.json'), 'utf8')) as { entries: { tag: string }[] }
      journal.entries = journal.entries.slice(0, journal.entries.findIndex((e) => e.tag.endsWith('_audit_roles')))
      writeFileSync(join(before, 'meta/_journal.json'), JSON.stringify(journal))
      const old = postgres(ownerUrl, { max: 1, onnotice: () => {} })
      try {
        await migrate(drizzle(old), { migrationsFolder: before })
        const write = (chain: string, i: number) =>
          old`insert into audit_events (chain, actor_label, action, user_agent, details, created_at) values (${chain}, 'a|b', 'org.policy_changed', ${`ua ${i}`}, ${JSON.stringify({ i })}::text::jsonb, now() - interval '40 days')`
        for (let i = 0; i < 4; i++) await write('legacy-org', i)
        await old`select audit_prune('legacy-org', now())` // the old retention: an anchor without a recorded retention
        for (let i = 0; i < 3; i++) await write('legacy-org', i + 4)
        for (let i = 0; i < 3; i++) await write('platform', i)
      } finally {
        await old.end()
      }

      // Step 2: this migration and the grants; the app goes on writing the same chains.
      await migrateDatabase({ ownerUrl, appUrl })
      const app = postgres(appUrl, { max: 1, onnotice: () => {} })
      try {
        for (const chain of ['legacy-org', 'platform']) await app`insert into audit_events (chain, actor_label, action) values (${chain}, 'system', 'org.policy_changed')`
        const versions = await app<{ chain: string; v: number; n: number }[]>`select chain, hash_version as v, count(*)::int as n from audit_events group by 1, 2 order by 1, 2`
        expect(versions).toEqual([
          { chain: 'legacy-org', v: 1, n: 3 },
          { chain: 'legacy-org', v: 2, n: 1 },
          { chain: 'platform', v: 1, n: 3 },
          { chain: 'platform', v: 2, n: 1 },
        ])
      } finally {
        await app.end()
      }
      const env = { DATABASE_URL: appUrl, DATABASE_OWNER_URL: ownerUrl }
      const ok = await verifyAuditCli(env)
      expect(ok.stderr).toBe('')
      expect(ok.code).toBe(0)
      expect(ok.stdout).toContain('Audit log intact: 8 event(s) in 2 chain(s).')

      // The old events are checked, not waved through: an edited one is caught.
      const tamper = postgres(ownerUrl, { max: 1, onnotice: () => {} })
      try {
        await tamper.unsafe('alter table audit_events disable trigger audit_events_no_update')
        await tamper`update audit_events set details = '{"i": 99}' where chain = 'platform' and seq = 2`
      } finally {
        await tamper.end()
      }
      const caught = await verifyAuditCli(env)
      expect(caught.code).toBe(1)
      expect(caught.stdout).toContain('chain platform: event 2')
    } finally {
      await admin.unsafe(`drop database if exists ${name} with (force)`)
      await admin.end()
    }
  })
})
