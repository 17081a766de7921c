/** WebAuthn's rpID and origin come from the member's region, as configured (pure: a parsed config). */
import { describe, expect, it } from 'vitest'
import { parseConfig } from '#app/config/env.server.ts'
import { relyingParty } from '#app/mfa/webauthn.server.ts'

const secrets = { NODE_ENV: 'test', SESSION_SECRET: 'x'.repeat(40), GATEHOUSE_ENCRYPTION_KEYS: `k1:${Buffer.alloc(32, 1).toString('base64')}` }

describe('relyingParty', () => {
  const { regions } = parseConfig({ ...secrets, APP_ORIGIN: 'https://gatehouse.example', GATEHOUSE_REGIONS: 'us,eu=https://eu.gatehouse.example:8443,jp' })

  it('a region with its own origin gets that origin and its host name as rpID', () => {
    expect(relyingParty('eu', regions)).toEqual({ rpID: 'eu.gatehouse.example', origin: 'https://eu.gatehouse.example:8443', rpName: 'Gatehouse (EU)' })
  })

  it('regions without one share the app origin', () => {
    expect(relyingParty('us', regions)).toEqual({ rpID: 'gatehouse.example', origin: 'https://gatehouse.example', rpName: 'Gatehouse (US)' })
    expect(relyingParty('jp', regions)).toEqual({ rpID: 'gatehouse.example', origin: 'https://gatehouse.example', rpName: 'Gatehouse (JP)' })
  })

  it('an unknown region falls back to the first configured one, never to another member\'s region', () => {
    expect(relyingParty('kr', regions).rpID).toBe('gatehouse.example')
    expect(relyingParty('kr', regions).origin).toBe('https://gatehouse.example')
  })
})
