import { randomUUID } from 'node:crypto'
import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { eq } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { recordAudit, systemActor } from '#app/audit/record.server.ts'
import { verifyAuditChains } from '#app/audit/verify.server.ts'
import { db, schema, sql } from '#db/client.ts'
import { createOrg } from '#tests/factories/users.ts'
import { connectAsOwner } from '#tests/setup/owner-db.ts'

// Tampering needs the owner (decision 058): the app's own role may not disable a trigger or
// update an event.
const owner = connectAsOwner()

const run = promisify(execFile)
async function verifyAuditCli(...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, ['cli/bin.js', 'verify-audit', ...args], { env: process.env })
    return { code: 0, stdout }
  } catch (e) {
    const err = e as { code: number; stdout: string }
    return { code: err.code, stdout: err.stdout }
  }
}

const orgs = [randomUUID(), randomUUID(), randomUUID()]

describe('audit hash chain', () => {
  it('stays whole under many concurrent writers across chains', async () => {
    const writes = Array.from({ length: 240 }, (_, i) =>
      recordAudit({
        action: 'org.policy_changed',
        actor: systemActor('system'),
        organizationId: i % 4 === 3 ? null : orgs[i % 4],
        details: { i, note: 'concurrent' },
      }),
    )
    await Promise.all(writes)
    const chains = await sql<{ chain: string; n: string; max: string }[]>`select chain, count(*) as n, max(seq) as max from audit_events group by chain`
    for (const c of chains) expect(Number(c.max)).toBe(Number(c.n)) // no gaps, no duplicates (unique index)
    expect(chains.map((c) => c.chain).sort()).toEqual([...orgs, 'platform'].sort())
    const report = await verifyAuditChains()
    expect(report.broken).toEqual([])
    expect(report.ok).toBe(true)
    expect(report.events).toBe(240)
    const cli = await verifyAuditCli()
    expect(cli.code).toBe(0)
    expect(cli.stdout).toContain('Audit log intact: 240 event(s) in 4 chain(s).')
  })

  it('the app cannot edit or delete events, and the triggers refuse the owner too', async () => {
    await expect(sql`update audit_events set action = 'x' where seq = 1`).rejects.toThrow(/permission denied/)
    await expect(sql`delete from audit_events where seq = 1`).rejects.toThrow(/permission denied/)
    await expect(sql`truncate audit_events`).rejects.toThrow(/permission denied/)
    await expect(owner`update audit_events set action = 'x' where seq = 1`).rejects.toThrow(/append-only/)
    await expect(owner`delete from audit_events where seq = 1`).rejects.toThrow(/append-only/)
    await expect(owner`truncate audit_events`).rejects.toThrow(/append-only/)
    // The retention function's own switch cannot be thrown by a session, nor by a block of its own.
    await expect(owner.begin((tx) => [tx`select set_config('gatehouse.audit_prune', 'on', true)`, tx`delete from audit_events where seq = 1`])).rejects.toThrow(/append-only/)
    await expect(owner.unsafe(`do $$ begin perform set_config('gatehouse.audit_prune', 'on', true); delete from audit_events where seq = 1; end $$`)).rejects.toThrow(/append-only/)
  })

  it('catches an edited row and names it', async () => {
    const [target] = await sql<{ id: string; details: unknown }[]>`select id, details from audit_events where chain = ${orgs[0]} and seq = 10`
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner`update audit_events set details = ${JSON.stringify({ i: 0, note: 'nothing to see here' })}::text::jsonb where id = ${target.id}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    const report = await verifyAuditChains()
    expect(report.ok).toBe(false)
    expect(report.firstBroken).toMatchObject({ chain: orgs[0], id: Number(target.id), seq: 10, problem: 'edited' })
    const cli = await verifyAuditCli()
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain(`First broken event: chain ${orgs[0]}: event 10 (id ${target.id}) was edited`)

    // Someone who also rewrites the hash is caught at the next event's link.
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner`update audit_events e set hash = audit_event_hash(e) where id = ${target.id}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    const relinked = await verifyAuditChains()
    expect(relinked.firstBroken).toMatchObject({ chain: orgs[0], seq: 11, problem: 'link' })

    // Put it back exactly: the chain verifies again.
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner`update audit_events set details = ${JSON.stringify(target.details)}::text::jsonb where id = ${target.id}`
    await owner`update audit_events e set hash = audit_event_hash(e) where id = ${target.id}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    expect((await verifyAuditChains()).broken).toEqual([])
  })

  it('resumes from the retention anchor after pruning', async () => {
    const org = await createOrg()
    await db.update(schema.organizations).set({ auditRetentionDays: 30 }).where(eq(schema.organizations.id, org.id))
    const old = new Date(Date.now() - 40 * 86_400_000)
    for (let i = 0; i < 3; i++) await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: old })
    const removed = await sql<{ n: number }[]>`select audit_prune(${org.id}) as n`
    expect(removed[0].n).toBe(3)
    await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: org.id })
    const report = await verifyAuditChains()
    expect(report.broken).toEqual([])
    expect(report.chains.find((c) => c.chain === org.id)).toMatchObject({ events: 1, anchoredAt: 3, firstSeq: 4 })
  })

  it('catches a deleted row', async () => {
    const [victim] = await sql<{ id: string }[]>`select id from audit_events where chain = ${orgs[1]} and seq = 5`
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_delete')
    await owner`delete from audit_events where id = ${victim.id}`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_delete')
    const report = await verifyAuditChains()
    expect(report.ok).toBe(false)
    expect(report.firstBroken).toMatchObject({ chain: orgs[1], seq: 6, problem: 'missing' })
    expect(report.firstBroken!.message).toContain('event 5 is missing before event 6')
    const cli = await verifyAuditCli()
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain('event 5 is missing before event 6')
  })

  it('catches a chain rewritten together with its head, against heads exported earlier', async () => {
    const chain = randomUUID()
    for (let i = 0; i < 4; i++) await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: chain, details: { i } })
    const exported = await run(process.execPath, ['cli/bin.js', 'audit-heads', '--json'], { env: process.env })
    const heads = JSON.parse(exported.stdout) as { chain: string; seq: number; hash: string }[]
    expect(heads.find((h) => h.chain === chain)).toMatchObject({ seq: 4 })
    const file = join(mkdtempSync(join(tmpdir(), 'gh-heads-')), 'heads.json')
    writeFileSync(file, JSON.stringify(heads))
    expect((await verifyAuditChains({ knownHeads: heads })).broken.filter((b) => b.chain === chain)).toEqual([])

    // Someone able to disable the triggers rewrites event 4 and the head to match: the chain is
    // consistent in the database, and only the exported head shows it.
    await owner.unsafe('alter table audit_events disable trigger audit_events_no_update')
    await owner.unsafe('alter table audit_chain_heads disable trigger audit_chain_heads_guard')
    await owner`update audit_events e set details = '{"i": 99}'::jsonb where chain = ${chain} and seq = 4`
    await owner`update audit_events e set hash = audit_event_hash(e) where chain = ${chain} and seq = 4`
    await owner`update audit_chain_heads h set hash = e.hash from audit_events e where h.chain = ${chain} and e.chain = h.chain and e.seq = 4`
    await owner.unsafe('alter table audit_chain_heads enable trigger audit_chain_heads_guard')
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_update')
    expect((await verifyAuditChains()).broken.filter((b) => b.chain === chain)).toEqual([])
    const against = await verifyAuditChains({ knownHeads: heads })
    expect(against.broken).toContainEqual(expect.objectContaining({ chain, seq: 4, problem: 'rewritten' }))
    const cli = await verifyAuditCli('--heads', file)
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain('event 4 is not the one recorded in the exported heads')
    // A file that is not a heads export is a usage error (exit 2).
    writeFileSync(file, '{"not": "heads"}')
    expect((await verifyAuditCli('--heads', file)).code).toBe(2)
  })

  it('catches the newest events removed (a cut tail), and the head only moves forward', async () => {
    const chain = randomUUID()
    for (let i = 0; i < 5; i++) await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: chain, details: { i } })
    await expect(sql`update audit_chain_heads set seq = 3 where chain = ${chain}`).rejects.toThrow(/permission denied/)
    await expect(owner`update audit_chain_heads set seq = 3 where chain = ${chain}`).rejects.toThrow(/only moves forward/)
    await expect(owner`delete from audit_chain_heads where chain = ${chain}`).rejects.toThrow(/only moves forward/)
    await expect(owner`truncate audit_chain_heads`).rejects.toThrow(/only moves forward/)

    await owner.unsafe('alter table audit_events disable trigger audit_events_no_delete')
    await owner`delete from audit_events where chain = ${chain} and seq > 3`
    await owner.unsafe('alter table audit_events enable trigger audit_events_no_delete')
    const report = await verifyAuditChains()
    expect(report.broken).toContainEqual(expect.objectContaining({ chain, problem: 'truncated', seq: 4 }))
    expect(report.broken.find((b) => b.chain === chain)!.message).toContain('events 4–5 are missing at the end of the chain')
    const cli = await verifyAuditCli()
    expect(cli.code).toBe(1)
    expect(cli.stdout).toContain('events 4–5 are missing at the end of the chain')

    // The chain goes on from its head, so the gap stays visible after new events.
    await recordAudit({ action: 'org.policy_changed', actor: systemActor('system'), organizationId: chain })
    const [next] = await sql<{ seq: string }[]>`select max(seq) as seq from audit_events where chain = ${chain}`
    expect(Number(next.seq)).toBe(6)
    expect((await verifyAuditChains()).broken).toContainEqual(expect.objectContaining({ chain, problem: 'missing', seq: 6 }))
  })
})
