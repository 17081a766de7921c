/**
 * The mail pipeline end to end on real Redis and real BullMQ workers: a queued job carries only
 * the email's id (the code is minted by the worker), a delivery that fails is retried with
 * exponential backoff and its failure recorded on outbound_emails (`retrying`, then `failed`, with
 * `lastError`), and the development mailbox does not exist when mail goes out over SMTP.
 * Failing delivery is real: nodemailer pointed at a TCP port nobody listens on.
 */
import { createServer } from 'node:net'
import type { Job } from 'bullmq'
import { eq } from 'drizzle-orm'
import nodemailer from 'nodemailer'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { config } from '#app/config/env.server.ts'
import { workerConnection } from '#app/infra/redis.server.ts'
import { enqueueEmails, writeEmail } from '#app/mail/queue-email.server.ts'
import { sendEmailCode } from '#app/mfa/email-code.server.ts'
import { db, schema } from '#db/client.ts'
import { createUser } from '#tests/factories/users.ts'
import { startTestApp, testSmtp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import { startWorkers, type WorkerHandle } from '#workers/start.ts'
import { MAIL_JOB_OPTIONS, sendEmail, type Deliver } from '#app/mail/send.server.ts'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'

let base: string
let handle: WorkerHandle | undefined
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})
afterEach(async () => {
  await handle?.close()
  handle = undefined
})

/** A port that was free a moment ago and has nobody listening now. */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve))
  const { port } = s.address() as { port: number }
  await new Promise<void>((resolve) => s.close(() => resolve()))
  return port
}

/** Real SMTP delivery to a closed port: every send fails with ECONNREFUSED. */
async function unreachableSmtp(): Promise<Deliver> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: await closedPort(), secure: false, ignoreTLS: true, connectionTimeout: 2000 })
  return async (mail) => {
    await transport.sendMail({ from: config.mailFrom, ...mail })
  }
}

async function emailRow(id: string) {
  const [row] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.id, id))
  return row
}

