/**
 * Policy benchmarks on generated data (SQL generate_series):
 * - one grace sweep over 1,000,000 memberships (10 organizations x 100,000 members): seconds and
 *   peak memory, against a same-run `select count(*) from memberships` baseline;
 * - the members page of a 100,000-member organization: p50 and p95 time for a status-filtered,
 *   name-sorted page, both of the domain query the route runs and of the whole page over HTTP
 *   (guard, query, render) as an owner, timed after a few untimed pages (a fresh process renders its first pages cold), against a same-run
 *   `select count(*) from memberships where organization_id = ...` baseline.
 * - its overview page (compliance per region, the next deadlines) over HTTP;
 * - a policy change on that organization's 100,000-member region through the real policy page:
 *   "Review changes" (the impact preview) and "Save" with the review's token, over HTTP, and the
 *   review's domain function alone.
 * About 3% of members are due for a reminder and 1% past their deadline, so the sweep also writes.
 * BENCH_MEMBERS (members per organization, default 100,000) makes a smaller run; the size is printed.
 */
import postgres from 'postgres'
import type { RegionPolicyInput } from '#app/policy/policy.schema.ts'
import { quantile, under, type Bench } from './bench-types.ts'

const ORGS = 10
const PER_ORG = Number(process.env.BENCH_MEMBERS ?? process.env.BENCH_POLICY_PER_ORG ?? 100_000)
const POLICY_CHANGES = Number(process.env.BENCH_POLICY_CHANGES ?? 10)
/** Members pages timed over HTTP, after the first few (shown apart: a fresh process renders them cold). */
const HTTP_PAGES = 100
const HTTP_WARMUP = 5
const OVERVIEW_PAGES = 30

