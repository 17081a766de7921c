/**
 * The members read model (decisions 076, 078) against its oracle, through the real database and its
 * triggers:
 * - a fast-check property: random sequences of the writes the read model depends on (factors added,
 *   confirmed, removed; policy mode, methods, grace, region added or dropped; exemptions added,
 *   removed or lapsed; extensions; memberships added, removed or re-dated; users renamed,
 *   re-addressed, turned into service accounts, moved to another region), and after EACH write every
 *   membership's stored columns, and the status and deadline they give now and later under the
 *   region's policy, equal what the source tables compute (`findMemberDrift`, over joinedStatus /
 *   joinedPendingDeadline), each status filter (joined, and with the policies bound as the members
 *   page binds them) and the overview's bound status select exactly the members shown with that
 *   status, and, once the sweep has rescheduled saved policies, next_reminder_at is
 *   the oracle's first reminder (decision 078);
 * - `gatehouse verify-members`: a row corrupted with the owner's connection (the app role cannot
 *   switch triggers off, and a corrupting write by the app role is not what the verb is for) is
 *   reported, by --dry-run with exit 1 and nothing written, then repaired and audited.
 * - the members list's count stops at 10,000 ("10,000+").
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { eq } from 'drizzle-orm'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { db, schema, sql } from '#db/client.ts'
import { findMemberDrift } from '#app/policy/members-read-model.server.ts'
import { rescheduleStalePolicies } from '#app/policy/grace-sweep.server.ts'
import { factorJoins, joinedAllowed, joinedDeadline, policiesOf, policyJoin, storedStatus, storedStatusIs, storedStatusIsUnder, storedStatusUnder } from '#app/policy/member-status.server.ts'
import { listMembers } from '#app/orgs/members.server.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'
import { connectAsOwner } from '#tests/setup/owner-db.ts'

const owner = connectAsOwner()
const DAY = 86_400_000
const REGIONS = ['us', 'eu'] as const
const METHOD_SETS = [['email', 'totp', 'webauthn'], ['totp', 'webauthn'], ['totp'], ['webauthn'], ['email']]

const orgs = await Promise.all([createOrg({ slug: 'rm-a', regions: [] }), createOrg({ slug: 'rm-b', regions: [] })])
const users = await Promise.all(
  Array.from({ length: 4 }, (_, i) => createUser({ email: `rm${i}@rm.test`, name: `Member ${i}`, region: REGIONS[i % 2], kind: i === 3 ? 'service' : 'human', password: null })),
)

/** Every membership agrees with the oracle now, and at times when grace periods and exemptions will have run out. */
async function expectNoDrift(step: string) {
  for (const offset of [0, 8 * DAY, 40 * DAY, -40 * DAY]) {
    const report = await findMemberDrift({ now: new Date(Date.now() + offset), show: 3 })
    expect(report.first, `${step} (now ${offset >= 0 ? '+' : ''}${offset / DAY} days)`).toEqual([])
    expect(report.drifted).toBe(0)
    // Each status filter of the members page selects exactly the members shown with that status.
    const now = new Date(Date.now() + offset)
    for (const status of ['compliant', 'in_grace', 'overdue', 'exempt'] as const) {
      const [counts] = await sql<{ filtered: number; shown: number }[]>`
        select count(*) filter (where ${storedStatusIs(status, now)})::int as filtered, count(*) filter (where ${storedStatus(now)} = ${status})::int as shown
        from memberships m ${policyJoin}`
      expect(counts.filtered, `${step}: filter ${status}`).toBe(counts.shown)
      // The same with each organization's policies bound as values, as the members page filters (decision 085).
      for (const o of orgs) {
        const policies = await policiesOf(o.id)
        const [bound] = await sql<{ filtered: number; charted: number; shown: number }[]>`
          select count(*) filter (where ${storedStatusIsUnder(status, now, policies)})::int as filtered,
            count(*) filter (where ${storedStatusUnder(now, policies)} = ${status})::int as charted,
            count(*) filter (where ${storedStatus(now)} = ${status})::int as shown
          from memberships m ${policyJoin} where m.organization_id = ${o.id}`
        expect(bound.filtered, `${step}: filter ${status} under ${o.slug}'s bound policies`).toBe(bound.shown)
        expect(bound.charted, `${step}: overview's ${status} under ${o.slug}'s bound policies`).toBe(bound.shown)
      }
      // The pages are the same whether a status's few matches are sorted alone or found by walking
      // the sort's index: one member a page, forward by `next` to the end, then one page back by `prev`.
      if (offset === 0) {
        for (const o of orgs) {
          const q = { status, sort: 'name' as const, dir: 'desc' as const, pageSize: 1 }
          const viaIndex = { fewMatches: 0 }
          let [alone, walked] = await Promise.all([listMembers(orgScope(o), q, now), listMembers(orgScope(o), q, now, viaIndex)])
          expect(alone, `${step}: ${status} first page in ${o.slug}`).toEqual(walked)
          while (alone.next) {
            const previous = alone
            ;[alone, walked] = await Promise.all([listMembers(orgScope(o), { ...q, after: alone.next }, now), listMembers(orgScope(o), { ...q, after: walked.next! }, now, viaIndex)])
            expect(alone, `${step}: ${status} next page in ${o.slug}`).toEqual(walked)
            expect((await listMembers(orgScope(o), { ...q, before: alone.prev! }, now)).rows, `${step}: ${status} page back in ${o.slug}`).toEqual(previous.rows)
          }
        }
      }
    }
  }
  await expectRemindersScheduled(step)
}

