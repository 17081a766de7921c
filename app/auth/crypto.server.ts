/**
 * The small set of cryptographic primitives everything else uses.
 * - tokens: 256 random bits, base64url
 * - keyed hashes (HMAC-SHA-256) for tokens and short codes: the key lives outside the database,
 *   so a database dump alone cannot test guesses
 * - AES-256-GCM with a key ring for secrets that must be read back (TOTP)
 */
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto'
import { config } from '#app/config/env.server.ts'

export function randomToken(bytes = 32): string {
  return randomBytes(bytes).toString('base64url')
}

const hmacKey = Buffer.from(hkdfSync('sha256', config.sessionSecret, 'gatehouse', 'keyed-hash v1', 32))

/** Keyed hash of a secret for storage and lookup; `purpose` separates domains (session, reset, code...). */
export function keyedHash(purpose: string, value: string): string {
  return createHmac('sha256', hmacKey).update(purpose).update('\0').update(value).digest('base64url')
}

export function safeEqual(a: string, b: string): boolean {
  const ab = Buffer.from(a)
  const bb = Buffer.from(b)
  return ab.length === bb.length && timingSafeEqual(ab, bb)
}

export class UnknownKeyError extends Error {}

/** Encrypts with the first key of the ring. Output: "iv.tag.ciphertext" (base64url) and the key id. */
export function encryptSecret(plain: string, keyId = config.encryptionKeys[0].id): { ciphertext: string; keyId: string } {
  const entry = config.encryptionKeys.find((k) => k.id === keyId)
  if (!entry) throw new UnknownKeyError(`No encryption key "${keyId}" in GATEHOUSE_ENCRYPTION_KEYS`)
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', entry.key, iv)
  cipher.setAAD(Buffer.from(`gatehouse:${entry.id}`))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return { ciphertext: [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.'), keyId: entry.id }
}

export function decryptSecret(ciphertext: string, keyId: string): string {
  const entry = config.encryptionKeys.find((k) => k.id === keyId)
  if (!entry) throw new UnknownKeyError(`Secret was encrypted with key "${keyId}", which is not in GATEHOUSE_ENCRYPTION_KEYS`)
  const [iv, tag, body] = ciphertext.split('.').map((p) => Buffer.from(p, 'base64url'))
  const decipher = createDecipheriv('aes-256-gcm', entry.key, iv)
  decipher.setAAD(Buffer.from(`gatehouse:${entry.id}`))
  decipher.setAuthTag(tag)
  return Buffer.concat([decipher.update(body), decipher.final()]).toString('utf8')
}

export const currentKeyId = () => config.encryptionKeys[0].id
