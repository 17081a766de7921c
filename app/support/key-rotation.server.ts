/**
 * Re-encrypts every TOTP secret, and every organization's SSO client secret, under the first key of GATEHOUSE_ENCRYPTION_KEYS, bound to its
 * column and member (decision 062): each app's secret, and the new secret of a replacement still
 * waiting for its first code (an expired one too: it is a secret at rest until it is overwritten).
 * Secrets written before that binding existed are rewritten even when already under the first key.
 * Safe to rerun: bound secrets under that key are skipped, and each update is conditional on the
 * ciphertext it read, so a factor re-enrolled or a replacement confirmed meanwhile is left alone
 * (and counted as changed).
 */
import { and, eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { currentKeyId, decryptSecret, encryptSecret, isBoundCiphertext, type SecretBinding } from '#app/auth/crypto.server.ts'
import { secretBinding } from '#app/sso/config.server.ts'

export type RotationReport = {
  keyId: string
  /** Secrets seen: one per app, plus one per pending replacement (counted again in `pending`). */
  total: number
  pending: number
  rotated: number
  alreadyCurrent: number
  changedMeanwhile: number
  failed: { factorId: string; keyId: string; error: string; pending?: true }[]
  /** Organizations' SSO client secrets (decision 080), counted apart from the TOTP secrets. */
  sso: { total: number; rotated: number; alreadyCurrent: number; changedMeanwhile: number; failed: { organizationId: string; keyId: string; error: string }[] }
}

export async function rotateEncryptionKey(): Promise<RotationReport> {
  const t = schema.totpFactors
  const keyId = currentKeyId()
  const rows = await db
    .select({ id: t.id, userId: t.userId, ciphertext: t.secretCiphertext, keyId: t.keyId, pendingCiphertext: t.pendingSecretCiphertext, pendingKeyId: t.pendingKeyId })
    .from(t)
  const secrets = [
    ...rows.map((r) => ({ factorId: r.id, userId: r.userId, ciphertext: r.ciphertext, keyId: r.keyId, pending: false })),
    ...rows.flatMap((r) => (r.pendingCiphertext && r.pendingKeyId ? [{ factorId: r.id, userId: r.userId, ciphertext: r.pendingCiphertext, keyId: r.pendingKeyId, pending: true }] : [])),
  ]
  const report: RotationReport = {
    keyId, total: secrets.length, pending: secrets.filter((s) => s.pending).length, rotated: 0, alreadyCurrent: 0, changedMeanwhile: 0, failed: [],
    sso: { total: 0, rotated: 0, alreadyCurrent: 0, changedMeanwhile: 0, failed: [] },
  }
  for (const secret of secrets) {
    if (secret.keyId === keyId && isBoundCiphertext(secret.ciphertext)) {
      report.alreadyCurrent++
      continue
    }
    const binding: SecretBinding = { column: secret.pending ? 'totp_factors.pending_secret_ciphertext' : 'totp_factors.secret_ciphertext', userId: secret.userId }
    let plain: string
    try {
      plain = decryptSecret(secret.ciphertext, secret.keyId, binding)
    } catch (e) {
      report.failed.push({ factorId: secret.factorId, keyId: secret.keyId, error: e instanceof Error ? e.message : String(e), ...(secret.pending ? { pending: true as const } : {}) })
      continue
    }
    const next = encryptSecret(plain, binding, keyId)
    const updated = secret.pending
      ? await db
          .update(t)
          .set({ pendingSecretCiphertext: next.ciphertext, pendingKeyId: next.keyId })
          .where(and(eq(t.id, secret.factorId), eq(t.pendingSecretCiphertext, secret.ciphertext)))
          .returning({ id: t.id })
      : await db
          .update(t)
          .set({ secretCiphertext: next.ciphertext, keyId: next.keyId })
          .where(and(eq(t.id, secret.factorId), eq(t.secretCiphertext, secret.ciphertext)))
          .returning({ id: t.id })
    if (updated.length) report.rotated++
    else report.changedMeanwhile++
  }
  await rotateSsoSecrets(keyId, report.sso)
  return report
}

/** The same for each organization's SSO client secret, bound to its column and organization (decision 075). */
async function rotateSsoSecrets(keyId: string, report: RotationReport['sso']) {
  const c = schema.ssoConfigs
  const rows = await db.select({ orgId: c.organizationId, ciphertext: c.clientSecretCiphertext, keyId: c.keyId }).from(c)
  report.total = rows.length
  for (const row of rows) {
    if (row.keyId === keyId && isBoundCiphertext(row.ciphertext)) {
      report.alreadyCurrent++
      continue
    }
    const binding = secretBinding(row.orgId)
    let plain: string
    try {
      plain = decryptSecret(row.ciphertext, row.keyId, binding)
    } catch (e) {
      report.failed.push({ organizationId: row.orgId, keyId: row.keyId, error: e instanceof Error ? e.message : String(e) })
      continue
    }
    const next = encryptSecret(plain, binding, keyId)
    // Conditional on the ciphertext read: a secret an owner replaced meanwhile is left alone (and counted).
    const updated = await db
      .update(c)
      .set({ clientSecretCiphertext: next.ciphertext, keyId: next.keyId })
      .where(and(eq(c.organizationId, row.orgId), eq(c.clientSecretCiphertext, row.ciphertext)))
      .returning({ id: c.organizationId })
    if (updated.length) report.rotated++
    else report.changedMeanwhile++
  }
}
