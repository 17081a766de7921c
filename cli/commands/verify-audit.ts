import { readFileSync } from 'node:fs'
import { defineCommand, EXIT, UsageError } from '../registry.ts'

export default defineCommand({
  name: 'verify-audit',
  summary: 'check the audit hash chains and name the first broken event',
  description: [
    'Recomputes every event\'s hash with the database function audit_event_hash, checks each link to',
    'the previous event and that no sequence number is missing, per chain (one per organization and',
    'one for platform events), starting from the retention anchor, and that each chain ends at its',
    'head; that each anchor was written under a retention of at least 30 days and removed only events',
    'older than its cut-off. With --heads, also that every event named in heads exported earlier (gatehouse',
    'audit-heads) is still in its chain, unchanged. Exits 1 when a chain is broken.',
  ].join('\n'),
  options: {
    heads: { type: 'string', placeholder: 'file', description: 'a JSON file written earlier by `gatehouse audit-heads`' },
  },
  async run({ print, values }) {
    const { verifyAuditChains } = await import('#app/audit/verify.server.ts')
    const report = await verifyAuditChains({ knownHeads: values.heads ? readHeads(String(values.heads)) : undefined })
    print(report, [
      ...report.chains.map((c) => `  ${c.ok ? 'ok    ' : 'BROKEN'} ${c.chain}: ${c.events} event(s)${c.anchoredAt ? ` after anchor ${c.anchoredAt}` : ''}`),
      report.ok
        ? `Audit log intact: ${report.events} event(s) in ${report.chains.length} chain(s).`
        : `Audit log BROKEN. First broken event: ${report.firstBroken!.message}` + (report.broken.length > 1 ? `\n${report.broken.slice(1).map((b) => `  also: ${b.message}`).join('\n')}` : ''),
    ])
    return report.ok ? EXIT.ok : EXIT.failure
  },
})

function readHeads(path: string) {
  let parsed: unknown
  try {
    parsed = JSON.parse(readFileSync(path, 'utf8'))
  } catch (e) {
    throw new UsageError(`--heads ${path}: ${e instanceof SyntaxError ? 'not JSON' : 'cannot be read'} (write it with gatehouse audit-heads)`)
  }
  const ok = (h: unknown): h is { chain: string; seq: number; hash: string } =>
    !!h && typeof h === 'object' && typeof (h as { chain: unknown }).chain === 'string' && Number.isSafeInteger((h as { seq: unknown }).seq) && /^[0-9a-f]{64}$/.test(String((h as { hash: unknown }).hash))
  if (!Array.isArray(parsed) || !parsed.every(ok)) throw new UsageError(`--heads ${path}: expected a list of {chain, seq, hash} as gatehouse audit-heads prints`)
  return parsed
}
