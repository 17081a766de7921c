/**
 * The audit-retention job: each organization's chain keeps organizations.audit_retention_days (default
 * 7 years); the platform chains (decision 068) keep the longest retention of any organization (members' security
 * events show on every organization's audit page, so none may lose them early), at least 7 years.
 * Events leave only through the privileged database function audit_prune, which reads that
 * retention itself, refuses one under the minimum and writes the anchor: the caller names the chain
 * and nothing else (decision 058).
 */
import { defineSweep } from '#app/jobs/define-job.server.ts'
import { sql as pg } from '#db/client.ts'
import { PLATFORM_CHAINS } from './record.server.ts'

export const auditRetention = defineSweep({
  name: 'audit-retention',
  every: 24 * 3600_000,
  handler: () => pruneAudit(),
})

export async function pruneAudit(): Promise<{ chains: number; removed: number }> {
  const orgs = await pg<{ id: string }[]>`select id::text from organizations`
  let removed = 0
  const refused: string[] = []
  for (const chain of [...orgs.map((o) => o.id), ...PLATFORM_CHAINS]) {
    try {
      const [r] = await pg<{ n: number }[]>`select audit_prune(${chain}) as n`
      removed += r.n
    } catch (e) {
      // A retention under the minimum stops that chain only; the job still fails, naming it.
      if ((e as { code?: string }).code !== '23514') throw e
      refused.push((e as Error).message)
    }
  }
  if (refused.length) throw new Error(refused.join('\n'))
  return { chains: orgs.length + PLATFORM_CHAINS.length, removed }
}
