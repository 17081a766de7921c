/**
 * "Replace authenticator app" (moving the app to a new phone), over real HTTP, PostgreSQL, Redis,
 * the mail worker and SMTP. The case that needs it: a Required policy that allows only an app,
 * where removing the app is refused. Step-up comes first; the old app signs in until a code from
 * the new app is accepted; then only the new one does. Recovery codes stay. Policy and bad input
 * are refused without a write. Key rotation covers a replacement in progress.
 */
import { randomBytes } from 'node:crypto'
import { and, eq, isNull } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { NO_REQUEST } from '#app/audit/record.server.ts'
import { decryptSecret } from '#app/auth/crypto.server.ts'
import { config } from '#app/config/env.server.ts'
import { replaceTotp } from '#app/mfa/totp-replacement.server.ts'
import { beginTotpReplacement } from '#app/mfa/totp.server.ts'
import { rotateEncryptionKey } from '#app/support/key-rotation.server.ts'
import { db, schema } from '#db/client.ts'
import { auditOf, enableTotp, forgetTotpStep, outboundOf, totpCode, userById } from '#tests/factories/mfa.ts'
import { signInAs } from '#tests/factories/security.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

const DAY = 86_400_000
const PAGE = '/settings/security/totp'
const REPLACE = '/settings/security/totp?replace=1'
let base: string
let smtp: TestSmtp
beforeAll(async () => {
  ;({ url: base, smtp } = await startTestApp())
})

async function setPolicy(orgId: string, values: Partial<typeof schema.regionPolicies.$inferInsert>) {
  await db.update(schema.regionPolicies).set(values).where(and(eq(schema.regionPolicies.organizationId, orgId), eq(schema.regionPolicies.region, 'us')))
}

/** A member of an organization that requires two-step verification with an authenticator app only. */
async function appOnlyMember() {
  const org = await createOrg({ name: 'Pied Piper' })
  await setPolicy(org.id, { mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(Date.now() - DAY) })
  const member = await createUser({ org })
  const { secret, recoveryCodes } = await enableTotp(member.id)
  return { org, member, secret, recoveryCodes }
}

/** Signed in, with a fresh second factor (step-up satisfied). */
async function steppedUp(userId: string) {
  const client = new TestClient(base)
  await signInAs(client, userId, { level: 'mfa', secondFactorMethod: 'totp' })
  return client
}

async function factorRow(userId: string) {
  const [row] = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, userId))
  return row
}

const secretOf = (html: string) => html.match(/data-testid="totp-secret">([A-Z2-7 ]+)</)?.[1].replaceAll(' ', '')
const text = async (res: Response) => (await res.text()).replaceAll('&#x27;', "'").replaceAll('&quot;', '"')

/** A fresh sign-in with an app code: the response of the second step. */
async function signInWithCode(email: string, code: string) {
  const client = new TestClient(base)
  const first = await signIn(client, email)
  expect(first.headers.get('location')).toBe('/login/verify')
  return client.post('/login/verify', { intent: 'totp', code })
}

