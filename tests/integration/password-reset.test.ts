import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'
import type { TestSmtp } from '#tests/setup/smtp.ts'

let base: string
let smtp: TestSmtp
beforeAll(async () => {
  await seedDemo()
  ;({ url: base, smtp } = await startTestApp())
})

const NEW_PASSWORD = 'a brand new long passphrase'

describe('forgot password', () => {
  it('resets end to end through SMTP, ends every session, and the link works once', async () => {
    const signedIn = new TestClient(base)
    await signIn(signedIn, 'member@acme.test')
    expect((await signedIn.get('/')).status).toBe(200)

    const client = new TestClient(base)
    const since = Date.now()
    const asked = await client.post('/forgot-password', { region: 'us', email: 'member@acme.test' })
    expect(asked.status).toBe(200)
    expect(await asked.text()).toContain('If an account with that email exists')

    const mail = await smtp.waitFor('member@acme.test', { subject: /Reset your Gatehouse password/, since })
    const link = mail.text.match(/https?:\/\/\S+\/reset-password\/(\S+)/)
    expect(link).toBeTruthy()
    const token = link![1]
    // The token is not stored in clear anywhere, nor in the outbound email row.
    const rows = await db.select().from(schema.verifications).where(eq(schema.verifications.purpose, 'password_reset'))
    expect(JSON.stringify(rows)).not.toContain(token)
    expect(JSON.stringify(await db.select().from(schema.outboundEmails))).not.toContain(token)

    expect((await client.text(`/reset-password/${token}`)).html).toContain('Choose a new password')
    const mismatch = await client.post(`/reset-password/${token}`, { password: NEW_PASSWORD, confirm: 'different' })
    expect(mismatch.status).toBe(400)
    const done = await client.post(`/reset-password/${token}`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
    expect(done.status).toBe(302)
    expect(done.headers.get('location')).toBe('/login?notice=password-reset')

    // Every session ended; old password refused; new one works (no automatic sign-in).
    expect((await signedIn.get('/')).status).toBe(302)
    expect((await signIn(new TestClient(base), 'member@acme.test')).status).toBe(400)
    expect((await signIn(new TestClient(base), 'member@acme.test', 'us', NEW_PASSWORD)).status).toBe(302)

    // Single use.
    const reuse = await client.post(`/reset-password/${token}`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
    expect(reuse.status).toBe(400)
    expect((await client.text(`/reset-password/${token}`)).html).toContain('This link does not work')

    await smtp.waitFor('member@acme.test', { subject: /password was changed/, since })
    const events = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.action, 'auth.password_reset'))
    expect(events).toHaveLength(1)
  })

  it('answers the same for an unknown email and sends nothing', async () => {
    const since = Date.now()
    const res = await new TestClient(base).post('/forgot-password', { region: 'us', email: 'nobody@acme.test' })
    expect(res.status).toBe(200)
    expect(await res.text()).toContain('If an account with that email exists')
    await new Promise((r) => setTimeout(r, 500))
    expect(smtp.received.filter((m) => m.to === 'nobody@acme.test' && m.receivedAt >= since)).toHaveLength(0)
  })

  it('refuses an expired link', async () => {
    const since = Date.now()
    await new TestClient(base).post('/forgot-password', { region: 'eu', email: 'eu.member@acme.test' })
    const mail = await smtp.waitFor('eu.member@acme.test', { subject: /Reset/, since })
    const token = mail.text.match(/reset-password\/(\S+)/)![1]
    await db.update(schema.verifications).set({ expiresAt: new Date(Date.now() - 1000) }).where(eq(schema.verifications.purpose, 'password_reset'))
    const res = await new TestClient(base).post(`/reset-password/${token}`, { password: NEW_PASSWORD, confirm: NEW_PASSWORD })
    expect(res.status).toBe(400)
  })
})
