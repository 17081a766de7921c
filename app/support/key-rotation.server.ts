/**
 * Re-encrypts every TOTP secret under the first key of GATEHOUSE_ENCRYPTION_KEYS. Safe to rerun:
 * rows already under that key are skipped, and each update is conditional on the ciphertext it
 * read, so a factor re-enrolled meanwhile is left alone (and counted as changed).
 */
import { and, eq, ne } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { currentKeyId, decryptSecret, encryptSecret } from '#app/auth/crypto.server.ts'

export type RotationReport = { keyId: string; total: number; rotated: number; alreadyCurrent: number; changedMeanwhile: number; failed: { factorId: string; keyId: string; error: string }[] }

export async function rotateEncryptionKey(): Promise<RotationReport> {
  const t = schema.totpFactors
  const keyId = currentKeyId()
  const rows = await db.select({ id: t.id, ciphertext: t.secretCiphertext, keyId: t.keyId }).from(t)
  const report: RotationReport = { keyId, total: rows.length, rotated: 0, alreadyCurrent: 0, changedMeanwhile: 0, failed: [] }
  for (const row of rows) {
    if (row.keyId === keyId) {
      report.alreadyCurrent++
      continue
    }
    let plain: string
    try {
      plain = decryptSecret(row.ciphertext, row.keyId)
    } catch (e) {
      report.failed.push({ factorId: row.id, keyId: row.keyId, error: e instanceof Error ? e.message : String(e) })
      continue
    }
    const next = encryptSecret(plain, keyId)
    const updated = await db
      .update(t)
      .set({ secretCiphertext: next.ciphertext, keyId: next.keyId })
      .where(and(eq(t.id, row.id), eq(t.secretCiphertext, row.ciphertext), ne(t.keyId, keyId)))
      .returning({ id: t.id })
    if (updated.length) report.rotated++
    else report.changedMeanwhile++
  }
  return report
}