describe('replacing the authenticator app under a Required, app-only policy', () => {
  it('asks for step-up, shows a new secret, keeps the old app until a code from the new one, then swaps; recovery codes stay', async () => {
    const { member, secret: oldSecret } = await appOnlyMember()
    const recoveryBefore = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, member.id))
    expect(recoveryBefore).toHaveLength(10)
    const oldRow = await factorRow(member.id)

    // Signed in, but the second factor is not fresh: removing is refused, replacing is offered.
    const client = new TestClient(base)
    const { session } = await signInAs(client, member.id, { level: 'mfa', secondFactorMethod: 'totp' })
    await db.update(schema.sessions).set({ secondFactorAt: new Date(Date.now() - 30 * 60_000) }).where(eq(schema.sessions.id, session.id))
    const page = await client.text(PAGE)
    expect(page.status).toBe(200)
    expect(page.html).toContain('Replace authenticator app</button>')
    expect(page.html).toContain('Remove authenticator app…</a>')
    const removal = await client.post(PAGE, { intent: 'remove' })
    expect(removal.status).toBe(409)
    expect(await text(removal)).toContain('To move your authenticator app to a new phone, use "Replace authenticator app" instead.')

    // Step-up is demanded first, for the page and for the confirm; nothing is started.
    const gated = await client.get(REPLACE)
    expect(gated.status).toBe(302)
    const stepUp = gated.headers.get('location')!
    expect(stepUp).toBe(`/settings/security/confirm?redirectTo=${encodeURIComponent(REPLACE)}`)
    const gatedConfirm = await client.post(REPLACE, { intent: 'replace_confirm', code: '123456' })
    expect(gatedConfirm.status).toBe(302)
    expect(gatedConfirm.headers.get('location')).toBe(stepUp)
    expect((await factorRow(member.id)).pendingSecretCiphertext).toBeNull()

    // Step-up with the current app brings the member back to the replacement.
    const stepped = await client.post(stepUp, { intent: 'totp', code: await totpCode(oldSecret) })
    expect(stepped.status).toBe(302)
    expect(stepped.headers.get('location')).toBe(REPLACE)
    const replacePage = await client.text(REPLACE)
    expect(replacePage.status).toBe(200)
    expect(replacePage.html).toContain('Replace your authenticator app')
    expect(replacePage.html).toContain('data:image/png;base64')
    expect(replacePage.html).toContain("Can&#x27;t scan?")
    expect(replacePage.html).toContain('Verify &amp; replace')
    const newSecret = secretOf(replacePage.html)!
    expect(newSecret).toBeTruthy()
    expect(newSecret).not.toBe(oldSecret)
    // The same replacement is shown again on reload (the member may already have scanned it).
    expect(secretOf((await client.text(REPLACE)).html)).toBe(newSecret)

    // Stored encrypted, beside the unchanged current secret, expiring in about 10 minutes.
    const pending = await factorRow(member.id)
    expect(JSON.stringify(pending)).not.toContain(newSecret)
    expect(pending.pendingKeyId).toBe('t1')
    expect(decryptSecret(pending.pendingSecretCiphertext!, pending.pendingKeyId!, { column: 'totp_factors.pending_secret_ciphertext', userId: pending.userId })).toBe(newSecret)
    expect(pending.secretCiphertext).toBe(oldRow.secretCiphertext)
    const ttl = pending.pendingExpiresAt!.getTime() - Date.now()
    expect(ttl).toBeGreaterThan(9 * 60_000)
    expect(ttl).toBeLessThanOrEqual(10 * 60_000 + 5_000)

    // Bad input: 400 with a clear message, nothing written.
    const malformed = await client.post(REPLACE, { intent: 'replace_confirm', code: 'abc' })
    expect(malformed.status).toBe(400)
    expect(await text(malformed)).toContain('Enter the 6-digit code from your new authenticator app.')
    const tooLong = await client.post(REPLACE, { intent: 'replace_confirm', code: '1'.repeat(500) })
    expect(tooLong.status).toBe(400)
    expect(await text(tooLong)).toContain('That code is too long')
    // A code from the OLD app is the likely mistake.
    const wrong = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(oldSecret, 1) })
    expect(wrong.status).toBe(400)
    const wrongHtml = await text(wrong)
    expect(wrongHtml).toContain('That code is not right. Enter the newest code from the NEW app')
    expect(wrongHtml).not.toContain(`value="${await totpCode(oldSecret, 1)}"`)
    const afterWrong = await factorRow(member.id)
    expect(afterWrong.secretCiphertext).toBe(oldRow.secretCiphertext)
    expect(afterWrong.pendingSecretCiphertext).toBe(pending.pendingSecretCiphertext)
    expect((await auditOf(member.id)).map((e) => e.action)).not.toContain('auth.totp_replaced')

    // Until the confirm, the old app still signs in.
    await forgetTotpStep(member.id)
    const oldStillWorks = await signInWithCode(member.email, await totpCode(oldSecret))
    expect(oldStillWorks.status).toBe(302)
    expect(oldStillWorks.headers.get('location')).toBe('/')

    // A current code from the new app replaces it.
    const since = Date.now()
    const confirmCode = await totpCode(newSecret)
    const ok = await client.post(REPLACE, { intent: 'replace_confirm', code: confirmCode })
    expect(ok.status).toBe(302)
    expect(ok.headers.get('location')).toBe(`${PAGE}?replaced=1`)
    const done = await client.text(`${PAGE}?replaced=1`)
    expect(done.html).toContain('Your authenticator app was replaced.')
    expect(done.html).not.toContain('data-testid="totp-secret"')

    const swapped = await factorRow(member.id)
    expect(swapped.id).toBe(oldRow.id)
    expect(swapped.pendingSecretCiphertext).toBeNull()
    expect(swapped.pendingKeyId).toBeNull()
    expect(swapped.pendingExpiresAt).toBeNull()
    // Encrypted again for the current column, not copied: each ciphertext opens only where it was written (decision 062).
    expect(swapped.secretCiphertext).not.toBe(pending.pendingSecretCiphertext)
    expect(decryptSecret(swapped.secretCiphertext, swapped.keyId, { column: 'totp_factors.secret_ciphertext', userId: swapped.userId })).toBe(newSecret)
    expect(JSON.stringify(swapped)).not.toContain(newSecret)
    expect(swapped.lastUsedStep).toBeGreaterThanOrEqual(Math.floor(since / 30_000))

    // The old app's codes no longer sign in; the new app's do; the confirm code cannot be replayed.
    const oldRefused = await signInWithCode(member.email, await totpCode(oldSecret, 1))
    expect(oldRefused.status).toBe(400)
    expect(await text(oldRefused)).toContain('That code is not right')
    const replay = await signInWithCode(member.email, confirmCode)
    expect(replay.status).toBe(400)
    expect(await text(replay)).toContain('That code was already used')
    const newWorks = await signInWithCode(member.email, await totpCode(newSecret, 1))
    expect(newWorks.status).toBe(302)
    expect(newWorks.headers.get('location')).toBe('/')

    // Recovery codes are the same set, none used.
    const recoveryAfter = await db.select().from(schema.recoveryCodes).where(eq(schema.recoveryCodes.userId, member.id))
    expect(recoveryAfter.map((r) => r.codeHash).sort()).toEqual(recoveryBefore.map((r) => r.codeHash).sort())
    expect(recoveryAfter.filter((r) => r.usedAt)).toHaveLength(0)
    const security = await client.text('/settings/security')
    expect(security.html).toContain('10 of 10 left')
    expect((await userById(member.id)).mfaEnabledAt).not.toBeNull()

    // Audited with the member as actor; the notice (with a freeze link) reaches the member.
    const [event] = await db
      .select()
      .from(schema.auditEvents)
      .where(and(eq(schema.auditEvents.subjectId, member.id), eq(schema.auditEvents.action, 'auth.totp_replaced')))
    expect(event).toMatchObject({ actorId: member.id, actorLabel: member.email })
    expect(JSON.stringify(event.details)).not.toContain(newSecret)
    const outbound = (await outboundOf(member.id)).filter((m) => m.template === 'totp_replaced')
    expect(outbound).toHaveLength(1)
    expect(JSON.stringify(outbound[0].params)).not.toContain(newSecret)
    const mail = await smtp.waitFor(member.email, { subject: /authenticator app was replaced/, since })
    expect(mail.text).toContain('Codes from the previous app no longer work; your recovery codes are unchanged.')
    expect(mail.text).toMatch(/\/freeze\/[A-Za-z0-9_-]+/)
    expect(mail.text).not.toContain(newSecret)

    // A second confirm finds nothing pending.
    const again = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret, 1) })
    expect(again.status).toBe(400)
    expect(await text(again)).toContain('There is no replacement waiting for a code.')
  })

  it('refuses a confirm with nothing pending, an expired replacement, and keeps the old app when cancelled', async () => {
    const { member, secret: oldSecret } = await appOnlyMember()
    const before = await factorRow(member.id)
    const client = await steppedUp(member.id)

    const nothing = await client.post(REPLACE, { intent: 'replace_confirm', code: '123456' })
    expect(nothing.status).toBe(400)
    expect(await text(nothing)).toContain('There is no replacement waiting for a code.')
    const missing = await client.post(REPLACE, { intent: 'replace_confirm' })
    expect(missing.status).toBe(400)
    const unknownIntent = await client.post(REPLACE, { intent: 'replace_now' })
    expect(unknownIntent.status).toBe(400)

    // Expired: refused with a way to start again; the old app is untouched.
    const newSecret = secretOf((await client.text(REPLACE)).html)!
    await db.update(schema.totpFactors).set({ pendingExpiresAt: new Date(Date.now() - 1000) }).where(eq(schema.totpFactors.userId, member.id))
    const expired = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret) })
    expect(expired.status).toBe(400)
    const expiredHtml = await text(expired)
    expect(expiredHtml).toContain('This replacement expired (it lasts 10 minutes). Your current app still works.')
    expect(expiredHtml).toContain('Start again')
    const afterExpired = await factorRow(member.id)
    expect(afterExpired.secretCiphertext).toBe(before.secretCiphertext)
    expect(afterExpired.lastUsedStep).toBe(before.lastUsedStep)
    expect((await auditOf(member.id)).map((e) => e.action)).not.toContain('auth.totp_replaced')

    // Starting again gives a new secret; cancelling drops it and the old app keeps signing in.
    const restarted = secretOf((await client.text(REPLACE)).html)!
    expect(restarted).not.toBe(newSecret)
    const cancel = await client.post(PAGE, { intent: 'replace_cancel' })
    expect(cancel.status).toBe(302)
    expect(cancel.headers.get('location')).toBe(PAGE)
    const cancelled = await factorRow(member.id)
    expect(cancelled.pendingSecretCiphertext).toBeNull()
    expect(cancelled.secretCiphertext).toBe(before.secretCiphertext)
    const late = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(restarted) })
    expect(late.status).toBe(400)
    expect((await factorRow(member.id)).secretCiphertext).toBe(before.secretCiphertext)
    const signedIn = await signInWithCode(member.email, await totpCode(oldSecret))
    expect(signedIn.status).toBe(302)
    expect(signedIn.headers.get('location')).toBe('/')
    expect((await outboundOf(member.id)).map((m) => m.template)).not.toContain('totp_replaced')
  })

  it('five wrong codes drop the pending secret; the current app keeps working', async () => {
    const { member, secret: oldSecret } = await appOnlyMember()
    const before = await factorRow(member.id)
    const client = await steppedUp(member.id)
    const newSecret = secretOf((await client.text(REPLACE)).html)!
    const pending = (await factorRow(member.id)).pendingSecretCiphertext
    for (let i = 1; i <= 4; i++) {
      const wrong = await client.post(REPLACE, { intent: 'replace_confirm', code: '000000' })
      expect(wrong.status).toBe(400)
      expect(await text(wrong)).toContain('That code is not right.')
      expect((await factorRow(member.id)).pendingAttempts).toBe(i)
    }
    const fifth = await client.post(REPLACE, { intent: 'replace_confirm', code: '000000' })
    expect(fifth.status).toBe(400)
    expect(await text(fifth)).toContain('Too many wrong codes (5): that QR code no longer works.')
    // The page shows a new QR code at once (a new secret, counted from zero); the dropped one never confirms.
    const after = await factorRow(member.id)
    expect(after.pendingSecretCiphertext).not.toBe(pending)
    expect(after.pendingAttempts).toBe(0)
    expect(after.secretCiphertext).toBe(before.secretCiphertext)
    const late = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret) })
    expect(late.status).toBe(400)
    expect((await factorRow(member.id)).secretCiphertext).toBe(before.secretCiphertext)
    expect((await signInWithCode(member.email, await totpCode(oldSecret))).status).toBe(302)
  })

  it('a member without an app has nothing to replace', async () => {
    const org = await createOrg()
    const member = await createUser({ org })
    const client = await steppedUp(member.id)
    const res = await client.post(REPLACE, { intent: 'replace_confirm', code: '123456' })
    expect(res.status).toBe(400)
    expect(await text(res)).toContain('There is no authenticator app on this account to replace.')
    // (The page under the message is first set-up, which starts an unconfirmed secret as it always does.)
    const rows = await db.select().from(schema.totpFactors).where(eq(schema.totpFactors.userId, member.id))
    expect(rows.filter((r) => r.confirmedAt || r.pendingSecretCiphertext)).toHaveLength(0)
  })
})

