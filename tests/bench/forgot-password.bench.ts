/**
 * Forgot-password answer time, known against unknown address: the page must not tell whether an
 * account exists, by its words or by its time. 200 requests each, sequential and interleaved (so
 * drift in the machine's load falls on both), each to a different address; prints the medians and
 * their ratio (goal: within 1.1). Printed, never asserted.
 */
import type { Bench } from './bench-types.ts'

const EACH = Number(process.env.BENCH_FORGOT_EACH ?? 200)

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b)
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2
}

export const bench: Bench = {
  name: 'forgot-password',
  async run({ base, passwordHash }) {
    const { db, schema } = await import('#db/client.ts')
    const known = Array.from({ length: EACH }, (_, i) => `forgot-${i}@bench.test`)
    await db.insert(schema.users).values(known.map((email) => ({ email, name: email, region: 'us', passwordHash })))
    const unknown = Array.from({ length: EACH }, (_, i) => `nobody-${i}@bench.test`)

    async function ask(email: string): Promise<number> {
      const t0 = performance.now()
      const res = await fetch(`${base}/forgot-password`, {
        method: 'POST',
        headers: { origin: base, 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ region: 'us', email }),
        redirect: 'manual',
      })
      await res.arrayBuffer()
      const ms = performance.now() - t0
      if (res.status !== 200) throw new Error(`forgot-password answered ${res.status}`)
      return ms
    }

    await ask('warm-up@bench.test')
    const times = { known: [] as number[], unknown: [] as number[] }
    for (let i = 0; i < EACH; i++) {
      // Alternate which goes first, so neither always follows the other.
      if (i % 2) {
        times.known.push(await ask(known[i]))
        times.unknown.push(await ask(unknown[i]))
      } else {
        times.unknown.push(await ask(unknown[i]))
        times.known.push(await ask(known[i]))
      }
    }
    const k = median(times.known)
    const u = median(times.unknown)
    return [
      { measure: `forgot-password, known address (median of ${EACH})`, now: `${k.toFixed(2)} ms` },
      { measure: `forgot-password, unknown address (median of ${EACH})`, now: `${u.toFixed(2)} ms` },
      { measure: 'forgot-password, ratio known / unknown', now: (k / u).toFixed(3), goal: 'within 1.1', met: Math.max(k / u, u / k) <= 1.1 ? 'yes' : 'no' },
    ]
  },
}
