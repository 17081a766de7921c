import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { AUDIT_ACTIONS } from './actions.schema.ts'
import { describeAuditEvent, describedActions } from './sentences.ts'

/** Every action name written as a literal in the code that records events (app, cli, server, workers). */
function actionsWrittenByTheCode(): string[] {
  const found = new Set<string>()
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name)
      if (statSync(path).isDirectory()) walk(path)
      else if (/\.tsx?$/.test(name) && !/\.test\.tsx?$/.test(name) && !path.endsWith('actions.schema.ts') && !path.endsWith('sentences.ts')) {
        const text = readFileSync(path, 'utf8')
        // `action: 'x.y'`, `? 'x.y' : 'x.z'` and the like, in files that record audit events.
        if (!/recordAudit|recordMany|auditInsert/.test(text)) continue
        // Refusals name what was tried as `attempt: 'org.invite'`: a detail, not an action.
        for (const m of text.matchAll(/(attempt: )?'((?:auth|org|support|policy|platform|security)\.[a-z_0-9]+)'/g)) if (!m[1]) found.add(m[2])
      }
    }
  }
  for (const dir of ['app', 'cli', 'server', 'workers']) walk(dir)
  return [...found].sort()
}

describe('audit sentences', () => {
  it('has a sentence for every action in the list, and no sentence for an action not in it', () => {
    expect([...describedActions()].sort()).toEqual([...AUDIT_ACTIONS].sort())
  })

  it('has a sentence for every action the code writes', () => {
    const written = actionsWrittenByTheCode()
    expect(written.length).toBeGreaterThan(30)
    const unknown = written.filter((a) => !(AUDIT_ACTIONS as readonly string[]).includes(a))
    expect(unknown).toEqual([])
    for (const action of written.filter((a) => (AUDIT_ACTIONS as readonly string[]).includes(a))) {
      expect(describeAuditEvent({ action, actor: 'owner@acme.test', subject: 'ana@acme.test', details: {} }), action).not.toBe(action)
    }
  })

  it('reads every action without details and without a member', () => {
    for (const action of AUDIT_ACTIONS) {
      const sentence = describeAuditEvent({ action, actor: 'worker', details: null })
      expect(sentence, action).toMatch(/\.$/)
      expect(sentence, action).not.toMatch(/undefined|null|\[object/)
    }
  })

  it('writes the details into the sentence', () => {
    expect(describeAuditEvent({ action: 'org.policy_changed', actor: 'owner@acme.test', details: { region: 'eu', old: { mode: 'optional', allowedMethods: ['email', 'totp'], gracePeriodDays: 7 }, new: { mode: 'required', allowedMethods: ['totp'], gracePeriodDays: 30 } } }))
      .toBe('owner@acme.test changed the MFA policy in EU: mode Optional → Required, methods Email code, Authenticator app → Authenticator app, grace period 7 days → 30 days.')
    expect(describeAuditEvent({ action: 'auth.webauthn_renamed', actor: 'ana@acme.test', subject: 'ana@acme.test', details: { old: 'YubiKey', new: 'Blue key' } }))
      .toBe('ana@acme.test renamed the security key “YubiKey” to “Blue key”.')
    expect(describeAuditEvent({ action: 'auth.login_failed', actor: 'ana@acme.test', details: { region: 'us', reason: 'wrong_password' } }))
      .toBe('A sign-in as ana@acme.test failed in US (wrong password).')
    expect(describeAuditEvent({ action: 'org.audit_retention_changed', actor: 'owner@acme.test', details: { old: 2557, new: 30 } }))
      .toBe('owner@acme.test set audit retention to 30 days (was 7 years (2,557 days)).')
    expect(describeAuditEvent({ action: 'org.exemption_added', actor: 'owner@acme.test', subject: 'ci@acme.test', details: { region: 'us', reason: 'CI runner', expiresAt: '2027-01-31T00:00:00.000Z' } }))
      .toBe('owner@acme.test exempted ci@acme.test in US until 31 Jan 2027 (CI runner).')
  })

  it('leaves an action it does not know as its name', () => {
    expect(describeAuditEvent({ action: 'auth.something_new', actor: 'x' })).toBe('auth.something_new')
  })
})
