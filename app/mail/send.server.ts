/**
 * The send-mail job: sends one email. Mints any code or link from the email's verification at send
 * time (a retried job sends a fresh one and the earlier one stops working), renders, sends, and
 * records the outcome. The job carries the email's id only (decision 004).
 */
import { randomInt } from 'node:crypto'
import { eq, sql } from 'drizzle-orm'
import { z } from 'zod'
import nodemailer, { type Transporter } from 'nodemailer'
import { config, findRegion } from '#app/config/env.server.ts'
import { mintCode, mintToken } from '#app/auth/verification.server.ts'
import { preparePasswordResetEmail } from '#app/auth/password-reset.server.ts'
import { getTemplate, type Secret } from '#app/mail/templates.server.ts'
import { mailLanguage, mailT } from '#app/mail/language.server.ts'
import { db, schema } from '#db/client.ts'
import { defineJob, PermanentJobError } from '#app/jobs/define-job.server.ts'
import { QUEUE } from '#app/jobs/queues.server.ts'
import { logger } from '#app/observability/logger.server.ts'

const log = logger.child({ component: 'mail' })

/** Retries with exponential backoff: 5 tries over about a minute, then the email is marked failed. */
export const MAIL_JOB_OPTIONS = { attempts: 5, backoff: { type: 'exponential', delay: 2000 }, removeOnComplete: 1000, removeOnFail: 5000 }

/** The job id is the email's id, so queuing an email twice adds one job (decision 022). */
export const sendMail = defineJob({
  name: 'send',
  queue: QUEUE.mail,
  payload: z.object({ emailId: z.string().uuid() }).strict(),
  options: MAIL_JOB_OPTIONS,
  jobId: ({ emailId }) => emailId,
  handler: ({ emailId }, context) => sendEmail(emailId, context, context.deliver),
})

export type Outgoing = { to: string; subject: string; text: string }
export type Deliver = (mail: Outgoing) => Promise<void>

export function createDeliver(): Deliver {
  if (config.smtpUrl) {
    const transport: Transporter = nodemailer.createTransport(config.smtpUrl)
    return async (mail) => {
      await transport.sendMail({ from: config.mailFrom, ...mail })
    }
  }
  if (!config.devMailbox) throw new Error('No SMTP_URL and no development mailbox: mail cannot be sent')
  return async (mail) => {
    await db.insert(schema.devMailbox).values({ toAddress: mail.to, subject: mail.subject, text: mail.text })
  }
}

/** A failure no retry can mend (no such template, no verification): the job fails at once. */
export class PermanentMailError extends PermanentJobError {}

/** `attempt` says which try this is: the last one marks the email failed for good. */
export async function sendEmail(emailId: string, attempt: { attemptsMade: number; attempts: number }, deliver: Deliver): Promise<'sent' | 'skipped'> {
  let [email] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.id, emailId))
  if (!email || email.status === 'sent') return 'skipped'
  // A reset request is queued for every address; here it is decided whether an account exists (decision 057).
  if (email.template === 'password_reset' && !email.verificationId) {
    const prepared = await preparePasswordResetEmail(emailId)
    if (!prepared) return markSkipped(emailId, 'no account for this address')
    email = prepared
  }
  try {
    const template = getTemplate(email.template)
    if (!template) throw new PermanentMailError(`unknown template "${email.template}"`)
    const secret: Secret = {}
    if (template.mints) {
      if (!email.verificationId) throw new PermanentMailError('template needs a verification')
      const base = (findRegion(String(email.params.region ?? '')) ?? config.regions[0])?.origin ?? config.appOrigin
      if (template.mints.code) {
        secret.code = String(randomInt(0, 1_000_000)).padStart(6, '0')
        if (!(await mintCode(email.verificationId, secret.code))) return markSkipped(emailId, 'verification expired or used')
      }
      if (template.mints.link) {
        const token = await mintToken(email.verificationId, template.mints.link.purpose)
        if (!token) return markSkipped(emailId, 'verification expired or used')
        secret.url = `${base}${template.mints.link.path}${token}`
      }
    }
    // In the recipient's language (decision 079), chosen here from the user, since the job has only ids.
    const { subject, text } = template.render(email.params, secret, mailT(await mailLanguage(email.userId, email.params)))
    await deliver({ to: email.toAddress, subject, text })
    await db
      .update(schema.outboundEmails)
      .set({ status: 'sent', sentAt: sql`now()`, attempts: sql`${schema.outboundEmails.attempts} + 1`, lastError: null })
      .where(eq(schema.outboundEmails.id, emailId))
    return 'sent'
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e)
    const final = e instanceof PermanentMailError || attempt.attemptsMade + 1 >= attempt.attempts
    await db
      .update(schema.outboundEmails)
      .set({ status: final ? 'failed' : 'retrying', lastError: message.slice(0, 500), attempts: sql`${schema.outboundEmails.attempts} + 1` })
      .where(eq(schema.outboundEmails.id, emailId))
    if (final) log.warn({ emailId, template: email.template, error: message }, 'email failed for good')
    throw e
  }
}

async function markSkipped(emailId: string, why: string): Promise<'skipped'> {
  await db.update(schema.outboundEmails).set({ status: 'skipped', lastError: why }).where(eq(schema.outboundEmails.id, emailId))
  return 'skipped'
}
