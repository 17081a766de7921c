/**
 * Audit retention: each organization's chain keeps organizations.audit_retention_days (default
 * 7 years); the platform chain keeps the longest retention of any organization (members' security
 * events show on every organization's audit page, so none may lose them early), at least 7 years.
 * Events leave only through the privileged database function audit_prune, which writes the anchor.
 */
import { sql as pg } from '#db/client.ts'

export const DEFAULT_RETENTION_DAYS = 2557

export async function pruneAudit(now = new Date()): Promise<{ chains: number; removed: number }> {
  const orgs = await pg<{ id: string; days: number }[]>`select id::text, audit_retention_days as days from organizations`
  let removed = 0
  let chains = 0
  for (const o of orgs) {
    const [r] = await pg<{ n: number }[]>`select audit_prune(${o.id}, ${new Date(now.getTime() - o.days * 86_400_000).toISOString()}::timestamptz) as n`
    removed += r.n
    chains++
  }
  const platformDays = Math.max(DEFAULT_RETENTION_DAYS, ...orgs.map((o) => o.days))
  const [r] = await pg<{ n: number }[]>`select audit_prune('platform', ${new Date(now.getTime() - platformDays * 86_400_000).toISOString()}::timestamptz) as n`
  return { chains: chains + 1, removed: removed + r.n }
}
