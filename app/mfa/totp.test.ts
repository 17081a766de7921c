/** RFC 6238 Appendix B, SHA-1 column, truncated to 6 digits, through the same otplib settings the app uses. */
import { generate, verify } from 'otplib'
import { describe, expect, it } from 'vitest'
import { normaliseTotpCode, TOTP_DIGITS, TOTP_PERIOD, TOTP_TOLERANCE_SECONDS } from '#app/mfa/totp.server.ts'

// The RFC's SHA-1 seed is the ASCII string "12345678901234567890"; otplib takes base32.
const SECRET = 'GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ'
const VECTORS: [number, string][] = [
  [59, '94287082'],
  [1111111109, '07081804'],
  [1111111111, '14050471'],
  [1234567890, '89005924'],
  [2000000000, '69279037'],
  [20000000000, '65353130'],
]

describe('TOTP (RFC 6238)', () => {
  it.each(VECTORS)('at T=%i gives the last 6 digits of %s', async (epoch, eight) => {
    const code = await generate({ secret: SECRET, epoch, algorithm: 'sha1', digits: TOTP_DIGITS, period: TOTP_PERIOD })
    expect(code).toBe(eight.slice(-6))
    const ok = await verify({ secret: SECRET, token: code, epoch, epochTolerance: TOTP_TOLERANCE_SECONDS })
    expect(ok.valid).toBe(true)
  })

  it('accepts one step either side and refuses two', async () => {
    const code = await generate({ secret: SECRET, epoch: 1111111109 })
    for (const shift of [-30, 30]) expect((await verify({ secret: SECRET, token: code, epoch: 1111111109 + shift, epochTolerance: TOTP_TOLERANCE_SECONDS })).valid).toBe(true)
    for (const shift of [-60, 60]) expect((await verify({ secret: SECRET, token: code, epoch: 1111111109 + shift, epochTolerance: TOTP_TOLERANCE_SECONDS })).valid).toBe(false)
  })

  it('reads codes with spaces and refuses anything else before checking', () => {
    expect(normaliseTotpCode('123 456')).toBe('123456')
    for (const bad of ['12345', '1234567', 'abcdef', '12345x', '1'.repeat(200)]) expect(normaliseTotpCode(bad)).toBeNull()
  })
})
