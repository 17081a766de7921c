/**
 * The enqueue side of mail: a row in outbound_emails (what to send, no secret) and a job that
 * carries only that row's id. The worker renders, mints any code or link, and sends.
 */
import { eq } from 'drizzle-orm'
import { db, schema } from '#db/client.ts'
import { getQueue, MAIL_JOB_OPTIONS, QUEUE, type MailPayload } from '#workers/queues.ts'
import type { TemplateName } from './templates.server.ts'

/** BullMQ waits for a ready connection rather than failing: bound the wait so a Redis outage answers fast. */
const ENQUEUE_TIMEOUT_MS = 2000

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`queue did not answer within ${ms} ms`)), ms)
  })
  promise.catch(() => {}) // a late failure after the timeout must not surface as unhandled
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer))
}

export class MailUnavailableError extends Error {
  constructor(cause: unknown) {
    super('Email cannot be sent right now', { cause })
    this.name = 'MailUnavailableError'
  }
}

export async function queueEmail(input: {
  to: string
  template: TemplateName | (string & {})
  userId?: string | null
  params?: Record<string, unknown>
  verificationId?: string | null
}): Promise<string> {
  const [row] = await db
    .insert(schema.outboundEmails)
    .values({
      toAddress: input.to,
      template: input.template,
      userId: input.userId ?? null,
      params: input.params ?? {},
      verificationId: input.verificationId ?? null,
    })
    .returning({ id: schema.outboundEmails.id })
  try {
    const payload: MailPayload = { emailId: row.id }
    await withTimeout(getQueue(QUEUE.mail).add('send', payload, { ...MAIL_JOB_OPTIONS, jobId: row.id }), ENQUEUE_TIMEOUT_MS)
  } catch (e) {
    await db.update(schema.outboundEmails).set({ status: 'not_queued', lastError: 'queue unavailable' }).where(eq(schema.outboundEmails.id, row.id))
    throw new MailUnavailableError(e)
  }
  return row.id
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
