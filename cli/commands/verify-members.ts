import { defineCommand, EXIT, UsageError } from '../registry.ts'

export default defineCommand({
  name: 'verify-members',
  summary: 'check the members read model against the computed status, and repair drift',
  usage: '[--dry-run] [--show N]',
  description: [
    'The members page, the overview chart and the impact preview read columns kept beside each',
    'membership by database triggers (decisions 076, 078). This compares every membership\'s stored columns',
    '(name, email, kind, region, factors, extension, exemption) and the status and deadline they give',
    'now under the region\'s policy with the status computed from the source tables, reports the memberships',
    'that differ (how many per organization, the first few with the fields), and repairs them with',
    'the triggers\' own function, audited as platform.members_repaired with actor "cli".',
    'With --dry-run it only reports, and exits 1 when it found drift. Sign-in never reads these columns.',
  ].join('\n'),
  options: {
    'dry-run': { type: 'boolean', description: 'only report; exit 1 when a membership drifted' },
    show: { type: 'string', placeholder: 'N', description: 'how many drifted memberships to list (10)' },
  },
  async run({ values, print }) {
    const show = values.show === undefined ? 10 : Number(values.show)
    if (!Number.isSafeInteger(show) || show < 0 || show > 1000) throw new UsageError('--show takes a whole number from 0 to 1000')
    const dryRun = Boolean(values['dry-run'])
    const { verifyMembers } = await import('#app/policy/members-read-model.server.ts')
    const { systemActor } = await import('#app/audit/record.server.ts')
    const report = await verifyMembers({ dryRun, actor: systemActor('cli'), show })
    const lines = [
      ...report.byOrganization.map((o) => `  ${o.organizationSlug}: ${o.drifted} membership(s) drifted`),
      ...report.first.map((d) => `    membership ${d.membershipId} (${d.organizationSlug}, user ${d.userId}): ${d.fields.join(', ')}`),
      report.drifted === 0
        ? `Members read model intact: ${report.checked} membership(s) checked.`
        : dryRun
          ? `Members read model DRIFTED: ${report.drifted} of ${report.checked} membership(s). Nothing repaired (--dry-run).`
          : `Members read model drifted: ${report.drifted} of ${report.checked} membership(s); repaired ${report.repaired} row(s)${report.after ? `, ${report.after} still differ` : ', now intact'}.`,
    ]
    print({ ok: report.drifted === 0 || (!dryRun && report.after === 0), dryRun, ...report }, lines)
    if (report.drifted === 0) return EXIT.ok
    return dryRun || report.after ? EXIT.failure : EXIT.ok
  },
})
