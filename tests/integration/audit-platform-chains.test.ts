/**
 * Members' security events are spread over the platform chains by user id (decision 068): each
 * member's events stay in order on one chain, verify-audit and retention cover every chain.
 */
import { randomUUID } from 'node:crypto'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { platformChain, PLATFORM_CHAINS, recordAudit, systemActor } from '#app/audit/record.server.ts'
import { pruneAudit } from '#app/audit/retention.server.ts'
import { verifyAuditChains } from '#app/audit/verify.server.ts'
import { db, schema, sql } from '#db/client.ts'

const run = promisify(execFile)

describe('platform audit chains', () => {
  // First, while the chain holds only these events: retention removes a prefix of a chain only.
  it('retention prunes every platform chain under the platform retention, and no other name', async () => {
    const member = randomUUID()
    const chain = platformChain(member)
    const old = new Date(Date.now() - 3000 * 86_400_000) // older than the 7-year platform retention
    for (let i = 0; i < 2; i++) await db.insert(schema.auditEvents).values({ chain, subjectId: member, actorLabel: 'system', action: 'auth.login_success', createdAt: old })
    await recordAudit({ action: 'auth.logout', actor: systemActor('system'), subjectId: member })
    const before = await sql<{ n: number }[]>`select count(*)::int as n from audit_events where chain = ${chain}`
    await pruneAudit()
    const [anchor] = await sql<{ retention_days: number; last_removed_seq: string }[]>`select retention_days, last_removed_seq from audit_anchors where chain = ${chain}`
    expect(anchor.retention_days).toBeGreaterThanOrEqual(2557)
    const after = await sql<{ n: number }[]>`select count(*)::int as n from audit_events where chain = ${chain}`
    expect(after[0].n).toBe(before[0].n - 2)
    expect((await verifyAuditChains()).broken).toEqual([])
    await expect(sql`select audit_prune('platform:8')`).rejects.toThrow(/is no organization's/)
  })

  it('spread members over several chains, one chain per member, all verified', async () => {
    const members = Array.from({ length: 40 }, () => randomUUID())
    await Promise.all(
      members.flatMap((id) => [0, 1, 2].map((i) => recordAudit({ action: 'auth.login_success', actor: { id, label: `${id}@example.test` }, subjectId: id, details: { i } }))),
    )
    await recordAudit({ action: 'auth.login_failed', actor: { id: null, label: 'nobody@example.test' }, details: { reason: 'unknown_email' } })
    const rows = await sql<{ chain: string; subject_id: string | null }[]>`select chain, subject_id from audit_events`
    const chainsOf = new Map<string, Set<string>>()
    for (const r of rows) chainsOf.set(r.subject_id ?? '', (chainsOf.get(r.subject_id ?? '') ?? new Set()).add(r.chain))
    for (const id of members) expect([...chainsOf.get(id)!]).toEqual([platformChain(id)])
    expect([...chainsOf.get('')!]).toEqual(['platform'])
    const used = new Set(rows.map((r) => r.chain))
    expect(used.size).toBeGreaterThan(3)
    for (const chain of used) expect(PLATFORM_CHAINS).toContain(chain)

    const report = await verifyAuditChains()
    expect(report.broken).toEqual([])
    expect(report.chains.length).toBe(used.size)
    const { stdout } = await run(process.execPath, ['cli/bin.js', 'verify-audit'], { env: process.env })
    expect(stdout).toContain(`Audit log intact: ${rows.length} event(s) in ${used.size} chain(s).`)
  })
})
