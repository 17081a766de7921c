/**
 * A notification run in several batches, and its restart after a crash mid-way while members join
 * or leave: everyone still there is emailed exactly once, nobody is skipped. The crash is real: a
 * trigger makes PostgreSQL refuse the outbox row of one member, so that batch's transaction fails
 * after the earlier batches committed; the restart runs once the trigger is gone.
 * Membership ids are chosen so that the keyset order (by id) is known.
 */
import { and, eq, sql } from 'drizzle-orm'
import { describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { runNotification } from '#app/policy/notification-runs.server.ts'
import { connectAsOwner } from '#tests/setup/owner-db.ts'

// Only the owner may add a trigger (the app's role owns nothing, decision 058).
const owner = connectAsOwner()

const BATCH = 4
const mid = (prefix: string, i: number) => `${prefix}-0000-4000-8000-${String(i).padStart(12, '0')}`

/** An organization whose US region just became Required, with `n` members in id order, and a queued run. */
async function setup(prefix: string, n = 12) {
  const org = await createOrg({ regions: ['us'] })
  await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp'], requiredSince: new Date() }).where(eq(schema.regionPolicies.organizationId, org.id))
  const members: { userId: string; membershipId: string; email: string }[] = []
  for (let i = 0; i < n; i++) {
    const user = await createUser({ email: `${prefix}-m${i}@run.test` })
    const membershipId = mid(prefix, 100 + i)
    await db.insert(schema.memberships).values({ id: membershipId, userId: user.id, organizationId: org.id, role: 'member' })
    members.push({ userId: user.id, membershipId, email: user.email })
  }
  const [run] = await db.insert(schema.notificationRuns).values({ organizationId: org.id, region: 'us', kind: 'policy_required' }).returning()
  return { org, members, runId: run.id }
}

/** How many emails of this run each address got. */
async function emailsPerAddress(runId: string) {
  const rows = await db
    .select({ to: schema.outboundEmails.toAddress, n: sql<number>`count(*)::int` })
    .from(schema.outboundEmails)
    .where(and(eq(schema.outboundEmails.template, 'policy_required'), sql`${schema.outboundEmails.params}->>'runId' = ${runId}`))
    .groupBy(schema.outboundEmails.toAddress)
  return Object.fromEntries(rows.map((r) => [r.to, r.n]))
}

const runRow = async (runId: string) => (await db.select().from(schema.notificationRuns).where(eq(schema.notificationRuns.id, runId)))[0]

/** Makes the outbox refuse `userId`'s row: the batch holding that member fails as if the worker died there. */
async function crashAt(userId: string) {
  await owner.unsafe(`create or replace function test_refuse_outbox() returns trigger language plpgsql as $$
    begin if new.user_id = '${userId}' then raise exception 'simulated crash'; end if; return new; end $$`)
  await owner.unsafe('create trigger test_refuse_outbox before insert on outbound_emails for each row execute function test_refuse_outbox()')
}
async function recover() {
  await owner.unsafe('drop trigger if exists test_refuse_outbox on outbound_emails')
}

describe('notification run', () => {
  it('emails every member once over several batches and counts them', async () => {
    const { members, runId } = await setup('aaaaaaaa', 10)
    expect(await runNotification(runId, new Date(), { batchSize: BATCH })).toEqual({ done: 10, total: 10 })
    expect(await emailsPerAddress(runId)).toEqual(Object.fromEntries(members.map((m) => [m.email, 1])))
    expect(await runRow(runId)).toMatchObject({ status: 'done', done: 10, total: 10 })
    // Each outbox row names its membership (what a restart resumes from).
    const [row] = await db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.userId, members[0].userId))
    expect(row.params).toMatchObject({ runId, membershipId: members[0].membershipId })
    // A finished run is not run again.
    await runNotification(runId, new Date(), { batchSize: BATCH })
    expect(Object.values(await emailsPerAddress(runId)).every((n) => n === 1)).toBe(true)
  })

  it('after a crash, a member who left the emailed part does not make the restart skip anyone', async () => {
    const { members, runId } = await setup('bbbbbbbb')
    await crashAt(members[8].userId) // the first member of the third batch
    await expect(runNotification(runId, new Date(), { batchSize: BATCH })).rejects.toThrow('simulated crash')
    await recover()
    expect((await runRow(runId)).done).toBe(8)
    expect(Object.keys(await emailsPerAddress(runId)).sort()).toEqual(members.slice(0, 8).map((m) => m.email).sort())

    // The last member of the last committed batch leaves before the restart.
    await db.delete(schema.memberships).where(eq(schema.memberships.id, members[7].membershipId))

    await runNotification(runId, new Date(), { batchSize: BATCH })
    expect(await emailsPerAddress(runId)).toEqual(Object.fromEntries(members.map((m) => [m.email, 1])))
    expect(await runRow(runId)).toMatchObject({ status: 'done', done: 12 })
  })

  it('after a crash, a member who joined ahead of the resume point does not make the restart email anyone twice', async () => {
    const { org, members, runId } = await setup('cccccccc')
    await crashAt(members[8].userId)
    await expect(runNotification(runId, new Date(), { batchSize: BATCH })).rejects.toThrow('simulated crash')
    await recover()
    expect((await runRow(runId)).done).toBe(8)

    // Someone joins whose membership id sorts before everyone already emailed, and someone after.
    const early = await createUser({ email: 'cccccccc-early@run.test' })
    await db.insert(schema.memberships).values({ id: mid('cccccccc', 1), userId: early.id, organizationId: org.id, role: 'member' })
    const late = await createUser({ email: 'cccccccc-late@run.test' })
    await db.insert(schema.memberships).values({ id: mid('cccccccc', 999), userId: late.id, organizationId: org.id, role: 'member' })

    await runNotification(runId, new Date(), { batchSize: BATCH })
    // Exactly what an uninterrupted run would have done: the keyset walk had already passed the
    // early joiner's place (not part of this run), and reaches the late one.
    expect(await emailsPerAddress(runId)).toEqual({ ...Object.fromEntries(members.map((m) => [m.email, 1])), 'cccccccc-late@run.test': 1 })
    expect(await runRow(runId)).toMatchObject({ status: 'done', done: 13 })
  })
})