/**
 * The grace sweep's schedule (decisions 077, 078): once the sweep has rescheduled the policies saved
 * since its last run, every membership's next reminder (membership_reminders, decision 082) is the first threshold the oracle gives
 * (7 days before the deadline, or the exemption's end when later; no row when nothing is owed). A
 * membership's own writes schedule it by trigger; a policy save leaves it to the sweep. Without a
 * policy row any moment will do (see below).
 */
async function expectRemindersScheduled(step: string) {
  await rescheduleStalePolicies()
  const wrong = await sql<{ id: string; stored: string | null; expected: string | null }[]>`
    select m.id, r.next_reminder_at as stored, c.expected from memberships m
    left join membership_reminders r on r.membership_id = m.id
    join users u on u.id = m.user_id
    left join region_policies p on p.organization_id = m.organization_id and p.region = u.region
    ${factorJoins}
    cross join lateral (select case when p.mode = 'required' and not coalesce(${joinedAllowed}, true)
      then greatest(${joinedDeadline} - interval '7 days', case when u.kind = 'service' and e.id is not null then coalesce(e.expires_at, 'infinity') end) end as expected) c
    where r.next_reminder_at is distinct from c.expected
      -- A dropped policy leaves its members' moments as they were: early, so the sweep claims each
      -- once, finds nothing owed and clears it (a delete writes no membership row either).
      and not (p.organization_id is null and c.expected is null)`
  expect(wrong, `${step}: next_reminder_at`).toEqual([])
  expect(await sql`select 1 from region_policies where reminders_stale`).toHaveLength(0)
}

const user = fc.integer({ min: 0, max: users.length - 1 }).map((i) => users[i].id)
const org = fc.integer({ min: 0, max: orgs.length - 1 }).map((i) => orgs[i].id)
const region = fc.constantFrom(...REGIONS)
const days = fc.integer({ min: -45, max: 45 })
const at = (d: number) => new Date(Date.now() + d * DAY).toISOString()

/** A policy: mostly Required, so that most members owe a factor and deadlines matter. */
const policy = fc.record({
  mode: fc.constantFrom('required', 'required', 'optional', 'disabled'),
  methods: fc.constantFrom(...METHOD_SETS),
  grace: fc.integer({ min: 0, max: 30 }),
  since: fc.option(days),
})
type Policy = typeof policy extends fc.Arbitrary<infer P> ? P : never
const setPolicy = (o: string, r: string, p: Policy) => sql`
  insert into region_policies (organization_id, region, mode, allowed_methods, grace_period_days, required_since)
  values (${o}, ${r}, ${p.mode}, ${p.methods}, ${p.grace}, ${p.since === null ? null : at(p.since)})
  on conflict (organization_id, region) do update set mode = excluded.mode, allowed_methods = excluded.allowed_methods,
    grace_period_days = excluded.grace_period_days, required_since = excluded.required_since`

type Write = { name: string; run: () => Promise<unknown> }
const write = (name: string, run: () => Promise<unknown>): Write => ({ name, run })

