/**
 * TOTP secrets at rest are bound to their row and column (AES-256-GCM associated data, decision
 * 062). As an attacker with write access to the table would try it: a ciphertext copied onto
 * another member's row, or from the pending column into the current one, opens nowhere, so the
 * sign-in over real HTTP is refused (400, never a 500) and the failure is logged without the secret.
 * Rows written before the binding still sign in, and rotate-encryption-key rewrites them bound.
 */
import { createCipheriv, randomBytes } from 'node:crypto'
import { eq } from 'drizzle-orm'
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { beginTotpReplacement } from '#app/mfa/totp.server.ts'
import { rotateEncryptionKey } from '#app/support/key-rotation.server.ts'
import { db, schema } from '#db/client.ts'
import { enableTotp, forgetTotpStep, totpCode, userById } from '#tests/factories/mfa.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
const t = schema.totpFactors
const factorOf = async (userId: string) => (await db.select().from(t).where(eq(t.userId, userId)))[0]

/** What the version before decision 062 wrote: "iv.tag.ciphertext", bound to the key id only. */
function legacyCiphertext(plain: string) {
  const { id, key } = config.encryptionKeys[0]
  const iv = randomBytes(12)
  const cipher = createCipheriv('aes-256-gcm', key, iv)
  cipher.setAAD(Buffer.from(`gatehouse:${id}`))
  const body = Buffer.concat([cipher.update(plain, 'utf8'), cipher.final()])
  return { secretCiphertext: [iv, cipher.getAuthTag(), body].map((b) => b.toString('base64url')).join('.'), keyId: id }
}

/** Password, then a TOTP code at /login/verify, over HTTP. */
async function signInWithCode(email: string, code: string) {
  const client = new TestClient(base)
  const pw = await signIn(client, email)
  expect(pw.headers.get('location')).toBe('/login/verify')
  const res = await client.post('/login/verify', { intent: 'totp', code })
  return { res, html: await res.text(), signedIn: client.cookies.has('gh_session') }
}

let warnings: string[]
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})
afterEach(() => vi.restoreAllMocks())
function captureWarnings() {
  warnings = []
  vi.spyOn(console, 'warn').mockImplementation((...args: unknown[]) => void warnings.push(args.map(String).join(' ')))
}

describe('a ciphertext moved to another row or column', () => {
  it("copied onto another member's row: neither secret signs that member in, no 500, and the log names the row but not the secret", async () => {
    const alice = await createUser({ email: 'alice.binding@example.test' })
    const bob = await createUser({ email: 'bob.binding@example.test' })
    const { secret: aliceSecret } = await enableTotp(alice.id)
    const { secret: bobSecret } = await enableTotp(bob.id)
    const stolen = await factorOf(alice.id)
    await db.update(t).set({ secretCiphertext: stolen.secretCiphertext, keyId: stolen.keyId }).where(eq(t.userId, bob.id))

    captureWarnings()
    for (const code of [await totpCode(aliceSecret), await totpCode(bobSecret)]) {
      const { res, html, signedIn } = await signInWithCode(bob.email, code)
      expect(res.status).toBe(400)
      expect(html).toContain('That code is not right')
      expect(signedIn).toBe(false)
    }
    expect(await db.select().from(schema.sessions).where(eq(schema.sessions.userId, bob.id))).toEqual([])
    expect(warnings.filter((w) => w.includes(`totp_factors.secret_ciphertext of user ${bob.id}`))).toHaveLength(2)
    for (const w of warnings) {
      for (const secret of [aliceSecret, bobSecret, stolen.secretCiphertext]) expect(w).not.toContain(secret)
    }

    // Alice's own row still opens: her code signs her in.
    const own = await signInWithCode(alice.email, await totpCode(aliceSecret))
    expect(own.res.status).toBe(302)
    expect(own.signedIn).toBe(true)
  })

  it("a replacement's pending secret copied into the current column does not open there", async () => {
    const carol = await createUser({ email: 'carol.binding@example.test' })
    await enableTotp(carol.id)
    const started = await beginTotpReplacement(await userById(carol.id))
    if (!started.ok) throw new Error(started.code)
    const row = await factorOf(carol.id)
    await db.update(t).set({ secretCiphertext: row.pendingSecretCiphertext!, keyId: row.pendingKeyId! }).where(eq(t.userId, carol.id))

    captureWarnings()
    const { res, signedIn } = await signInWithCode(carol.email, await totpCode(started.secret))
    expect(res.status).toBe(400)
    expect(signedIn).toBe(false)
    expect(warnings.some((w) => w.includes(`totp_factors.secret_ciphertext of user ${carol.id}`))).toBe(true)
    expect(warnings.join('\n')).not.toContain(started.secret)
  })
})

describe('rows written before the binding', () => {
  it('still sign in; rotate-encryption-key rewrites them bound, under the same key, and they still sign in', async () => {
    const dave = await createUser({ email: 'dave.legacy@example.test' })
    const { secret } = await enableTotp(dave.id)
    await db.update(t).set(legacyCiphertext(secret)).where(eq(t.userId, dave.id))

    const before = await signInWithCode(dave.email, await totpCode(secret))
    expect(before.res.status).toBe(302)
    expect(before.signedIn).toBe(true)

    const report = await rotateEncryptionKey()
    expect(report).toMatchObject({ keyId: 't1', rotated: 1, failed: [] })
    const after = await factorOf(dave.id)
    expect(after.keyId).toBe('t1')
    expect(after.secretCiphertext.startsWith('v2.')).toBe(true)
    expect((await rotateEncryptionKey()).rotated).toBe(0)

    await forgetTotpStep(dave.id)
    const again = await signInWithCode(dave.email, await totpCode(secret))
    expect(again.res.status).toBe(302)
    expect(again.signedIn).toBe(true)

    // Now bound: copied onto another member's row, it no longer opens there.
    const erin = await createUser({ email: 'erin.legacy@example.test' })
    await enableTotp(erin.id)
    await db.update(t).set({ secretCiphertext: after.secretCiphertext, keyId: after.keyId }).where(eq(t.userId, erin.id))
    captureWarnings()
    const copied = await signInWithCode(erin.email, await totpCode(secret))
    expect(copied.res.status).toBe(400)
    expect(copied.signedIn).toBe(false)
  })
})
