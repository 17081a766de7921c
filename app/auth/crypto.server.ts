/**
 * The small set of cryptographic primitives everything else uses.
 * - tokens: 256 random bits, base64url
 * - keyed hashes (HMAC-SHA-256) for tokens and short codes, under their own key ring
 *   (GATEHOUSE_HASH_KEYS): the key lives outside the database, so a database dump alone cannot
 *   test guesses; the first key hashes, every key is tried on lookup (decision 062)
 * - AES-256-GCM with a key ring for secrets that must be read back (TOTP), each ciphertext bound
 *   by its associated data to the column and the user it belongs to (decision 062)
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { config } from '#app/config/env.server.ts'

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

const hmac = (key: Buffer, purpose: string, value: string) => createHmac('sha256', key).update(purpose).update('\0').update(value).digest('base64url')

/** Keyed hash of a secret for storage, under the first hash key; `purpose` separates domains (session, reset, code...). */
export function keyedHash(purpose: string, value: string): string {
  return hmac(config.hashKeys[0].key, purpose, value)
}

/**
 * The value's keyed hash under every key of the ring, the current one first: what a lookup by hash
 * matches (`token_hash in (...)`), so hashes stored under an older key still find their row.
 */
export function keyedHashes(purpose: string, value: string): string[] {
  return config.hashKeys.map((k) => hmac(k.key, purpose, value))
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}

export class UnknownKeyError extends Error {}

/** A ciphertext that does not open under its key and binding: copied from another row or column, or altered. */
export class SecretBindingError extends Error {}

/** Where a ciphertext lives: the column and the user whose row it is (the associated data). */
export type SecretBinding = {
  column: 'totp_factors.secret_ciphertext' | 'totp_factors.pending_secret_ciphertext' | 'sso_configs.client_secret_ciphertext'
  /** The row's owner: the member (TOTP), or the organization (an SSO client secret). */
  userId: string
}

/**
 * Stored formats: "v2.iv.tag.ciphertext" is bound to its key id, column and user; the older
 * "iv.tag.ciphertext" only to its key id. Old rows still open; rotate-encryption-key rewrites
 * them in the bound format (decision 062).
 */
const BOUND = 'v2.'
const associatedData = (keyId: string, binding: SecretBinding | null) =>
  Buffer.from(binding ? `gatehouse:v2:${keyId}:${binding.column}:${binding.userId}` : `gatehouse:${keyId}`)

/** Whether a stored ciphertext already carries its row binding (rotation rewrites the ones that do not). */
export const isBoundCiphertext = (ciphertext: string) => ciphertext.startsWith(BOUND)

/** Encrypts with the first key of the ring (or `keyId`), bound to `binding`. Output: "v2.iv.tag.ciphertext" (base64url) and the key id. */
export function encryptSecret(plain: string, binding: SecretBinding, keyId = config.encryptionKeys[0].id): { ciphertext: string; keyId: string } {
  const entry = config.encryptionKeys.find((k) => k.id === keyId)
  if (!entry) throw new UnknownKeyError(`No encryption key "${keyId}" in GATEHOUSE_ENCRYPTION_KEYS`)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', entry.key, iv)
  cipher.setAAD(associatedData(entry.id, binding))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return { ciphertext: BOUND + [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.'), keyId: entry.id }
}

/** Opens a ciphertext stored at `binding`. Throws SecretBindingError when it was not written there (or was altered). */
export function decryptSecret(ciphertext: string, keyId: string, binding: SecretBinding): string {
  const entry = config.encryptionKeys.find((k) => k.id === keyId)
  if (!entry) throw new UnknownKeyError(`Secret was encrypted with key "${keyId}", which is not in GATEHOUSE_ENCRYPTION_KEYS`)
  const bound = isBoundCiphertext(ciphertext)
  const [iv, tag, body] = (bound ? ciphertext.slice(BOUND.length) : ciphertext).split('.').map((p) => Buffer.from(p ?? '', 'base64url'))
  try {
    const decipher = createDecipheriv('aes-256-gcm', entry.key, iv)
    decipher.setAAD(associatedData(entry.id, bound ? binding : null))
    decipher.setAuthTag(tag)
    return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
  } catch {
    // The message names the place, never the ciphertext or anything decrypted.
    throw new SecretBindingError(`${binding.column} of user ${binding.userId} does not open under key "${keyId}": it was written for another row or column, or altered`)
  }
}

/**
 * decryptSecret for request paths: a secret that does not open is logged (where, never what) and
 * treated as absent, so the member gets a refusal rather than a server error.
 */
export function readSecret(ciphertext: string, keyId: string, binding: SecretBinding): string | null {
  try {
    return decryptSecret(ciphertext, keyId, binding)
  } catch (e) {
    if (!(e instanceof SecretBindingError)) throw e
    console.warn(`[crypto] ${e.message}`)
    return null
  }
}

export const currentKeyId = () => config.encryptionKeys[0].id