// Writes with more cases (policy, exemption, extension) come up more often: weight 4.
const HEAVY = new WeakSet<fc.Arbitrary<Write>>()
const heavy = (arb: fc.Arbitrary<Write>) => (HEAVY.add(arb), arb)
const writes: fc.Arbitrary<Write>[] = [
  fc.tuple(user, fc.boolean()).map(([u, confirmed]) => write(`add app ${u} confirmed=${confirmed}`, () => sql`
    insert into totp_factors (user_id, secret_ciphertext, key_id, confirmed_at) values (${u}, 'x', 't1', case when ${confirmed} then now() end)
    on conflict (user_id) do nothing`)),
  user.map((u) => write(`confirm app ${u}`, () => sql`update totp_factors set confirmed_at = now() where user_id = ${u} and confirmed_at is null`)),
  user.map((u) => write(`unconfirm app ${u}`, () => sql`update totp_factors set confirmed_at = null where user_id = ${u}`)),
  user.map((u) => write(`use app ${u}`, () => sql`update totp_factors set last_used_step = coalesce(last_used_step, 0) + 1, last_used_at = now() where user_id = ${u}`)),
  user.map((u) => write(`remove app ${u}`, () => sql`delete from totp_factors where user_id = ${u}`)),
  user.map((u) => write(`add key ${u}`, () => sql`insert into webauthn_credentials (user_id, credential_id, public_key, label) values (${u}, ${`c${Math.random()}`}, 'pk', 'Key')`)),
  user.map((u) => write(`remove a key ${u}`, () => sql`delete from webauthn_credentials where id = (select id from webauthn_credentials where user_id = ${u} limit 1)`)),
  heavy(fc.tuple(org, region, policy).map(([o, r, p]) => write(`policy ${o} ${r} ${JSON.stringify(p)}`, () => setPolicy(o, r, p)))),
  fc.tuple(org, region).map(([o, r]) => write(`remember-device only ${o} ${r}`, () => sql`update region_policies set remember_device_days = remember_device_days + 1, updated_at = now() where organization_id = ${o} and region = ${r}`)),
  fc.tuple(org, region).map(([o, r]) => write(`drop policy ${o} ${r}`, () => sql`delete from region_policies where organization_id = ${o} and region = ${r}`)),
  heavy(fc.tuple(org, user, fc.boolean(), fc.option(days)).map(([o, u, ownRegion, expires]) => write(`exempt ${u} in ${o} own region=${ownRegion} until ${expires}`, () => sql`
    insert into exemptions (organization_id, user_id, region, reason, expires_at)
    select ${o}, id, case when ${ownRegion} then region else 'jp' end, 'test', ${expires === null ? null : at(expires)} from users where id = ${u}
    on conflict (organization_id, user_id, region) do update set expires_at = excluded.expires_at`))),
  fc.tuple(org, user).map(([o, u]) => write(`exemption recorded as expired ${u} ${o}`, () => sql`update exemptions set expiry_recorded_at = now() where organization_id = ${o} and user_id = ${u}`)),
  fc.tuple(org, user).map(([o, u]) => write(`remove exemption ${u} ${o}`, () => sql`delete from exemptions where organization_id = ${o} and user_id = ${u}`)),
  heavy(fc.tuple(org, user, days).map(([o, u, d]) => write(`extend ${u} in ${o} to ${d}`, () => sql`
    insert into deadline_extensions (organization_id, user_id, region, deadline, reason)
    select ${o}, id, region, ${at(d)}, 'test' from users where id = ${u}
    on conflict (organization_id, user_id, region) do update set deadline = excluded.deadline`))),
  fc.tuple(org, user).map(([o, u]) => write(`remove extension ${u} ${o}`, () => sql`delete from deadline_extensions where organization_id = ${o} and user_id = ${u}`)),
  fc.tuple(org, user, days).map(([o, u, d]) => write(`join ${u} to ${o} at ${d}`, () => sql`
    insert into memberships (user_id, organization_id, joined_at) values (${u}, ${o}, ${at(Math.min(d, 0))}) on conflict (organization_id, user_id) do nothing`)),
  fc.tuple(org, user, days).map(([o, u, d]) => write(`re-date ${u} in ${o} to ${d}`, () => sql`update memberships set joined_at = ${at(Math.min(d, 0))} where organization_id = ${o} and user_id = ${u}`)),
  fc.tuple(org, user).map(([o, u]) => write(`remove ${u} from ${o}`, () => sql`delete from memberships where organization_id = ${o} and user_id = ${u}`)),
  fc.tuple(user, fc.string({ maxLength: 12 })).map(([u, name]) => write(`rename ${u}`, () => sql`update users set name = ${name} where id = ${u}`)),
  fc.tuple(user, fc.nat(1000)).map(([u, n]) => write(`re-address ${u}`, () => sql`update users set email = ${`moved${n}-${u.slice(0, 8)}@rm.test`} where id = ${u}`)),
  fc.tuple(user, fc.constantFrom('human', 'service')).map(([u, kind]) => write(`kind ${u} ${kind}`, () => sql`update users set kind = ${kind} where id = ${u}`)),
  fc.tuple(user, region).map(([u, r]) => write(`move ${u} to ${r}`, () => sql`update users set region = ${r} where id = ${u} and not exists (select 1 from users o where o.region = ${r} and o.email = users.email and o.id <> users.id)`)),
  user.map((u) => write(`sign-in bookkeeping ${u}`, () => sql`update users set last_sign_in_at = now(), failed_attempts = 0 where id = ${u}`)),
]

