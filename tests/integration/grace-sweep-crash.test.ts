/**
 * Kills a real sweep process (SIGKILL) in the middle of a large sweep, then sweeps again: every
 * due member has exactly one reminder row and exactly one outbound email, and every email has a
 * mail job (nothing lost, nothing twice). No mail worker runs here: jobs are checked in Redis.
 */
import { spawn } from 'node:child_process'
import { eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { db, schema, sql as pg } from '#db/client.ts'
import { sweepGrace } from '#app/policy/grace-sweep.server.ts'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { createOrg } from '#tests/factories/users.ts'

const N = 4000

describe('killing a sweep mid-way', () => {
  it('loses no reminder and duplicates none', async () => {
    const org = await createOrg({ name: 'Killco' })
    await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date(Date.now() - 30 * 86_400_000) }).where(eq(schema.regionPolicies.organizationId, org.id))
    await pg`insert into users (region, email, name) select 'us', 'k' || g || '@kill.test', 'K ' || g from generate_series(1, ${N}) g`
    // Joined 4.5 days ago: deadline in 2.5 days, the "3 days" reminder.
    await pg`insert into memberships (user_id, organization_id, joined_at) select id, ${org.id}, now() - interval '4.5 days' from users where email like '%@kill.test'`

    const child = spawn(process.execPath, ['--import', 'tsx', 'tests/setup/run-sweep.ts', '50'], { env: process.env, stdio: ['ignore', 'pipe', 'pipe'] })
    let stderr = ''
    let gone = false
    child.stderr.on('data', (d) => (stderr += d))
    child.stdout.on('data', (d) => (stderr += d))
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => { gone = true; resolve(signal ? -1 : code) }))
    // Kill it once some, not all, batches have committed.
    for (;;) {
      const [{ n }] = await pg<{ n: number }[]>`select count(*)::int as n from grace_reminders where organization_id = ${org.id}`
      if (n >= 200 || gone) break
      await new Promise((r) => setTimeout(r, 20))
    }
    child.kill('SIGKILL')
    expect(await exited, stderr).toBe(-1)
    const [{ before }] = await pg<{ before: number }[]>`select count(*)::int as before from grace_reminders where organization_id = ${org.id}`
    expect(before).toBeLessThan(N)

    await db.update(schema.outboundEmails).set({ createdAt: sql`created_at - interval '2 minutes'` })
    await sweepGrace({ batchSize: 500 })
    await sweepGrace({ batchSize: 500 })

    const [{ reminders }] = await pg<{ reminders: number }[]>`select count(*)::int as reminders from grace_reminders where organization_id = ${org.id} and offset_days = 3`
    expect(reminders).toBe(N)
    const perUser = await pg<{ n: number }[]>`select count(*)::int as n from outbound_emails where template = 'grace_reminder' group by user_id`
    expect(perUser).toHaveLength(N)
    expect(perUser.every((r) => r.n === 1)).toBe(true)
    const ids = await pg<{ id: string }[]>`select id::text from outbound_emails where template = 'grace_reminder'`
    const queue = getQueue(QUEUE.mail)
    const missing: string[] = []
    for (const { id } of ids) if (!(await queue.getJob(id))) missing.push(id)
    expect(missing).toEqual([])
  }, 120_000)
})