describe('policy', () => {
  it('where enrollment of an app is closed (disabled, or an app not allowed), replacing is refused with that message', async () => {
    const { org, member } = await appOnlyMember()
    const before = await factorRow(member.id)
    const client = await steppedUp(member.id)
    // Started while it was allowed...
    const newSecret = secretOf((await client.text(REPLACE)).html)!

    await setPolicy(org.id, { mode: 'disabled' })
    const page = (await client.text(REPLACE)).html
    expect(page).toContain('role="status">Your organization has turned off two-factor authentication for your region')
    expect(page).not.toContain('data-testid="totp-secret"')
    expect(page).not.toContain('Replace authenticator app</button>')
    const refused = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret) })
    expect(refused.status).toBe(403)
    expect(await text(refused)).toContain('Your organization has turned off two-factor authentication for your region')
    expect((await factorRow(member.id)).secretCiphertext).toBe(before.secretCiphertext)

    await setPolicy(org.id, { mode: 'required', allowedMethods: ['webauthn'] })
    const notAllowed = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret) })
    expect(notAllowed.status).toBe(403)
    expect(await text(notAllowed)).toContain('Your organization does not accept an authenticator app for two-factor authentication in your region.')
    // The domain refuses for every channel, not only the page.
    const direct = await replaceTotp(await userById(member.id), await totpCode(newSecret), NO_REQUEST, null)
    expect(direct).toMatchObject({ ok: false, status: 403, code: 'closed' })
    expect((await factorRow(member.id)).secretCiphertext).toBe(before.secretCiphertext)

    // Allowed again: the same pending replacement can be finished.
    await setPolicy(org.id, { mode: 'required', allowedMethods: ['totp'] })
    const ok = await client.post(REPLACE, { intent: 'replace_confirm', code: await totpCode(newSecret) })
    expect(ok.status).toBe(302)
    const after = await factorRow(member.id)
    expect(decryptSecret(after.secretCiphertext, after.keyId, { column: 'totp_factors.secret_ciphertext', userId: after.userId })).toBe(newSecret)
  })
})

