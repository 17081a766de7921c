/**
 * Policy benchmarks on generated data (SQL generate_series):
 * - one grace sweep over 1,000,000 memberships (10 organizations x 100,000 members): seconds and
 *   peak memory, against a same-run `select count(*) from memberships` baseline;
 * - the members page of a 100,000-member organization: p50 and p95 time for a status-filtered,
 *   name-sorted page, both of the domain query the route runs and of the whole page over HTTP
 *   (guard, query, render) as an owner, against a same-run
 *   `select count(*) from memberships where organization_id = ...` baseline.
 * About 3% of members are due for a reminder and 1% past their deadline, so the sweep also writes.
 */
import type { Bench } from './bench-types.ts'

const ORGS = 10
const PER_ORG = Number(process.env.BENCH_POLICY_PER_ORG ?? 100_000)

export const bench: Bench = {
  name: 'policy',
  async run({ base }) {
    const { sql: pg } = await import('#db/client.ts')
    const { createSession } = await import('#app/auth/session.server.ts')
    const { sweepGrace } = await import('#app/policy/grace-sweep.server.ts')
    const { listMembers } = await import('#app/orgs/members.server.ts')
    const { orgScope } = await import('#app/orgs/scope.server.ts')
    const total = ORGS * PER_ORG
    const t0 = performance.now()
    await pg`insert into organizations (slug, name) select 'bench-org-' || o, 'Bench org ' || o from generate_series(1, ${ORGS}::int) o`
    await pg`insert into region_policies (organization_id, region, mode, allowed_methods, grace_period_days, required_since)
      select id, 'us', 'required', '{totp,webauthn}', 30, now() - interval '30 days' from organizations where slug like 'bench-org-%'`
    await pg`insert into users (region, email, name) select 'us', 'pb' || g || '@bench.test', 'Member ' || lpad((g::bigint * 7919 % ${total}::bigint)::text, 7, '0') from generate_series(1, ${total}::int) g`
    // joined_at spreads deadlines (joined + 30 days): ~1% past, ~3% within 7 days, the rest later.
    await pg`insert into memberships (user_id, organization_id, joined_at)
      select u.id, o.id, now() - make_interval(days => case when n % 100 = 0 then 40 when n % 100 < 4 then 25 else (n % 20) end::int)
      from (select id, row_number() over (order by id) - 1 as n from users where email like 'pb%@bench.test') u
      join (select id, row_number() over (order by id) - 1 as k from organizations where slug like 'bench-org-%') o on o.k = u.n % ${ORGS}::bigint`
    // A third have an authenticator app.
    await pg`insert into totp_factors (user_id, secret_ciphertext, key_id, confirmed_at)
      select id, 'x', 'b1', now() from users where email like 'pb%@bench.test' and (substr(email, 3)::text ~ '^[0-9]*[0369]@')`
    await pg`analyze`
    const setupSeconds = (performance.now() - t0) / 1000

    // Baseline: a plain count over the same table.
    const b0 = performance.now()
    await pg`select count(*) from memberships`
    const countMs = performance.now() - b0

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
    const stats = await sweepGrace({ batchSize: 5000 })
    const sweepMs = performance.now() - s0
    const r0 = performance.now()
    const rerun = await sweepGrace({ batchSize: 5000 })
    const rerunMs = performance.now() - r0
    clearInterval(sampler)

    // Members page of one 100,000-member organization.
    const [big] = await pg<{ id: string }[]>`select id from organizations where slug = 'bench-org-1'`
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
    const pct = (xs: number[], q: number) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length * q)]
    const p50 = pct(times, 0.5)
    const p95 = pct(times, 0.95)

    // The same page over HTTP, as the organization's owner (a session made directly: the sign-in is measured elsewhere).
    const [owner] = await pg<{ id: string }[]>`insert into users (region, email, name) values ('us', 'bench-owner@bench.test', 'Bench Owner') returning id`
    await pg`insert into memberships (user_id, organization_id, role) values (${owner.id}, ${big.id}, 'owner')`
    const { token } = await createSession({ userId: owner.id, level: 'mfa', meta: { ip: '127.0.0.1', userAgent: 'bench' }, secondFactorMethod: 'totp' })
    const httpTimes: number[] = []
    for (let i = 0; i < 30; i++) {
      const h0 = performance.now()
      const res = await fetch(`${base}/orgs/bench-org-1/members?status=in_grace&sort=name&dir=asc&page=${1 + (i % 5)}`, { headers: { cookie: `gh_session=${token}` }, redirect: 'manual' })
      const html = await res.text()
      httpTimes.push(performance.now() - h0)
      if (res.status !== 200 || !html.includes('pb')) throw new Error(`members page answered ${res.status}`)
    }
    const mb = (n: number) => `${(n / 1048576).toFixed(0)} MB`
    return [
      { name: 'policy: data setup', value: `${total.toLocaleString('en-US')} memberships in ${setupSeconds.toFixed(1)} s` },
      { name: 'policy: count(*) baseline', value: `${countMs.toFixed(0)} ms` },
      { name: 'policy: sweep 1M memberships', value: `${(sweepMs / 1000).toFixed(1)} s (${(sweepMs / countMs).toFixed(0)}x count); ${stats.reminders} reminders, ${stats.expired} expired, ${stats.batches} batches` },
      { name: 'policy: sweep rerun (no-op)', value: `${(rerunMs / 1000).toFixed(1)} s; ${rerun.reminders} reminders, ${rerun.expired} expired` },
      { name: 'policy: sweep peak memory', value: `rss ${mb(peakRss)} (+${mb(peakRss - startRss)}), heap ${mb(peakHeap)} (+${mb(peakHeap - startHeap)})` },
      { name: 'policy: members page (HTTP)', value: `p50 ${pct(httpTimes, 0.5).toFixed(0)} ms, p95 ${pct(httpTimes, 0.95).toFixed(0)} ms (whole page: guard, query, render); ${(pct(httpTimes, 0.5) / orgCountMs).toFixed(1)}x org count(*)` },
      { name: 'policy: members page (query)', value: `p50 ${p50.toFixed(0)} ms, p95 ${p95.toFixed(0)} ms (${PER_ORG.toLocaleString('en-US')} members, status=in_grace, sort=name, ${matched} match); ${(p50 / orgCountMs).toFixed(1)}x org count(*) (${orgCountMs.toFixed(0)} ms)` },
    ]
  },
}
