import { describe, expect, it } from 'vitest'
import { resumePath } from './resume.server.ts'

const carried = (path: string) => JSON.parse(new URL(path, 'http://x').searchParams.get('resume')!)

describe('resumePath (decision 072)', () => {
  it('carries the intent and plain values, and keeps the query the page already had', () => {
    const path = resumePath('/settings/security/totp?replace=1', 'remove', { keyId: 'k1', scopes: ['a', 'b'], until: new Date('2026-12-01T00:00:00Z'), none: null })
    expect(path.startsWith('/settings/security/totp?replace=1&resume=')).toBe(true)
    expect(carried(path)).toEqual({ intent: 'remove', values: { keyId: 'k1', scopes: ['a', 'b'], until: '2026-12-01T00:00:00.000Z' } })
  })

  it('never carries a field named like a secret, whatever the caller passes', () => {
    const path = resumePath('/settings/security', 'turn_off', { password: 'hunter2', currentPassword: 'x', code: '123456', recoveryCode: 'abcd', token: 't', secret: 's', response: '{}', challengeId: 'c', reason: 'kept' })
    expect(carried(path)).toEqual({ intent: 'turn_off', values: { reason: 'kept' } })
    expect(path).not.toContain('hunter2')
  })
})