async function reset() {
  const ids = orgs.map((o) => o.id)
  await sql`delete from memberships where organization_id = any(${ids})`
  await sql`delete from region_policies where organization_id = any(${ids})`
  await sql`delete from exemptions where organization_id = any(${ids})`
  await sql`delete from deadline_extensions where organization_id = any(${ids})`
  await sql`delete from totp_factors`
  await sql`delete from webauthn_credentials`
  // The property's writes rename, re-address, re-kind and move users: put them back as created,
  // so that the tests after it find the users they name.
  for (const [i, u] of users.entries()) {
    await sql`update users set name = ${`Member ${i}`}, email = ${`rm${i}@rm.test`}, region = ${u.region}, kind = ${u.kind} where id = ${u.id}`
  }
}

describe('members read model', () => {
  it('equals the status computed from the source tables after every write of a random sequence', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(policy, { freq: 4 }), { minLength: 4, maxLength: 4 }), fc.array(fc.oneof(...writes.map((arbitrary) => ({ arbitrary, weight: HEAVY.has(arbitrary) ? 4 : 1 }))), { minLength: 1, maxLength: 20 }), async (policies, sequence) => {
        await reset()
        // A random policy (or none) per organization and region; everyone in both organizations, so
        // that most writes touch a membership.
        for (const [i, p] of policies.entries()) if (p) await setPolicy(orgs[i % 2].id, REGIONS[i >> 1], p)
        for (const o of orgs) for (const u of users) await sql`insert into memberships (user_id, organization_id, joined_at) values (${u.id}, ${o.id}, ${at(-3)})`
        await expectNoDrift('start')
        for (const [i, w] of sequence.entries()) {
          await w.run()
          await expectNoDrift(`after write ${i + 1}: ${w.name}`)
        }
      }),
      { numRuns: 60 },
    )
  }, 600_000)

  it('writes in one transaction with the change: a rolled-back factor leaves the read model as it was', async () => {
    await reset()
    const [o] = orgs
    await sql`insert into region_policies (organization_id, region, mode, allowed_methods, grace_period_days, required_since) values (${o.id}, ${users[0].region}, 'required', '{totp}', 7, now())`
    await sql`insert into memberships (user_id, organization_id) values (${users[0].id}, ${o.id})`
    await expect(
      db.transaction(async (tx) => {
        await tx.insert(schema.totpFactors).values({ userId: users[0].id, secretCiphertext: 'x', keyId: 't1', confirmedAt: new Date() })
        const [inside] = await tx.select({ hasTotp: schema.memberships.hasTotp, next: schema.membershipReminders.nextReminderAt }).from(schema.memberships)
          .leftJoin(schema.membershipReminders, eq(schema.membershipReminders.membershipId, schema.memberships.id)).where(eq(schema.memberships.userId, users[0].id))
        expect(inside).toEqual({ hasTotp: true, next: null })
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    const [after] = await sql<{ has_totp: boolean; next: Date | null }[]>`select m.has_totp, r.next_reminder_at as next from memberships m left join membership_reminders r on r.membership_id = m.id
      where m.user_id = ${users[0].id} and m.organization_id = ${o.id}`
    expect(after.has_totp).toBe(false)
    expect(after.next).not.toBeNull()
  })
})

const run = promisify(execFile)
async function verifyMembersCli(...args: string[]) {
  try {
    const { stdout } = await run(process.execPath, ['cli/bin.js', 'verify-members', ...args], { env: process.env, timeout: 60_000 })
    return { code: 0, stdout }
  } catch (e) {
    const err = e as { code: number; stdout: string }
    return { code: err.code, stdout: err.stdout }
  }
}

describe('gatehouse verify-members', () => {
  it('reports a corrupted row (--dry-run: exit 1, nothing written), then repairs it, audited', async () => {
    await reset()
    const [o] = orgs
    await sql`insert into region_policies (organization_id, region, mode, allowed_methods, grace_period_days, required_since) values (${o.id}, 'us', 'required', '{totp}', 7, now() - interval '30 days')`
    for (const u of users) await sql`insert into memberships (user_id, organization_id) values (${u.id}, ${o.id})`
    expect((await verifyMembersCli('--dry-run')).code).toBe(0)

    // The owner writes past the triggers' inputs: a member without a factor shown as holding one, another renamed.
    const victim = users.find((u) => u.region === 'us' && u.kind === 'human')!
    await owner`update memberships set has_totp = true where user_id = ${victim.id} and organization_id = ${o.id}`
    await owner`update memberships set user_name = 'Someone Else' where user_id = ${users[1].id} and organization_id = ${o.id}`
    const [membership] = await sql<{ id: string }[]>`select id from memberships where user_id = ${victim.id} and organization_id = ${o.id}`

    const dry = await verifyMembersCli('--dry-run', '--json')
    expect(dry.code).toBe(1)
    const report = JSON.parse(dry.stdout)
    expect(report).toMatchObject({ ok: false, dryRun: true, drifted: 2, repaired: 0, byOrganization: [{ organizationSlug: 'rm-a', drifted: 2 }] })
    expect(report.first).toContainEqual(expect.objectContaining({ membershipId: membership.id, fields: ['factors', 'status', 'pending_deadline'] }))
    expect(report.first).toContainEqual(expect.objectContaining({ userId: users[1].id, fields: ['user'] }))
    // Nothing was repaired or recorded.
    const [still] = await sql<{ has_totp: boolean }[]>`select has_totp from memberships where id = ${membership.id}`
    expect(still.has_totp).toBe(true)
    expect(await sql`select 1 from audit_events where action = 'platform.members_repaired'`).toHaveLength(0)

    const text = await verifyMembersCli('--dry-run')
    expect(text.stdout).toContain('rm-a: 2 membership(s) drifted')
    expect(text.stdout).toContain(`membership ${membership.id} (rm-a, user ${victim.id}): factors, status, pending_deadline`)

    const repair = await verifyMembersCli()
    expect(repair.code).toBe(0)
    expect(repair.stdout).toContain('Members read model drifted: 2 of 4 membership(s); repaired 2 row(s), now intact.')
    const [fixed] = await sql<{ has_totp: boolean }[]>`select has_totp from memberships where id = ${membership.id}`
    expect(fixed.has_totp).toBe(false)
    const [event] = await sql<{ actor_label: string; details: { drifted: number; repaired: number } }[]>`select actor_label, details from audit_events where action = 'platform.members_repaired'`
    expect(event).toMatchObject({ actor_label: 'cli', details: { drifted: 2, repaired: 2 } })
    expect(await verifyMembersCli('--dry-run')).toMatchObject({ code: 0, stdout: expect.stringContaining('Members read model intact: 4 membership(s) checked.') })
  }, 300_000)

  it('answers --help, and refuses a bad --show with a usage error', async () => {
    const help = await run(process.execPath, ['cli/bin.js', 'verify-members', '--help'], { env: process.env })
    expect(help.stdout).toContain('--dry-run')
    expect(help.stdout).toContain('platform.members_repaired')
    const bad = await verifyMembersCli('--show', 'lots')
    expect(bad.code).toBe(2)
  }, 120_000)
})

describe('members list count', () => {
  it('is exact up to 10,000 and "10,000 or more" beyond', async () => {
    const big = await createOrg({ slug: 'rm-big', regions: ['us'] })
    await sql`insert into users (region, email, name) select 'us', 'big' || g || '@rm.test', 'Big ' || g from generate_series(1, 10001) g`
    await sql`insert into memberships (user_id, organization_id) select id, ${big.id} from users where email like 'big%@rm.test' and id <> (select id from users where email = 'big1@rm.test')`
    const exact = await listMembers(orgScope(big), { pageSize: 5 })
    expect(exact).toMatchObject({ total: 10_000, totalExact: true })
    await sql`insert into memberships (user_id, organization_id) select id, ${big.id} from users where email = 'big1@rm.test'`
    const capped = await listMembers(orgScope(big), { pageSize: 5 })
    expect(capped).toMatchObject({ total: 10_000, totalExact: false })
    expect(capped.rows.map((r) => r.name)).toEqual(['Big 1', 'Big 10', 'Big 100', 'Big 1000', 'Big 10000'])
  }, 120_000)
})