/** Polls until `check` gives a value (the worker runs on its own schedule); fails with what it last saw. */
async function waitUntil<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last: unknown
  for (;;) {
    const value = await check()
    if (value) return value
    last = value
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${JSON.stringify(last)})`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

async function jobOf(emailId: string): Promise<Job> {
  const job = await getQueue(QUEUE.mail).getJob(emailId)
  if (!job) throw new Error(`no job ${emailId} in the mail queue`)
  return job
}

/** Every field of the job's hash in Redis, as stored. */
async function rawJob(emailId: string): Promise<Record<string, string>> {
  const redis = workerConnection()
  try {
    return await redis.hgetall(`${config.redisPrefix}:${QUEUE.mail}:${emailId}`)
  } finally {
    redis.disconnect()
  }
}

describe('queued mail jobs', () => {
  it('carry only the email id, with retries and backoff set; the code exists only in the mail', async () => {
    const user = await createUser()
    const sent = await sendEmailCode(user, `test-target-${user.id}`, { withLink: false })
    expect(sent.ok).toBe(true)
    const [row] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.userId, user.id))
    expect(row.status).toBe('queued')

    // No worker runs yet: the job waits in Redis exactly as the app queued it.
    const job = await jobOf(row.id)
    expect(await job.getState()).toBe('waiting')
    expect(job.data).toEqual({ emailId: row.id })
    expect(job.opts).toMatchObject({ attempts: 5, backoff: { type: 'exponential', delay: 2000 } })
    const raw = await rawJob(row.id)
    expect(JSON.parse(raw.data)).toEqual({ emailId: row.id })
    expect(raw.data).not.toContain(user.email)
    expect(raw.data).not.toContain(sent.ok ? sent.verificationId : '')

    // A worker sends it; the code is in the mail and nowhere in the job Redis keeps.
    handle = await startWorkers({ schedule: false })
    const mail = await testSmtp().waitFor(user.email)
    const code = /\b(\d{6})\b/.exec(mail.text)?.[1]
    expect(code).toMatch(/^\d{6}$/)
    await waitUntil('the job to complete', async () => (await jobOf(row.id).then((j) => j.getState())) === 'completed')
    expect((await emailRow(row.id)).status).toBe('sent')
    const after = await rawJob(row.id)
    expect(JSON.parse(after.data)).toEqual({ emailId: row.id })
    for (const [field, value] of Object.entries(after)) expect(value, `job field ${field}`).not.toContain(code!)
  })
})

describe('a delivery that fails', () => {
  it('is retried by BullMQ with exponential backoff (retrying, lastError), then marked failed after the last try', async () => {
    handle = await startWorkers({ deliver: await unreachableSmtp(), schedule: false })
    const user = await createUser()
    const emailId = await writeEmail({ to: user.email, userId: user.id, template: 'password_changed' })
    await enqueueEmails([emailId])

    const delays: number[] = []
    for (let attempt = 1; attempt < MAIL_JOB_OPTIONS.attempts; attempt++) {
      // The try failed and the job waits for its backoff (delayed), the failure recorded on the row.
      const job = await waitUntil(`attempt ${attempt} to fail`, async () => {
        const j = await jobOf(emailId)
        return j.attemptsMade === attempt && (await j.getState()) === 'delayed' && j
      })
      const row = await emailRow(emailId)
      expect(row).toMatchObject({ status: 'retrying', attempts: attempt, sentAt: null })
      expect(row.lastError).toMatch(/ECONNREFUSED|connect/i)
      delays.push(job.delay)
      // Move the job on without waiting out the backoff (changing data, not the clock).
      await job.promote()
    }
    // Each wait doubles: 2 s, 4 s, 8 s, 16 s.
    expect(delays).toEqual([2000, 4000, 8000, 16000])

    const last = await waitUntil('the last attempt to fail', async () => {
      const j = await jobOf(emailId)
      return (await j.getState()) === 'failed' && j
    })
    expect(last.attemptsMade).toBe(MAIL_JOB_OPTIONS.attempts)
    expect(last.failedReason).toMatch(/ECONNREFUSED|connect/i)
    const row = await emailRow(emailId)
    expect(row).toMatchObject({ status: 'failed', attempts: MAIL_JOB_OPTIONS.attempts, sentAt: null })
    expect(row.lastError).toMatch(/ECONNREFUSED|connect/i)
    expect(testSmtp().received.some((m) => m.to === user.email)).toBe(false)
  })

  it('sendEmail records retrying on an early try and failed on the last, with the error, and rethrows', async () => {
    const failing: Deliver = async () => {
      throw new Error('421 4.3.2 Service not available, closing transmission channel')
    }
    const user = await createUser()
    const emailId = await writeEmail({ to: user.email, userId: user.id, template: 'password_changed' })
    const attempt = (attemptsMade: number) => ({ attemptsMade, attempts: MAIL_JOB_OPTIONS.attempts })

    await expect(sendEmail(emailId, attempt(0), failing)).rejects.toThrow(/421/)
    expect(await emailRow(emailId)).toMatchObject({ status: 'retrying', attempts: 1, lastError: expect.stringContaining('421 4.3.2') })
    await expect(sendEmail(emailId, attempt(MAIL_JOB_OPTIONS.attempts - 1), failing)).rejects.toThrow(/421/)
    expect(await emailRow(emailId)).toMatchObject({ status: 'failed', attempts: 2, lastError: expect.stringContaining('421 4.3.2') })

    // A template that does not exist fails for good at once, whatever the try.
    const broken = await writeEmail({ to: user.email, template: 'no_such_template' })
    await expect(sendEmail(broken, attempt(0), failing)).rejects.toThrow(/unknown template/)
    expect(await emailRow(broken)).toMatchObject({ status: 'failed', lastError: expect.stringContaining('unknown template') })
  })
})

describe('the development mailbox', () => {
  it('answers 404 when mail goes out over SMTP (as production always does)', async () => {
    expect(config.devMailbox).toBe(false)
    const res = await new TestClient(base).get('/dev/mailbox')
    expect(res.status).toBe(404)
    const html = await res.text()
    expect(html).not.toContain('Development mailbox')
    expect(html).not.toContain('Delivery state')
  })
})
