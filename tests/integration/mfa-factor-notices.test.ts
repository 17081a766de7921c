/**
 * Removing one factor while others remain, and regenerating recovery codes, over real HTTP with
 * the real workers: the notices reach the SMTP listener, removing a key is audited as
 * auth.webauthn_removed, and a regenerated set replaces the old one at sign-in.
 */
import { and, eq, isNull } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { randomToken } from '#app/auth/crypto.server.ts'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, outboundOf, totpCode } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

/** A member with an app; signed in with it just now (a fresh second factor: step-up passes). */
async function memberSignedInWithApp() {
  const user = await createUser()
  const { secret, recoveryCodes } = await enableTotp(user.id)
  const client = new TestClient(base)
  expect((await signIn(client, user.email)).headers.get('location')).toBe('/login/verify')
  const res = await client.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })
  expect(res.status).toBe(302)
  expect(client.cookies.has('gh_session')).toBe(true)
  return { user, client, secret, recoveryCodes }
}

/** A security key row for the member (its public key is never read on removal). */
async function addKeyRow(userId: string, label: string) {
  const [key] = await db
    .insert(schema.webauthnCredentials)
    .values({ userId, credentialId: randomToken(16), publicKey: randomToken(32), label, deviceType: 'singleDevice' })
    .returning()
  return key
}

describe('removing one factor while others remain', () => {
  it('a key: gone, audited as auth.webauthn_removed, and the factor_removed notice arrives by SMTP', async () => {
    const { user, client } = await memberSignedInWithApp()
    const key = await addKeyRow(user.id, 'YubiKey 5C')
    const other = await addKeyRow(user.id, 'Backup key')
    const since = Date.now()

    const res = await client.post('/settings/security/keys', { intent: 'remove', keyId: key.id })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('Security key removed.')
    const left = await db.select({ id: schema.webauthnCredentials.id }).from(schema.webauthnCredentials).where(eq(schema.webauthnCredentials.userId, user.id))
    expect(left).toEqual([{ id: other.id }])

    const removedEvents = (await auditOf(user.id)).filter((e) => e.action === 'auth.webauthn_removed')
    expect(removedEvents).toEqual([{ action: 'auth.webauthn_removed', details: { keyId: key.id, label: 'YubiKey 5C' } }])

    const mail = await smtp.waitFor(user.email, { subject: /A sign-in method was removed/, since })
    expect(mail.text).toContain('the security key "YubiKey 5C" was removed from your account')
    expect(mail.text).toContain('Your other methods still work')
    // One factor of several: not the "2FA turned off" notice.
    expect((await outboundOf(user.id)).map((m) => m.template)).not.toContain('mfa_disabled')
  })

  it('the app, while a key remains: factor_removed (not mfa_disabled), 2FA stays on', async () => {
    const { user, client } = await memberSignedInWithApp()
    await addKeyRow(user.id, 'Only key')
    const since = Date.now()
    const res = await client.post('/settings/security/totp', { intent: 'remove' })
    expect(res.status).toBe(302)
    expect(await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, user.id))).toHaveLength(0)
    const [fresh] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(fresh.mfaEnabledAt).not.toBeNull()
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.totp_disabled')

    const mail = await smtp.waitFor(user.email, { subject: /A sign-in method was removed/, since })
    expect(mail.text).toContain('your authenticator app was removed from your account')
    const templates = (await outboundOf(user.id)).map((m) => m.template)
    expect(templates).toContain('factor_removed')
    expect(templates).not.toContain('mfa_disabled')
  })
})

describe('regenerating recovery codes', () => {
  it('emails the recovery_codes_regenerated notice; an old code no longer signs in, a new one does', async () => {
    const { user, client, secret, recoveryCodes: oldCodes } = await memberSignedInWithApp()
    expect(oldCodes).toHaveLength(10)
    const since = Date.now()
    const res = await client.post('/settings/security/recovery-codes', { intent: 'regenerate' })
    expect(res.status).toBe(200)
    const newCodes = [...(await res.text()).matchAll(/<code class="secret">([^<]+)<\/code>/g)].map((m) => m[1])
    expect(newCodes).toHaveLength(10)
    expect(newCodes.filter((c) => oldCodes.includes(c))).toEqual([])

    const mail = await smtp.waitFor(user.email, { subject: /New recovery codes were generated/, since })
    expect(mail.text).toContain('the earlier codes no longer work')
    expect((await auditOf(user.id))).toContainEqual({ action: 'auth.recovery_codes_generated', details: expect.objectContaining({ reason: 'regenerated', count: 10 }) })
    const unused = await db.select().from(schema.recoveryCodes).where(and(eq(schema.recoveryCodes.userId, user.id), isNull(schema.recoveryCodes.usedAt)))
    expect(unused).toHaveLength(10)

    // An old code, never used, is refused at sign-in.
    const old = new TestClient(base)
    expect((await signIn(old, user.email)).headers.get('location')).toBe('/login/verify')
    const refused = await old.post('/login/verify', { intent: 'recovery_code', code: oldCodes[3] })
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain('not right or was already used')
    expect(old.cookies.has('gh_session')).toBe(false)

    // A new one signs in (on the same pending sign-in), once.
    const ok = await old.post('/login/verify', { intent: 'recovery_code', code: newCodes[3] })
    expect(ok.status).toBe(302)
    expect(old.cookies.has('gh_session')).toBe(true)
    expect((await auditOf(user.id)).map((e) => e.action)).toContain('auth.login_success_backup_code')

    // The app is untouched by the new set.
    await forgetTotpStep(user.id)
    const app = new TestClient(base)
    await signIn(app, user.email)
    expect((await app.post('/login/verify', { intent: 'totp', code: await totpCode(secret) })).status).toBe(302)
  })
})
