/**
 * The grace sweep queues a batch's mail jobs while it claims the next batch (decision 082). When the
 * queue does not answer, the run fails, and nothing is lost or doubled: every key it committed has
 * exactly one email row, each still waiting for recovery ('not_queued' for the batch whose queuing
 * failed, 'queued' without a job for the batch committed meanwhile: recoverStrandedMail takes both),
 * and every member it did not reach is still due.
 */
import { eq } from 'drizzle-orm'
import { beforeAll, expect, it } from 'vitest'
import { redisClient } from '#app/infra/redis.server.ts'
import { MailUnavailableError } from '#app/mail/queue-email.server.ts'
import { sweepGrace } from '#app/policy/grace-sweep.server.ts'
import { db, schema, sql as pg } from '#db/client.ts'
import { createOrg } from '#tests/factories/users.ts'

const N = 50
const BATCH = 10

beforeAll(async () => {
  // A real outage for the app's queue client: its connection is closed and it may not reconnect.
  redisClient('queue').disconnect(false)
})

it('fails the run when the queue is down, with every committed reminder written once and left for recovery', async () => {
  const org = await createOrg({ name: 'Outageco' })
  await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(Date.now() - 30 * 86_400_000) }).where(eq(schema.regionPolicies.organizationId, org.id))
  await pg`insert into users (region, email, name) select 'us', 'q' || g || '@outage.test', 'Q ' || g from generate_series(1, ${N}::int) g`
  // Joined 4.5 days ago with 7 days of grace: the "3 days" reminder is due.
  await pg`insert into memberships (user_id, organization_id, joined_at) select id, ${org.id}, now() - interval '4.5 days' from users where email like '%@outage.test'`

  await expect(sweepGrace({ batchSize: BATCH })).rejects.toBeInstanceOf(MailUnavailableError)

  const [state] = await pg<{ keys: number; emails: number; recipients: number; not_queued: number; queued: number; other: number; still_due: number }[]>`
    select (select count(*)::int from grace_reminders where organization_id = ${org.id}) as keys,
      (select count(*)::int from outbound_emails where template = 'grace_reminder' and to_address like '%@outage.test') as emails,
      (select count(distinct to_address)::int from outbound_emails where template = 'grace_reminder' and to_address like '%@outage.test') as recipients,
      (select count(*)::int from outbound_emails where to_address like '%@outage.test' and status = 'not_queued') as not_queued,
      (select count(*)::int from outbound_emails where to_address like '%@outage.test' and status = 'queued') as queued,
      (select count(*)::int from outbound_emails where to_address like '%@outage.test' and status not in ('queued', 'not_queued')) as other,
      (select count(*)::int from membership_reminders r join memberships m on m.id = r.membership_id
        where m.organization_id = ${org.id} and r.next_reminder_at <= now()) as still_due`
  // The first batch's queuing failed; the second batch committed before that was known.
  expect(state).toEqual({ keys: 2 * BATCH, emails: 2 * BATCH, recipients: 2 * BATCH, not_queued: BATCH, queued: BATCH, other: 0, still_due: N - 2 * BATCH })
})