export const bench: Bench = {
  name: 'policy',
  async run({ base }) {
    const { sql: pg } = await import('#db/client.ts')
    const { createSession } = await import('#app/auth/session.server.ts')
    const { sweepGrace } = await import('#app/policy/grace-sweep.server.ts')
    const { listMembers } = await import('#app/orgs/members.server.ts')
    const { orgScope } = await import('#app/orgs/scope.server.ts')
    const { reviewPolicyChange } = await import('#app/policy/region-policy.server.ts')
    const total = ORGS * PER_ORG
    const t0 = performance.now()
    const steps: string[] = []
    await pg`insert into organizations (slug, name) select 'bench-org-' || o, 'Bench org ' || o from generate_series(1, ${ORGS}::int) o`
    await pg`insert into region_policies (organization_id, region, mode, allowed_methods, grace_period_days, required_since)
      select id, 'us', 'required', '{totp,webauthn}', 30, now() - interval '30 days' from organizations where slug like 'bench-org-%'`
    const step = (name: string, t: number) => steps.push(`${name} ${((performance.now() - t) / 1000).toFixed(1)} s`)
    let t1 = performance.now()
    await pg`insert into users (region, email, name) select 'us', 'pb' || g || '@bench.test', 'Member ' || lpad((g::bigint * 7919 % ${total}::bigint)::text, 7, '0') from generate_series(1, ${total}::int) g`
    step('users', t1)
    // A third have an authenticator app: inserted before the memberships, so that its trigger's
    // refresh finds none to update and each membership's insert trigger reads has_totp once.
    t1 = performance.now()
    await pg`insert into totp_factors (user_id, secret_ciphertext, key_id, confirmed_at)
      select id, 'x', 'b1', now() from users where email like 'pb%@bench.test' and (substr(email, 3)::text ~ '^[0-9]*[0369]@')`
    step('factors', t1)
    t1 = performance.now()
    // joined_at spreads deadlines (joined + 30 days): ~1% past, ~3% within 7 days, the rest later.
    // The read model's insert triggers cost about 0.1 ms a row and the ten indexes more (about five
    // minutes for a million rows on 2 cores), so the seed writes what those triggers would write in
    // one set-based statement, as the owner with triggers off and the indexes built afterwards,
    // then checks the big organization against the oracle (findMemberDrift) below.
    const ownerDb = postgres(process.env.DATABASE_OWNER_URL!, { max: 1, onnotice: () => {} })
    const indexes = await ownerDb<{ name: string; def: string }[]>`
      select i.indexname as name, i.indexdef as def from pg_indexes i
      where i.tablename = 'memberships' and i.indexname not in (select conname from pg_constraint where conrelid = 'memberships'::regclass)`
    for (const i of indexes) await ownerDb.unsafe(`drop index ${i.name}`)
    await ownerDb.begin(async (tx) => {
      await tx`set local session_replication_role = replica`
      await tx`
        insert into memberships (user_id, organization_id, joined_at, user_name, user_email, user_kind, user_region, has_totp, has_key)
        select f.id, f.org_id, f.joined_at, f.name, f.email, f.kind, f.region, f.has_totp, false
        from (
          select u.id, o.id as org_id, u.name, u.email, u.kind, u.region, t.user_id is not null as has_totp,
            now() - make_interval(days => case when n % 100 = 0 then 40 when n % 100 < 4 then 25 else (n % 20) end::int) as joined_at
          from (select id, name, email, kind, region, row_number() over (order by id) - 1 as n from users where email like 'pb%@bench.test') u
          join (select id, row_number() over (order by id) - 1 as k from organizations where slug like 'bench-org-%') o on o.k = u.n % ${ORGS}::bigint
          left join totp_factors t on t.user_id = u.id and t.confirmed_at is not null
        ) f`
      // Each member's first reminder, as the membership trigger schedules it (decision 082).
      await tx`
        insert into membership_reminders (membership_id, next_reminder_at)
        select s.id, s.next from (
          select m.id, member_next_reminder(member_deadline(p.mode, p.required_since, p.grace_period_days, m.joined_at, m.extension_deadline),
            member_allowed_factor(p.allowed_methods, m.has_totp, m.has_key), m.exempt_until) as next
          from memberships m join region_policies p on p.organization_id = m.organization_id and p.region = m.user_region
        ) s where s.next is not null`
    })
    step('memberships', t1)
    t1 = performance.now()
    for (const i of indexes) await ownerDb.unsafe(i.def)
    await ownerDb.end()
    step('their indexes', t1)
    // The policies were inserted before any membership, whose insert trigger scheduled its reminder
    // under them: nothing for the sweep to reschedule (decision 078).
    await pg`update region_policies set reminders_stale = false where organization_id in (select id from organizations where slug like 'bench-org-%')`
    // A table loaded long ago has been vacuumed (its visibility map set, so index-only scans read
    // no heap page) and analyzed; the bulk load here has not. As the owner: the application role
    // owns no table, and its VACUUM or ANALYZE would skip them all with a warning.
    const ownerVacuum = postgres(process.env.DATABASE_OWNER_URL!, { max: 1, onnotice: () => {} })
    await ownerVacuum`vacuum (analyze) memberships, membership_reminders, users, totp_factors, region_policies, organizations`
    await ownerVacuum.end()
    const setupSeconds = (performance.now() - t0) / 1000
    const [big] = await pg<{ id: string }[]>`select id from organizations where slug = 'bench-org-1'`
    // The seed bypassed the triggers: the big organization must read exactly as the triggers would have written it.
    const { findMemberDrift } = await import('#app/policy/members-read-model.server.ts')
    const drift = await findMemberDrift({ organizationId: big.id, show: 3 })
    if (drift.drifted) throw new Error(`bench seed drifted from the oracle: ${JSON.stringify(drift.first)}`)
    const [wrongReminders] = await pg<{ n: number }[]>`
      select count(*)::int as n from memberships m left join region_policies p on p.organization_id = m.organization_id and p.region = m.user_region
      left join membership_reminders r on r.membership_id = m.id
      where m.organization_id = ${big.id} and r.next_reminder_at is distinct from member_next_reminder(
        member_deadline(p.mode, p.required_since, p.grace_period_days, m.joined_at, m.extension_deadline), member_allowed_factor(p.allowed_methods, m.has_totp, m.has_key), m.exempt_until)`
    if (wrongReminders.n) throw new Error(`bench seed: ${wrongReminders.n} reminders not as the trigger schedules them`)

    // Baseline: a plain count over the same table.
    const b0 = performance.now()
    await pg`select count(*) from memberships`
    const countMs = performance.now() - b0

    // Peak memory of the sweep: resident set sampled every 20 ms, and the kernel's high-water mark
    // (maxRSS covers the whole process life, so it counts only when the sweep raises it).
    const maxRssBefore = process.resourceUsage().maxRSS * 1024
    let peakRss = process.memoryUsage().rss
    let peakHeap = process.memoryUsage().heapUsed
    const startRss = peakRss
    const startHeap = peakHeap
    const sampler = setInterval(() => {
      const m = process.memoryUsage()
      peakRss = Math.max(peakRss, m.rss)
      peakHeap = Math.max(peakHeap, m.heapUsed)
    }, 20)
    const s0 = performance.now()
    // As the sweep-grace job runs it (its default batch size).
    const stats = await sweepGrace()
    const sweepMs = performance.now() - s0
    const r0 = performance.now()
    const rerun = await sweepGrace()
    const rerunMs = performance.now() - r0
    clearInterval(sampler)
    const maxRssAfter = process.resourceUsage().maxRSS * 1024
    peakRss = Math.max(peakRss, maxRssAfter > maxRssBefore ? maxRssAfter : 0)

    // Members page of one 100,000-member organization.
    const scope = orgScope(big)
    const c0 = performance.now()
    await pg`select count(*) from memberships where organization_id = ${big.id}`
    const orgCountMs = performance.now() - c0
    const times: number[] = []
    let matched = 0
    for (let i = 0; i < 30; i++) {
      const q = { status: 'in_grace' as const, sort: 'name' as const, dir: 'asc' as const, page: 1 + (i % 5), pageSize: 50 }
      const p0 = performance.now()
      const page = await listMembers(scope, q)
      times.push(performance.now() - p0)
      matched = page.total
    }
    const p50 = quantile(times, 0.5)
    const p95 = quantile(times, 0.95)
    // Every other status filter too, 10 pages each: a filter no index serves reads the whole organization.
    const otherFilters: string[] = []
    for (const status of ['compliant', 'overdue', 'exempt'] as const) {
      const ts: number[] = []
      for (let i = 0; i < 10; i++) {
        const p0 = performance.now()
        await listMembers(scope, { status, sort: 'name', dir: 'asc', page: 1 + (i % 5), pageSize: 50 })
        ts.push(performance.now() - p0)
      }
      otherFilters.push(`${status} ${quantile(ts, 0.95).toFixed(0)} ms`)
    }
    // And the one sort no index serves: by status, unfiltered.
    const statusSortTimes: number[] = []
    for (let i = 0; i < 10; i++) {
      const p0 = performance.now()
      await listMembers(scope, { sort: 'status', dir: 'asc', page: 1 + (i % 5), pageSize: 50 })
      statusSortTimes.push(performance.now() - p0)
    }
    otherFilters.push(`no filter sorted by status ${quantile(statusSortTimes, 0.95).toFixed(0)} ms`)

    // The same page over HTTP, as the organization's owner (a session made directly: the sign-in is measured elsewhere).
    const [owner] = await pg<{ id: string }[]>`insert into users (region, email, name) values ('us', 'bench-owner@bench.test', 'Bench Owner') returning id`
    await pg`insert into memberships (user_id, organization_id, role) values (${owner.id}, ${big.id}, 'owner')`
    const ownerSession = () => createSession({ userId: owner.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'bench' }, secondFactorMethod: 'totp' })
    let { token } = await ownerSession()
    // The first pages a process renders run cold (V8 compiles the render path as it goes: the first
    // took 120-170 ms, the next few 60-90, against about 40 once warm). Those are shown apart, and the
    // p50/p95 are of the pages after them, as a server that has been up a while answers.
    const pageTime = async (i: number) => {
      const h0 = performance.now()
      const res = await fetch(`${base}/orgs/bench-org-1/members?status=in_grace&sort=name&dir=asc&page=${1 + (i % 5)}`, { headers: { cookie: `gh_session=${token}` }, redirect: 'manual' })
      const html = await res.text()
      if (res.status !== 200 || !html.includes('pb')) throw new Error(`members page answered ${res.status}`)
      return performance.now() - h0
    }
    const coldTimes: number[] = []
    for (let i = 0; i < HTTP_WARMUP; i++) coldTimes.push(await pageTime(i))
    const httpTimes: number[] = []
    for (let i = 0; i < HTTP_PAGES; i++) httpTimes.push(await pageTime(i))
    // The organization's overview (compliance per region and the next deadlines), an admin's first page.
    const overviewTimes: number[] = []
    for (let i = 0; i < HTTP_WARMUP + OVERVIEW_PAGES; i++) {
      const h0 = performance.now()
      const res = await fetch(`${base}/orgs/bench-org-1`, { headers: { cookie: `gh_session=${token}` }, redirect: 'manual' })
      const html = await res.text()
      if (res.status !== 200 || !html.includes('Member ')) throw new Error(`overview answered ${res.status}`)
      if (i >= HTTP_WARMUP) overviewTimes.push(performance.now() - h0)
    }

    // A policy change on the organization's region (all its members are in 'us'), through the policy
    // page as a browser without JavaScript posts it: "Review changes", then "Save" with the review's
    // token. The grace period moves 30 → 29 → 30 ...: every other save lowers protection, which needs
    // a second factor within the last minutes, so the session is fresh.
    ;({ token } = await ownerSession())
    const [stored] = await pg<{ on_deadline: string; remember_device_days: number; grace_period_days: number }[]>`
      select on_deadline, remember_device_days, grace_period_days from region_policies where organization_id = ${big.id} and region = 'us'`
    const policyUrl = `${base}/orgs/bench-org-1/policy`
    const post = (fields: [string, string][]) =>
      fetch(policyUrl, {
        method: 'POST',
        headers: { origin: base, cookie: `gh_session=${token}`, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(fields),
        redirect: 'manual',
      })
    const proposal = (grace: number): RegionPolicyInput => ({
      mode: 'required', allowedMethods: ['totp', 'webauthn'], gracePeriodDays: grace, onDeadline: stored.on_deadline as RegionPolicyInput['onDeadline'], rememberDeviceDays: stored.remember_device_days,
    })
    const reviewTimes: number[] = []
    const saveTimes: number[] = []
    let impactSummary = ''
    for (let i = 0; i < POLICY_CHANGES; i++) {
      const p = proposal(i % 2 ? stored.grace_period_days : stored.grace_period_days - 1)
      const fields: [string, string][] = [
        ['region', 'us'], ['mode', p.mode], ...p.allowedMethods.map((m): [string, string] => ['allowedMethods', m]),
        ['gracePeriodDays', String(p.gracePeriodDays)], ['onDeadline', p.onDeadline], ['rememberDeviceDays', String(p.rememberDeviceDays)],
      ]
      const v0 = performance.now()
      const review = await post([...fields, ['intent', 'preview']])
      const html = await review.text()
      reviewTimes.push(performance.now() - v0)
      const reviewToken = /name="reviewToken" value="([^"]+)"/.exec(html)?.[1]
      if (review.status !== 200 || !reviewToken) throw new Error(`policy review answered ${review.status} without a review token`)
      const w0 = performance.now()
      const save = await post([...fields, ['intent', 'save'], ['reviewToken', reviewToken]])
      await save.arrayBuffer()
      saveTimes.push(performance.now() - w0)
      if (save.status !== 302 || !save.headers.get('location')?.includes('saved=us')) throw new Error(`policy save answered ${save.status} (${save.headers.get('location')})`)
    }
    // The review's domain function alone (one impact query over the region's members), for comparison.
    const domainTimes: number[] = []
    for (let i = 0; i < Math.min(3, POLICY_CHANGES); i++) {
      const d0 = performance.now()
      const review = await reviewPolicyChange(big.id, 'us', proposal(stored.grace_period_days - 1 - (i % 2)), owner.id)
      domainTimes.push(performance.now() - d0)
      impactSummary = `${review?.impact.members.toLocaleString('en-US')} members reviewed`
    }

    // The saves wrote no membership row; the next grace sweep reschedules the region's reminders (decision 078).
    const { rescheduleStalePolicies } = await import('#app/policy/grace-sweep.server.ts')
    const rs0 = performance.now()
    const rescheduled = await rescheduleStalePolicies()
    const rescheduleMs = performance.now() - rs0

    const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`
    const members = PER_ORG.toLocaleString('en-US')
    const httpP95 = quantile(httpTimes, 0.95)
    return [
      { measure: 'policy data setup (SQL generate_series)', now: `${total.toLocaleString('en-US')} memberships in ${setupSeconds.toFixed(1)} s (${steps.join(', ')})` },
      { measure: `members page, ${members}-member org: query p50`, now: `${p50.toFixed(0)} ms (${(p50 / orgCountMs).toFixed(1)}x org count(*) ${orgCountMs.toFixed(0)} ms)` },
      { measure: `members page, ${members}-member org: query p95`, now: `${p95.toFixed(0)} ms (status=in_grace, sort=name, ${matched} match)`, ...under(p95, 100) },
      { measure: `members page, ${members}-member org: query p95, the other status filters and the status sort`, now: otherFilters.join(', ') },
      { measure: `members page, ${members}-member org: whole page over HTTP p95`, now: `${httpP95.toFixed(0)} ms (p50 ${quantile(httpTimes, 0.5).toFixed(0)} ms, ${HTTP_PAGES} pages after ${HTTP_WARMUP} untimed: ${coldTimes.map((t) => t.toFixed(0)).join(', ')} ms)`, ...under(httpP95, 150) },
      { measure: `organization overview, ${members} members: whole page over HTTP p95`, now: `${quantile(overviewTimes, 0.95).toFixed(0)} ms (p50 ${quantile(overviewTimes, 0.5).toFixed(0)} ms, ${OVERVIEW_PAGES} pages after ${HTTP_WARMUP} untimed)` },
      { measure: `grace sweep over ${total.toLocaleString('en-US')} memberships`, now: `${(sweepMs / 1000).toFixed(1)} s (${(sweepMs / countMs).toFixed(0)}x count(*) ${countMs.toFixed(0)} ms; ${stats.reminders} reminders, ${stats.expired} expired)`, ...under(sweepMs, 8000, 's') },
      { measure: 'grace sweep, no-op rerun', now: `${(rerunMs / 1000).toFixed(1)} s (${rerun.reminders} reminders, ${rerun.expired} expired)`, ...under(rerunMs, 2000, 's') },
      {
        measure: 'grace sweep and rerun: peak memory',
        now: `rss ${mb(peakRss)} (+${mb(peakRss - startRss)} over ${mb(startRss)}), heap +${mb(peakHeap - startHeap)}`,
        // "Flat memory": read here as the resident set rising by under 64 MB while the sweep runs.
        goal: 'flat (rss +64 MB at most)',
        met: peakRss - startRss <= 64 * 1048576 ? 'yes' : 'no',
      },
      { measure: `policy change, ${members}-member region: review (impact) over HTTP p95`, now: `${quantile(reviewTimes, 0.95).toFixed(0)} ms (p50 ${quantile(reviewTimes, 0.5).toFixed(0)} ms, ${POLICY_CHANGES} reviews)`, ...under(quantile(reviewTimes, 0.95), 300) },
      { measure: `policy change, ${members}-member region: save over HTTP p95`, now: `${quantile(saveTimes, 0.95).toFixed(0)} ms (p50 ${quantile(saveTimes, 0.5).toFixed(0)} ms, ${POLICY_CHANGES} saves)`, ...under(quantile(saveTimes, 0.95), 300) },
      { measure: `policy change, ${members}-member region: the next sweep's reschedule`, now: `${rescheduleMs.toFixed(0)} ms (${rescheduled.toLocaleString('en-US')} reminders moved; in the worker, not the save)` },
      { measure: 'policy change: review domain function alone p50', now: `${quantile(domainTimes, 0.5).toFixed(0)} ms (${impactSummary}, ${domainTimes.length} runs)` },
    ]
  },
}
