import type { CpuSample } from './cpu.ts'

/** A task's rate beside argon2id's, and where each one's CPU went per operation (null without /proc). */
export type VersusArgon2 = { rate: number; argon2Rate: number; cpu: { task: CpuSample | null; argon2: CpuSample | null } }

/** A measure added to `npm run bench`: a file tests/bench/<name>.bench.ts exporting `bench`. */
export type BenchContext = {
  /** The running server (the real HTTP stack, production settings). */
  base: string
  /** Runs a task from BENCH_CONCURRENCY loops for BENCH_SECONDS; returns operations per second. */
  rate: (task: (i: number) => Promise<void>) => Promise<number>
  /** A task's rate and argon2id's, measured in alternating slices: use it for a ratio to argon2id. */
  versusArgon2: (task: (i: number) => Promise<void>) => Promise<VersusArgon2>
  /** argon2id verifications per second measured in this run (alongside password sign-in). */
  argon2Rate: number
  /** A production-cost argon2id hash of `password`, to make accounts quickly. */
  passwordHash: string
  password: string
}

/**
 * One row of the printed table: what was measured, its value in this run, and, where there is
 * one, the goal and whether this run met it (with how far off).
 */
export type BenchRow = { measure: string; now: string; goal?: string; met?: string }

export type Bench = {
  name: string
  /** Returns rows to print (ratios are against a baseline measured in the same run). */
  run: (ctx: BenchContext) => Promise<BenchRow[]>
}

/** Goal "under `limit` ms": met, or how many times the limit this run took. */
export function under(ms: number, limit: number, unit: 'ms' | 's' = 'ms'): Pick<BenchRow, 'goal' | 'met'> {
  const k = unit === 's' ? 1000 : 1
  return { goal: `< ${limit / k} ${unit}`, met: ms < limit ? 'yes' : `no (${(ms / limit).toFixed(1)}x goal)` }
}

/** Goal "at least `min`" for a ratio: met, or the share of the goal this run reached. */
export function atLeast(ratio: number, min: number): Pick<BenchRow, 'goal' | 'met'> {
  return { goal: `>= ${min.toFixed(2)}`, met: ratio >= min ? 'yes' : `no (${((ratio / min) * 100).toFixed(0)}% of goal)` }
}

/** The value at quantile `q` (0.5 = median) of the samples, nearest rank. */
export const quantile = (xs: number[], q: number) => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil(s.length * q) - 1)]
}

/**
 * Where an operation's CPU went beside argon2id's own (the verify alone, in its slices): the
 * rows say what a ratio below 1 is made of. None without /proc.
 */
export function cpuRow(what: string, { cpu }: VersusArgon2): BenchRow[] {
  if (!cpu.task || !cpu.argon2) return []
  const ms = (x: number) => `${x.toFixed(2)} ms`
  const t = cpu.task
  return [
    { measure: `CPU per ${what}: all parts / argon2id verify alone`, now: `${ms(t.main + t.threads + t.postgres + t.redis)} / ${ms(cpu.argon2.main + cpu.argon2.threads)}` },
    { measure: `  of which Node main thread (server + load client) / other threads (argon2, GC)`, now: `${ms(t.main)} / ${ms(t.threads)}` },
    { measure: `  of which PostgreSQL (this database's backends) / Redis (whole server)`, now: `${ms(t.postgres)} / ${ms(t.redis)}` },
  ]
}
