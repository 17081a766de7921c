import { eq } from 'drizzle-orm'
import { beforeAll, expect, it } from 'vitest'
import { redisClient } from '#app/infra/redis.server.ts'
import { MailUnavailableError, queueEmail } from '#app/mail/queue-email.server.ts'
import { db, schema } from '#db/client.ts'

beforeAll(async () => {
  // A real outage for the app's queue client: its connection is closed and it may not reconnect.
  const client = redisClient('queue')
  client.disconnect(false)
})

it('answers at once with MailUnavailableError when Redis is down, and records the email as not queued', async () => {
  await expect(queueEmail({ to: 'someone@example.test', template: 'password_changed' })).rejects.toBeInstanceOf(MailUnavailableError)
  const [row] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.toAddress, 'someone@example.test'))
  expect(row.status).toBe('not_queued')
})
