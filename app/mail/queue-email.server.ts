/**
 * The enqueue side of mail: a row in outbound_emails (what to send, no secret) and a job that
 * carries only that row's id. The worker renders, mints any code or link, and sends.
 */
import { eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { addJob, MAIL_JOB_OPTIONS, QUEUE, type MailPayload } from '#app/jobs/queues.server.ts'
import type { TemplateName } from './templates.server.ts'

export class MailUnavailableError extends Error {
  constructor(cause: unknown) {
    super('Email cannot be sent right now', { cause })
    this.name = 'MailUnavailableError'
  }
}

type EmailInput = {
  to: string
  template: TemplateName | (string & {})
  userId?: string | null
  params?: Record<string, unknown>
  verificationId?: string | null
}

/**
 * Writes the email row only, inside the caller's transaction; queue it with `enqueueEmail` after the
 * commit (a job queued earlier could reach the worker before the row is visible, and a rolled-back
 * change must not email anyone).
 */
export async function writeEmail(input: EmailInput, tx: Tx = db): Promise<string> {
  const [row] = await tx
    .insert(schema.outboundEmails)
    .values({
      toAddress: input.to,
      template: input.template,
      userId: input.userId ?? null,
      params: input.params ?? {},
      verificationId: input.verificationId ?? null,
    })
    .returning({ id: schema.outboundEmails.id })
  return row.id
}

/** Queues a committed email row; throws MailUnavailableError (and marks the row) when the queue does not answer. */
export async function enqueueEmail(emailId: string): Promise<void> {
  try {
    const payload: MailPayload = { emailId }
    await addJob(QUEUE.mail, 'send', payload, { ...MAIL_JOB_OPTIONS, jobId: emailId })
  } catch (e) {
    await db.update(schema.outboundEmails).set({ status: 'not_queued', lastError: 'queue unavailable' }).where(eq(schema.outboundEmails.id, emailId))
    throw new MailUnavailableError(e)
  }
}

export async function queueEmail(input: EmailInput): Promise<string> {
  const emailId = await writeEmail(input)
  await enqueueEmail(emailId)
  return emailId
}

/** Queues a committed notice and never throws: the change it reports has happened. Returns whether it was queued. */
export async function enqueueNotice(emailId: string): Promise<boolean> {
  try {
    await enqueueEmail(emailId)
    return true
  } catch (e) {
    if (!(e instanceof MailUnavailableError)) throw e
    console.warn(`[mail] notice ${emailId} not queued: ${e.message}`)
    return false
  }
}

/** Sends a notice and never fails the caller: a security notice must not block the change it reports. */
export async function queueNotice(input: Parameters<typeof queueEmail>[0]): Promise<void> {
  try {
    await queueEmail(input)
  } catch (e) {
    if (!(e instanceof MailUnavailableError)) throw e
    console.warn(`[mail] notice "${input.template}" not queued: ${e.message}`)
  }
}
