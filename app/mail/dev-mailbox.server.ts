import { desc, eq } from 'drizzle-orm'
import { config } from '#app/config/env.server.ts'
import { db, schema } from '#db/client.ts'

/** The development mailbox and the delivery state of recent emails; undefined unless NODE_ENV=development (decision 062). */
export async function readDevMailbox(to?: string) {
  if (!config.devMailbox) return undefined
  const box = schema.devMailbox
  const messages = await db.select().from(box).where(to ? eq(box.toAddress, to) : undefined).orderBy(desc(box.createdAt)).limit(50)
  const o = schema.outboundEmails
  const deliveries = await db
    .select({ id: o.id, to: o.toAddress, template: o.template, status: o.status, attempts: o.attempts, lastError: o.lastError, createdAt: o.createdAt })
    .from(o)
    .orderBy(desc(o.createdAt))
    .limit(20)
  return { messages, deliveries }
}
