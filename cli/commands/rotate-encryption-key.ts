import { defineCommand, EXIT } from '../registry.ts'

export default defineCommand({
  name: 'rotate-encryption-key',
  summary: 're-encrypt every TOTP secret and SSO client secret under the first key of GATEHOUSE_ENCRYPTION_KEYS, bound to its row',
  description: [
    'To rotate: put a new key first in GATEHOUSE_ENCRYPTION_KEYS (keep the old ones after it),',
    'restart the app, run this command, and remove an old key only once it reports no secret left',
    'under it. Safe to rerun: secrets already under the first key are skipped. Secrets written before',
    'ciphertexts were bound to their column and member (decision 062) are rewritten with that binding,',
    'under the same key too. Exits 1 when a secret could not be decrypted (its key is missing from the',
    'ring, or it was copied from another row). The new secret of an app replacement',
    'still in progress is a TOTP secret too, and is re-encrypted with the others. Each organization’s',
    'single sign-on client secret is re-encrypted the same way (bound to its organization).',
  ].join('\n'),
  options: {},
  async run({ print }) {
    const { rotateEncryptionKey } = await import('#app/support/key-rotation.server.ts')
    const report = await rotateEncryptionKey()
    const failed = report.failed.length + report.sso.failed.length
    print({ ok: failed === 0, ...report }, [
      `Key ${report.keyId}: ${report.total} TOTP secret(s)${report.pending ? ` (${report.pending} of an app replacement in progress)` : ''}; ${report.rotated} re-encrypted, ${report.alreadyCurrent} already under it` +
        (report.changedMeanwhile ? `, ${report.changedMeanwhile} changed while running (rerun)` : '') +
        (report.failed.length ? `, ${report.failed.length} FAILED` : '') + '.',
      ...report.failed.map((f) => `  factor ${f.factorId}${f.pending ? ' (pending replacement)' : ''}: ${f.error}`),
      `Key ${report.keyId}: ${report.sso.total} SSO client secret(s); ${report.sso.rotated} re-encrypted, ${report.sso.alreadyCurrent} already under it` +
        (report.sso.changedMeanwhile ? `, ${report.sso.changedMeanwhile} changed while running (rerun)` : '') +
        (report.sso.failed.length ? `, ${report.sso.failed.length} FAILED` : '') + '.',
      ...report.sso.failed.map((f) => `  organization ${f.organizationId}: ${f.error}`),
    ])
    return failed ? EXIT.failure : EXIT.ok
  },
})
