/**
 * The grace sweep against real PostgreSQL, Redis and SMTP: reminders 7, 3 and 1 days before the
 * deadline and policy.grace_expired after it, each once, even when the sweep runs twice (or twice
 * at the same time) or dies between committing a batch and enqueuing its mail.
 */
import { and, eq, inArray, sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { db, schema } from '#db/client.ts'
import { scheduleSweeps, startWorkers, type WorkerHandle } from '#workers/start.ts'
import { sweepGrace } from '#app/policy/grace-sweep.server.ts'
import { expireExemptions } from '#app/policy/exemption-expiry.server.ts'
import { pruneAudit } from '#app/audit/retention.server.ts'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { testSmtp } from '#tests/setup/app.ts'

const DAY = 86_400_000
const ago = (days: number) => new Date(Date.now() - days * DAY)
let workers: WorkerHandle
beforeAll(async () => {
  workers = await startWorkers({ schedule: false })
})
afterAll(async () => {
  await workers?.close()
})

/** A member whose deadline is `daysLeft` from now under a policy required since `requiredDaysAgo`. */
async function memberDue(org: { id: string }, daysLeft: number, extra: Parameters<typeof createUser>[0] = {}) {
  const user = await createUser({ org, ...extra })
  await db.update(schema.memberships).set({ joinedAt: ago(7 - daysLeft) }).where(eq(schema.memberships.userId, user.id))
  return user
}

async function requireAppOnly(orgId: string, since: Date) {
  await db.update(schema.regionPolicies).set({ mode: 'required', allowedMethods: ['totp', 'webauthn'], requiredSince: since, gracePeriodDays: 7 }).where(eq(schema.regionPolicies.organizationId, orgId))
}

describe('grace sweep', () => {
  it('reminds at 7, 3 and 1 days and records grace_expired, once each, however often it runs', async () => {
    const org = await createOrg({ name: 'Sweepco' })
    await requireAppOnly(org.id, ago(30))
    // Deadline = max(required_since, joined_at) + 7 days; joined_at sets each member's deadline.
    const in6 = await memberDue(org, 6.5)
    const in2 = await memberDue(org, 2.5)
    const inHalf = await memberDue(org, 0.5)
    const past = await memberDue(org, -1)
    const far = await memberDue(org, 7 + 20) // deadline 27 days away: nothing yet
    const compliant = await memberDue(org, 2)
    await db.insert(schema.totpFactors).values({ userId: compliant.id, secretCiphertext: 'x', keyId: 't1', confirmedAt: new Date() })
    const bot = await memberDue(org, 2, { kind: 'service' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI' })

    const since = Date.now()
    const first = await sweepGrace({ batchSize: 2 })
    // Twice more, two of them at the same time.
    const [second, third] = await Promise.all([sweepGrace({ batchSize: 3 }), sweepGrace()])
    expect(first.reminders).toBe(3)
    expect(first.expired).toBe(1)
    expect(second.reminders + third.reminders + second.expired + third.expired).toBe(0)

    const keys = await db.select().from(schema.graceReminders).where(eq(schema.graceReminders.organizationId, org.id))
    const offsets = Object.fromEntries(keys.map((k) => [k.userId, k.offsetDays]))
    expect(offsets).toEqual({ [in6.id]: 7, [in2.id]: 3, [inHalf.id]: 1, [past.id]: 0 })
    void far

    const expired = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'policy.grace_expired'), eq(schema.auditEvents.subjectId, past.id)))
    expect(expired).toHaveLength(1)
    expect(expired[0].organizationId).toBe(org.id)

    const smtp = testSmtp()
    const mail = await smtp.waitFor(in2.email, { subject: /Set up two-factor authentication by/, since })
    expect(mail.text).toContain('Sweepco')
    expect(mail.text).toContain('3 days left')
    await smtp.waitFor(in6.email, { subject: /Set up two-factor/, since })
    await smtp.waitFor(inHalf.email, { subject: /Set up two-factor/, since })
    await new Promise((r) => setTimeout(r, 500))
    for (const u of [in6, in2, inHalf]) expect(smtp.received.filter((m) => m.to === u.email && m.receivedAt >= since)).toHaveLength(1)
    for (const u of [past, far, compliant, bot]) expect(smtp.received.filter((m) => m.to === u.email)).toHaveLength(0)

    // A moved deadline (an extension) reminds again; the same deadline never does.
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: in2.id, region: 'us', deadline: new Date(Date.now() + 2.5 * DAY + 3600_000), reason: 'travel' })
    expect((await sweepGrace()).reminders).toBe(1)
    expect((await sweepGrace()).reminders).toBe(0)
  })

  it('an extension earlier than the computed deadline neither reminds early nor expires the member', async () => {
    const org = await createOrg({ name: 'Staleco' })
    await requireAppOnly(org.id, ago(30))
    const fresh = await memberDue(org, 20) // joined recently: deadline 20 days away
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: fresh.id, region: 'us', deadline: ago(3), reason: 'an earlier period' })
    const soon = await memberDue(org, 10)
    await db.insert(schema.deadlineExtensions).values({ organizationId: org.id, userId: soon.id, region: 'us', deadline: new Date(Date.now() + 0.5 * DAY), reason: 'x' })
    await sweepGrace()
    const keys = await db.select().from(schema.graceReminders).where(eq(schema.graceReminders.organizationId, org.id))
    expect(keys).toHaveLength(0)
    const expired = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'policy.grace_expired'), eq(schema.auditEvents.organizationId, org.id)))
    expect(expired).toHaveLength(0)
  })

  it('a sweep that dies after committing a batch loses no reminder and sends none twice', async () => {
    const org = await createOrg({ name: 'Crashco' })
    await requireAppOnly(org.id, ago(30))
    const users = [] as { id: string; email: string }[]
    for (let i = 0; i < 5; i++) users.push(await memberDue(org, 2.5))
    const since = Date.now()
    // Dies right after the first batch commits, before its mail is enqueued.
    await expect(sweepGrace({ batchSize: 2, afterCommit: (_b, emails) => { if (emails.length) throw new Error('worker killed') } })).rejects.toThrow('worker killed')
    const stranded = await db.select().from(schema.outboundEmails).where(and(eq(schema.outboundEmails.template, 'grace_reminder'), eq(schema.outboundEmails.status, 'queued'), inArray(schema.outboundEmails.userId, users.map((u) => u.id))))
    expect(stranded.length).toBeGreaterThan(0)
    for (const row of stranded) expect(await getQueue(QUEUE.mail).getJob(row.id)).toBeUndefined()

    // The next sweep (a minute later: moved by data) recovers the stranded mail and does the rest.
    await db.update(schema.outboundEmails).set({ createdAt: sql`created_at - interval '2 minutes'` }).where(eq(schema.outboundEmails.status, 'queued'))
    const again = await sweepGrace({ batchSize: 2 })
    expect(again.recovered).toBeGreaterThanOrEqual(stranded.length)
    await sweepGrace()
    const smtp = testSmtp()
    for (const u of users) await smtp.waitFor(u.email, { subject: /Set up two-factor/, since })
    await new Promise((r) => setTimeout(r, 500))
    for (const u of users) expect(smtp.received.filter((m) => m.to === u.email && m.receivedAt >= since)).toHaveLength(1)
  })
})