describe('key rotation', () => {
  it('re-encrypts a pending replacement secret too, which still confirms afterwards', async () => {
    const { member, secret: oldSecret } = await appOnlyMember()
    const started = await beginTotpReplacement(await userById(member.id))
    if (!started.ok) throw new Error('replacement not started')
    const before = await factorRow(member.id)
    expect(before.pendingKeyId).toBe('t1')

    const newKey = randomBytes(32)
    config.encryptionKeys.unshift({ id: 't2', key: newKey })
    try {
      const report = await rotateEncryptionKey()
      expect(report.keyId).toBe('t2')
      expect(report.pending).toBeGreaterThanOrEqual(1)
      expect(report.failed.filter((f) => f.factorId === before.id)).toEqual([])
      const after = await factorRow(member.id)
      expect(after.keyId).toBe('t2')
      expect(after.pendingKeyId).toBe('t2')
      expect(after.pendingSecretCiphertext).not.toBe(before.pendingSecretCiphertext)
      expect(after.pendingExpiresAt).toEqual(before.pendingExpiresAt)
      expect(decryptSecret(after.secretCiphertext, after.keyId, { column: 'totp_factors.secret_ciphertext', userId: after.userId })).toBe(oldSecret)
      expect(decryptSecret(after.pendingSecretCiphertext!, after.pendingKeyId!, { column: 'totp_factors.pending_secret_ciphertext', userId: after.userId })).toBe(started.secret)
      // No secret of this member is left under the old key.
      const underOld = await db
        .select()
        .from(schema.totpFactors)
        .where(and(eq(schema.totpFactors.userId, member.id), eq(schema.totpFactors.pendingKeyId, 't1')))
      expect(underOld).toHaveLength(0)
      // A rerun leaves both alone.
      const rerun = await rotateEncryptionKey()
      expect(rerun.rotated).toBe(0)
      expect((await factorRow(member.id)).pendingSecretCiphertext).toBe(after.pendingSecretCiphertext)

      // The re-encrypted pending secret still confirms.
      const replaced = await replaceTotp(await userById(member.id), await totpCode(started.secret), NO_REQUEST, null)
      expect(replaced).toEqual({ ok: true })
      const swapped = await factorRow(member.id)
      expect(swapped.keyId).toBe('t2')
      expect(decryptSecret(swapped.secretCiphertext, swapped.keyId, { column: 'totp_factors.secret_ciphertext', userId: swapped.userId })).toBe(started.secret)
      expect(await db.select().from(schema.totpFactors).where(and(eq(schema.totpFactors.userId, member.id), isNull(schema.totpFactors.pendingSecretCiphertext)))).toHaveLength(1)
    } finally {
      // Back to the file's own ring, with every secret under its key again, for any test after this one.
      config.encryptionKeys.push(config.encryptionKeys.shift()!)
      await rotateEncryptionKey()
      config.encryptionKeys.pop()
    }
  })
})
