/**
 * The enqueue side of mail: a row in outbound_emails (what to send, no secret) and a job that
 * carries only that row's id. The worker renders, mints any code or link, and sends.
 */
import { db, schema, sql as pg, type SqlTx, type Tx } from '#db/client.ts'
import { enqueue } from '#app/jobs/registry.server.ts'
import type { TemplateName } from './templates.server.ts'
import { logger } from '#app/observability/logger.server.ts'

const log = logger.child({ component: 'mail' })

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
 * Writes the email row only, inside the caller's transaction; queue it with `enqueueEmails` after the
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

/**
 * Writes many email rows in one statement (the sweeps' batches), inside the caller's raw-SQL
 * transaction; queue them with `enqueueEmails` after the commit. Returns their ids.
 */
export async function writeEmails(inputs: EmailInput[], tx: SqlTx = pg): Promise<string[]> {
  if (!inputs.length) return []
  const rows = inputs.map((i) => ({ user_id: i.userId ?? null, to_address: i.to, template: i.template, params: i.params ?? {}, verification_id: i.verificationId ?? null }))
  // One parameter whatever the batch size (a sweep's batch would pass the protocol's parameter limit).
  const ids = await tx<{ id: string }[]>`
    insert into outbound_emails (user_id, to_address, template, params, verification_id)
    select r.user_id, r.to_address, r.template, r.params, r.verification_id
    from jsonb_to_recordset(${JSON.stringify(rows)}::jsonb) as r(user_id uuid, to_address text, template text, params jsonb, verification_id uuid)
    returning id::text`
  return ids.map((r) => r.id)
}

/**
 * The one way to queue mail: a job per committed email row, carrying only its id. Throws
 * MailUnavailableError (and marks the rows `not_queued`, which the sweep's recovery retries) when
 * the queue does not answer. Rows a worker already took are left alone: a part of a batch may have
 * been queued before the failure, and recovery must not send those again.
 */
export async function enqueueEmails(emailIds: string[]): Promise<void> {
  try {
    await enqueue('send', emailIds.map((emailId) => ({ emailId })))
  } catch (e) {
    await pg`update outbound_emails set status = 'not_queued', last_error = 'queue unavailable' where id = any(${emailIds}::uuid[]) and status = 'queued'`
    throw new MailUnavailableError(e)
  }
}

export async function queueEmail(input: EmailInput): Promise<string> {
  const emailId = await writeEmail(input)
  await enqueueEmails([emailId])
  return emailId
}

/** Queues a committed notice and never throws: the change it reports has happened. Returns whether it was queued. */
export async function enqueueNotice(emailId: string): Promise<boolean> {
  try {
    await enqueueEmails([emailId])
    return true
  } catch (e) {
    if (!(e instanceof MailUnavailableError)) throw e
    log.warn({ emailId, error: e.message }, 'notice not queued')
    return false
  }
}

/** Sends a notice and never fails the caller: a security notice must not block the change it reports. */
export async function queueNotice(input: Parameters<typeof queueEmail>[0]): Promise<void> {
  try {
    await queueEmail(input)
  } catch (e) {
    if (!(e instanceof MailUnavailableError)) throw e
    log.warn({ template: input.template, error: e.message }, 'notice not queued')
  }
}
