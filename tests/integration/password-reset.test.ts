import { and, eq, gte } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { seedDemo } from '#db/seed.ts'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
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

  it('does the same work for a known and an unknown address: one outbox row and one queued job each, and the worker decides', async () => {
    const since = new Date()
    const answers: string[] = []
    for (const email of ['eu.member@acme.test', 'nobody-here@acme.test']) {
      const res = await new TestClient(base).post('/forgot-password', { region: 'eu', email })
      expect(res.status).toBe(200)
      // The page is the same but for its per-request CSP nonce.
      answers.push((await res.text()).replace(/nonce="[^"]*"/g, 'nonce=""'))
    }
    expect(answers[0]).toBe(answers[1])
    const rows = (await db.select().from(schema.outboundEmails).where(and(eq(schema.outboundEmails.template, 'password_reset'), gte(schema.outboundEmails.createdAt, since))))
    expect(rows.map((r) => r.toAddress).sort()).toEqual(['eu.member@acme.test', 'nobody-here@acme.test'])
    // The job carries the row's id only, for both addresses.
    const queue = getQueue(QUEUE.mail)
    for (const row of rows) expect((await queue.getJob(row.id))?.data).toEqual({ emailId: row.id })
    // The worker sends to the account and skips the unknown address.
    await smtp.waitFor('eu.member@acme.test', { subject: /Reset your Gatehouse password/, since: since.getTime() })
    const byAddress = async (to: string) => {
      for (let i = 0; i < 50; i++) {
        const [row] = await db.select().from(schema.outboundEmails).where(and(eq(schema.outboundEmails.toAddress, to), gte(schema.outboundEmails.createdAt, since)))
        if (row.status !== 'queued') return row
        await new Promise((r) => setTimeout(r, 100))
      }
      throw new Error(`${to} was never processed`)
    }
    expect(await byAddress('nobody-here@acme.test')).toMatchObject({ status: 'skipped', userId: null, verificationId: null })
    expect(await byAddress('eu.member@acme.test')).toMatchObject({ status: 'sent', userId: expect.any(String), verificationId: expect.any(String) })
    expect(smtp.received.filter((m) => m.to === 'nobody-here@acme.test')).toHaveLength(0)
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
