/**
 * The audit-retention job: each organization's chain keeps organizations.audit_retention_days (default
 * 7 years); the platform chains (decision 068) keep the longest retention of any organization (members' security
 * events show on every organization's audit page, so none may lose them early), at least 7 years.
 * Events leave only through the privileged database function audit_prune, which reads that
 * retention itself, refuses one under the minimum and writes the anchor: the caller names the chain
 * and nothing else (decision 058).
 *
 * Set-based: one statement finds the chains whose oldest event is past their retention (one probe
 * of the (chain, seq) index per chain), so a rerun with nothing to do prunes nothing and reads
 * indexes only. Each chain is pruned in its own transaction under a try-lock of the chain's
 * advisory lock (the one audit_prune takes): several workers share the chains, and none waits for
 * a chain another is pruning.
 */
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { sql as pg } from '#db/client.ts'
import { PLATFORM_CHAINS } from './record.server.ts'

export const auditRetention = defineSweep({
  name: 'audit-retention',
  every: 24 * 3600_000,
  handler: () => pruneAudit(),
})

/** The chains with at least one event older than their retention (the same retention audit_prune reads), or a retention it refuses. */
async function chainsDue(): Promise<string[]> {
  const rows = await pg<{ chain: string }[]>`
    with retention as (
      select id::text as chain, audit_retention_days as days from organizations
      union all
      select unnest(${PLATFORM_CHAINS}::text[]), (select greatest(2557, max(audit_retention_days)) from organizations)
    )
    select r.chain from retention r
    -- A retention under the minimum always goes to audit_prune, whose refusal fails the job loudly.
    where r.days is null or r.days < 30 or (select e.created_at from audit_events e where e.chain = r.chain order by e.seq limit 1)
      < now() - make_interval(hours => r.days * 24)`
  return rows.map((r) => r.chain)
}

export async function pruneAudit(): Promise<{ chains: number; removed: number; skipped: number }> {
  let removed = 0
  let skipped = 0
  const refused: string[] = []
  const due = await chainsDue()
  for (const chain of due) {
    try {
      const n = await pg.begin(async (tx) => {
        const [lock] = await tx<{ got: boolean }[]>`select pg_try_advisory_xact_lock(hashtextextended(${'audit:' + chain}, 0)) as got`
        if (!lock.got) return null
        const [r] = await tx<{ n: number }[]>`select audit_prune(${chain}) as n`
        return r.n
      })
      if (n === null) skipped++
      else removed += n
    } catch (e) {
      // A retention under the minimum stops that chain only; the job still fails, naming it.
      if ((e as { code?: string }).code !== '23514') throw e
      refused.push((e as Error).message)
    }
  }
  if (refused.length) throw new Error(refused.join('\n'))
  return { chains: due.length, removed, skipped }
}
