/**
 * The reset notice is written inside the reset's transaction (the outbound_emails row and its
 * freeze verification), and queued only after the commit: a job queued earlier could reach the
 * worker before the row is visible, and a rolled-back reset must not email anyone.
 */
import { eq } from 'drizzle-orm'
import { db, schema, type Tx } from '#db/client.ts'
import { getQueue, MAIL_JOB_OPTIONS, QUEUE, type MailPayload } from '#workers/queues.ts'
import type { TemplateName } from '#app/mail/templates.server.ts'

export async function writeOutbound(
  tx: Tx,
  input: { to: string; template: TemplateName; userId: string; params: Record<string, unknown>; verificationId?: string | null },
): Promise<string> {
  const [row] = await tx
    .insert(schema.outboundEmails)
    .values({ toAddress: input.to, template: input.template, userId: input.userId, params: input.params, verificationId: input.verificationId ?? null })
    .returning({ id: schema.outboundEmails.id })
  return row.id
}

/** BullMQ waits for a ready connection before sending, so a Redis outage would hang, not fail. */
export const QUEUE_TIMEOUT_MS = 3000

/** Queues an already-committed outbound email. Never throws: the reset it reports has happened. */
export async function dispatchOutbound(emailId: string): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  try {
    const payload: MailPayload = { emailId }
    await Promise.race([
      getQueue(QUEUE.mail).add('send', payload, { ...MAIL_JOB_OPTIONS, jobId: emailId }),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`Redis did not answer within ${QUEUE_TIMEOUT_MS} ms`)), QUEUE_TIMEOUT_MS)
      }),
    ])
    return true
  } catch (e) {
    await db.update(schema.outboundEmails).set({ status: 'not_queued', lastError: 'queue unavailable' }).where(eq(schema.outboundEmails.id, emailId))
    console.warn(`[mail] reset notice ${emailId} not queued: ${e instanceof Error ? e.message : String(e)}`)
    return false
  } finally {
    clearTimeout(timer)
  }
}
