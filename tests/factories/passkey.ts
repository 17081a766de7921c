/**
 * A software passkey for tests over HTTP (no browser): a P-256 key pair whose public half is stored
 * as a credential of the member (COSE, as a registration stores it), and assertions signed the way an
 * authenticator signs them (authenticator data: rpID hash, flags, counter; then the client data hash).
 */
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { isoCBOR } from '@simplewebauthn/server/helpers'
import { db, schema } from '#db/client.ts'

const b64url = (b: Buffer | Uint8Array) => Buffer.from(b).toString('base64url')
const sha256 = (b: Buffer | string) => createHash('sha256').update(b).digest()

export async function createSoftwarePasskey(user: { id: string }, options: { kind?: 'passkey' | 'security_key'; label?: string } = {}) {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  const cose = new Map<number, number | Uint8Array>([[1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x!, 'base64url')], [-3, Buffer.from(jwk.y!, 'base64url')]])
  const credentialId = b64url(randomBytes(16))
  const [row] = await db
    .insert(schema.webauthnCredentials)
    .values({ userId: user.id, credentialId, publicKey: b64url(isoCBOR.encode(cose)), counter: 0, label: options.label ?? 'Software passkey', kind: options.kind ?? 'passkey', deviceType: 'multiDevice' })
    .returning()
  let counter = 0
  return {
    row,
    credentialId,
    /** The answer to `challenge` for `rpId` from `origin`; user verified unless told otherwise. */
    assert(challenge: string, input: { rpId?: string; origin: string; userVerified?: boolean; counter?: number }) {
      counter = input.counter ?? counter + 1
      const clientDataJSON = Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: input.origin, crossOrigin: false }))
      const flags = 0x01 | (input.userVerified === false ? 0 : 0x04)
      const count = Buffer.alloc(4)
      count.writeUInt32BE(counter)
      const authenticatorData = Buffer.concat([sha256(input.rpId ?? 'localhost'), Buffer.from([flags]), count])
      const signature = sign('sha256', Buffer.concat([authenticatorData, sha256(clientDataJSON)]), privateKey)
      return {
        id: credentialId,
        rawId: credentialId,
        type: 'public-key' as const,
        response: { clientDataJSON: b64url(clientDataJSON), authenticatorData: b64url(authenticatorData), signature: b64url(signature), userHandle: b64url(Buffer.from(user.id)) },
        clientExtensionResults: {},
      }
    },
  }
}
