import { describe, expect, it } from 'vitest'
import { effectivePolicy, type MembershipPolicy } from '#app/policy/effective-policy.ts'
import { blockedMessage, gracePromptFrom } from '#app/policy/grace-prompt.server.ts'

const NOW = new Date('2026-11-20T12:00:00Z')
const org = (over: Partial<MembershipPolicy>): MembershipPolicy => ({
  organizationId: 'a', organizationName: 'Acme', joinedAt: new Date('2025-01-01T00:00:00Z'), mode: 'required', allowedMethods: ['totp', 'webauthn'],
  gracePeriodDays: 7, onDeadline: 'force_enrollment', rememberDeviceDays: 14, requiredSince: new Date('2026-11-18T12:00:00Z'), contacts: ['owner@acme.test'], ...over,
})
const decide = (over: Partial<MembershipPolicy>) => effectivePolicy({ user: { kind: 'human', platformRole: 'none' }, memberships: [org(over)], exemptions: [], extensions: [], enrolled: [], now: NOW })

describe('grace prompt and blocked message', () => {
  it('names the deadline, the organization and the days left', () => {
    expect(gracePromptFrom(decide({}), NOW)).toEqual({ deadline: '2026-11-25T12:00:00.000Z', organizations: ['Acme'], allowedMethods: ['totp', 'webauthn'], daysLeft: 5 })
    expect(blockedMessage(decide({}))).toBeNull()
  })
  it('says whom to contact when blocked', () => {
    const d = decide({ requiredSince: new Date('2026-10-01T00:00:00Z'), onDeadline: 'block' })
    expect(gracePromptFrom(d, NOW)).toBeNull()
    expect(blockedMessage(d)).toContain('Contact owner@acme.test')
    expect(blockedMessage(d)).toContain('Acme requires two-factor authentication')
  })
})