describe('the grace sweep on the read model (decision 077)', () => {
  it('as time passes: each threshold once, nothing for a member who set up a factor, an exemption defers expiry, a rerun with nothing due claims nothing', async () => {
    const org = await createOrg({ name: 'Timeco' })
    await requireAppOnly(org.id, ago(30))
    const at = (days: number) => new Date(Date.now() + days * DAY)
    const later = await memberDue(org, 20)
    const fixes = await memberDue(org, 20)
    const bot = await memberDue(org, 20, { kind: 'service' })
    const until = at(25)
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'CI', expiresAt: until })
    const sent = async (userId: string) =>
      (await db.select().from(schema.graceReminders).where(and(eq(schema.graceReminders.organizationId, org.id), eq(schema.graceReminders.userId, userId)))).map((k) => k.offsetDays).sort()
    const nextOf = async (userId: string) =>
      (await db.select({ next: schema.membershipReminders.nextReminderAt }).from(schema.memberships)
        .leftJoin(schema.membershipReminders, eq(schema.membershipReminders.membershipId, schema.memberships.id))
        .where(and(eq(schema.memberships.organizationId, org.id), eq(schema.memberships.userId, userId))))[0].next

    await sweepGrace({ now: at(1) })
    expect(await sent(later.id)).toEqual([])
    await sweepGrace({ now: at(13.5) })
    expect(await sent(later.id)).toEqual([7])
    expect(await sent(fixes.id)).toEqual([7])
    // A factor the policy allows: nothing owed, nothing due.
    await db.insert(schema.totpFactors).values({ userId: fixes.id, secretCiphertext: 'x', keyId: 't1', confirmedAt: new Date() })
    expect(await nextOf(fixes.id)).toBeNull()
    await sweepGrace({ now: at(17.5) })
    await sweepGrace({ now: at(17.5) })
    expect(await sent(later.id)).toEqual([3, 7])
    await sweepGrace({ now: at(19.5) })
    await sweepGrace({ now: at(21) })
    expect(await sent(later.id)).toEqual([0, 1, 3, 7])
    expect(await sent(fixes.id)).toEqual([7])
    // Exempt until day 25: no reminder and no expiry until the exemption lapses, then the expiry.
    expect(await sent(bot.id)).toEqual([])
    expect((await nextOf(bot.id))?.getTime()).toBe(until.getTime())
    await sweepGrace({ now: at(26) })
    expect(await sent(bot.id)).toEqual([0])
    const expired = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'policy.grace_expired'), eq(schema.auditEvents.organizationId, org.id)))
    expect(expired.map((e) => e.subjectId).sort()).toEqual([later.id, bot.id].sort())
    // Everything due is done: a rerun claims no membership at all.
    expect(await sweepGrace({ now: at(26) })).toMatchObject({ memberships: 0, reminders: 0, expired: 0 })
  })
})

