import { defineCommand, EXIT } from '../registry.ts'

export default defineCommand({
  name: 'verify-audit',
  summary: 'check the audit hash chains and name the first broken event',
  description: [
    'Recomputes every event\'s hash with the database function audit_event_hash, checks each link to',
    'the previous event and that no sequence number is missing, per chain (one per organization and',
    'one for platform events), starting from the retention anchor. Exits 1 when a chain is broken.',
  ].join('\n'),
  options: {},
  async run({ print }) {
    const { verifyAuditChains } = await import('#app/audit/verify.server.ts')
    const report = await verifyAuditChains()
    print(report, [
      ...report.chains.map((c) => `  ${c.ok ? 'ok    ' : 'BROKEN'} ${c.chain}: ${c.events} event(s)${c.anchoredAt ? ` after anchor ${c.anchoredAt}` : ''}`),
      report.ok
        ? `Audit log intact: ${report.events} event(s) in ${report.chains.length} chain(s).`
        : `Audit log BROKEN. First broken event: ${report.firstBroken!.message}` + (report.broken.length > 1 ? `\n${report.broken.slice(1).map((b) => `  also: ${b.message}`).join('\n')}` : ''),
    ])
    return report.ok ? EXIT.ok : EXIT.failure
  },
})
