/**
 * The grace sweep over 10,000 members, run by two worker processes at the same time (decision 067,
 * decision 022): each member due a reminder gets exactly one email, whichever worker's sweep wrote
 * it, and every one is sent.
 */
import { afterAll, beforeAll, expect, it } from 'vitest'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { graceSweep } from '#app/policy/grace-sweep.server.ts'
import { sql as pg } from '#db/client.ts'
import { createOrg } from '#tests/factories/users.ts'
import { testSmtp } from '#tests/setup/app.ts'
import { killPrograms, startProgram, type Program } from '#tests/setup/processes.ts'

const MEMBERS = 10_000
let workers: Program[]

beforeAll(async () => {
  workers = [startProgram('workers/index.ts'), startProgram('workers/index.ts')]
  await Promise.all(workers.map((w) => w.waitForLog((l) => l.msg === 'workers started')))
}, 90_000)
afterAll(() => killPrograms())

it(`two workers sweeping ${MEMBERS.toLocaleString('en')} members at once send each reminder exactly once`, async () => {
  const org = await createOrg({ name: 'Bulkco' })
  // Required for 30 days with 7 days of grace; each member joined 4.5 days ago: the 3-day reminder is due.
  await pg`update region_policies set mode = 'required', allowed_methods = '{totp,webauthn}', required_since = now() - interval '30 days', grace_period_days = 7 where organization_id = ${org.id}`
  await pg`
    with u as (
      insert into users (region, email, name)
      select 'us', 'bulk-' || g || '@example.test', 'Bulk ' || g from generate_series(1, ${MEMBERS}::int) g
      returning id
    )
    insert into memberships (user_id, organization_id, role, joined_at)
    select id, ${org.id}, 'member', now() - interval '4.5 days' from u`

  // Two sweeps at once: each worker process takes one (the sweeps queue runs one job at a time per worker).
  const queue = getQueue(QUEUE.sweeps)
  const jobs = await Promise.all([queue.add(graceSweep.name, {}), queue.add(graceSweep.name, {})])
  await expect.poll(async () => Promise.all(jobs.map(async (j) => (await queue.getJob(j.id!))?.getState())), { timeout: 120_000, interval: 500 }).toEqual(['completed', 'completed'])
  // A job is completed in Redis before its worker's log line reaches this process: wait for both lines.
  const sweepLogs = () => workers.map((w) => w.logs().filter((l) => l.msg === 'sweep done' && l.sweep === graceSweep.name))
  await expect.poll(() => sweepLogs().flat().length, { timeout: 10_000 }).toBe(2)
  const sweeps = sweepLogs()
  expect(sweeps.map((s) => s.length), 'each worker ran one of the sweeps').toEqual([1, 1])
  const written = sweeps.flat().reduce((n, l) => n + (l.result as { reminders: number }).reminders, 0)
  expect(written).toBe(MEMBERS)

  const [counts] = await pg<{ keys: number; emails: number; recipients: number }[]>`
    select (select count(*)::int from grace_reminders where organization_id = ${org.id}) as keys,
           (select count(*)::int from outbound_emails where template = 'grace_reminder') as emails,
           (select count(distinct to_address)::int from outbound_emails where template = 'grace_reminder') as recipients`
  expect(counts).toEqual({ keys: MEMBERS, emails: MEMBERS, recipients: MEMBERS })

  // Every reminder reaches the SMTP server, once.
  const smtp = testSmtp()
  const bulk = () => smtp.received.filter((m) => m.to.startsWith('bulk-'))
  await expect.poll(() => bulk().length, { timeout: 240_000, interval: 1000 }).toBeGreaterThanOrEqual(MEMBERS)
  await new Promise((r) => setTimeout(r, 1000))
  expect(bulk()).toHaveLength(MEMBERS)
  expect(new Set(bulk().map((m) => m.to)).size).toBe(MEMBERS)
  const [{ unsent }] = await pg<{ unsent: number }[]>`select count(*)::int as unsent from outbound_emails where template = 'grace_reminder' and status <> 'sent'`
  expect(unsent).toBe(0)
}, 400_000)