describe('exemption expiry and audit retention', () => {
  it('records org.exemption_expired once per lapsed exemption', async () => {
    const org = await createOrg()
    const bot = await createUser({ org, kind: 'service' })
    await db.insert(schema.exemptions).values({ organizationId: org.id, userId: bot.id, region: 'us', reason: 'deploys', expiresAt: ago(0.1) })
    const n = await expireExemptions()
    expect(n).toBeGreaterThanOrEqual(1)
    expect(await expireExemptions()).toBe(0)
    const events = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.exemption_expired'), eq(schema.auditEvents.subjectId, bot.id)))
    expect(events).toHaveLength(1)
    expect(events[0].details).toMatchObject({ region: 'us', reason: 'deploys' })
  })

  it('two workers share the lapsed exemptions in batches (SKIP LOCKED): each recorded exactly once', async () => {
    const org = await createOrg()
    const bots = [] as { id: string }[]
    for (let i = 0; i < 12; i++) bots.push(await createUser({ org, kind: 'service' }))
    await db.insert(schema.exemptions).values(bots.map((b) => ({ organizationId: org.id, userId: b.id, region: 'us', reason: 'batch', expiresAt: ago(0.2) })))
    const [a, b] = await Promise.all([expireExemptions(new Date(), 2), expireExemptions(new Date(), 3)])
    expect(a + b).toBe(12)
    expect(await expireExemptions()).toBe(0)
    const events = await db.select().from(schema.auditEvents).where(and(eq(schema.auditEvents.action, 'org.exemption_expired'), eq(schema.auditEvents.organizationId, org.id)))
    expect(events.map((e) => e.subjectId).sort()).toEqual(bots.map((x) => x.id).sort())
  })

  it('prunes events older than the organization retention through audit_prune and leaves an anchor', async () => {
    const org = await createOrg()
    await db.update(schema.organizations).set({ auditRetentionDays: 30 }).where(eq(schema.organizations.id, org.id))
    await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: ago(40) })
    await db.insert(schema.auditEvents).values({ chain: org.id, organizationId: org.id, actorLabel: 'system', action: 'org.policy_changed', createdAt: ago(1) })
    await pruneAudit()
    const left = await db.select().from(schema.auditEvents).where(eq(schema.auditEvents.chain, org.id))
    expect(left).toHaveLength(1)
    const [anchor] = await db.select().from(schema.auditAnchors).where(eq(schema.auditAnchors.chain, org.id))
    expect(anchor.lastRemovedSeq).toBe(1)
  })
})

// The names Redis keeps for the schedulers: renaming one would leave the old scheduler running.
const SWEEP = { grace: 'sweep-grace', exemptions: 'expire-exemptions', retention: 'audit-retention' }

describe('scheduling', () => {
  it('installs the three sweeps with upsertJobScheduler (idempotently) and the worker runs them', async () => {
    await scheduleSweeps()
    await scheduleSweeps()
    const schedulers = await getQueue(QUEUE.sweeps).getJobSchedulers()
    expect(schedulers.map((s) => s.key).sort()).toEqual([SWEEP.retention, SWEEP.exemptions, SWEEP.grace].sort())
    const job = await getQueue(QUEUE.sweeps).add(SWEEP.exemptions, {})
    await expect.poll(async () => (await getQueue(QUEUE.sweeps).getJob(job.id!))?.getState(), { timeout: 10_000 }).toBe('completed')
    await Promise.all([SWEEP.grace, SWEEP.exemptions, SWEEP.retention].map((k) => getQueue(QUEUE.sweeps).removeJobScheduler(k)))
  })
})
