/**
 * Where a measured operation's CPU goes, read from Linux's /proc (elsewhere: null, and the bench
 * prints no breakdown). The bench's process is split into its main thread (the server's JavaScript
 * and the load generator) and its other threads (argon2 runs in libuv's pool; V8's GC helpers); the
 * PostgreSQL backends serving the bench's own database, and Redis (the whole server: other users of
 * this machine's Redis count too). Clock ticks are 10 ms: divide over hundreds of operations.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs'

export type CpuSample = { main: number; threads: number; postgres: number; redis: number }

const TICK_MS = 10 // USER_HZ is 100 on Linux

function cpuMs(statPath: string): number {
  const stat = readFileSync(statPath, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS // utime + stime
}

/** CPU milliseconds used so far, by part; null where /proc is not there. */
export function cpuSample(database: string): CpuSample | null {
  if (!existsSync('/proc/self/task')) return null
  const sample: CpuSample = { main: 0, threads: 0, postgres: 0, redis: 0 }
  for (const task of readdirSync('/proc/self/task')) {
    try {
      sample[Number(task) === process.pid ? 'main' : 'threads'] += cpuMs(`/proc/self/task/${task}/stat`)
    } catch {} // a thread that ended meanwhile
  }
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue
    try {
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
      // A backend's title: "postgres: [<cluster>: ]<role> <database> <client> <state>".
      if (/^postgres: (?:\S+: )?\S+ (\S+) /.exec(cmdline)?.[1] === database) sample.postgres += cpuMs(`/proc/${pid}/stat`)
      else if (/^(\/usr\/bin\/)?redis-server/.test(cmdline)) sample.redis += cpuMs(`/proc/${pid}/stat`)
    } catch {} // a process that ended meanwhile
  }
  return sample
}

const PARTS = ['main', 'threads', 'postgres', 'redis'] as const

/** Sums the CPU spent while `measure` runs its slices, and the operations done in them. */
export class CpuMeter {
  private spent: CpuSample = { main: 0, threads: 0, postgres: 0, redis: 0 }
  private ops = 0
  constructor(private database: string) {}

  /** Runs `slice`, which does `ops()` operations more by its end, and adds what it spent. */
  async measure<T>(ops: () => number, slice: () => Promise<T>): Promise<T> {
    const [before, opsBefore] = [cpuSample(this.database), ops()]
    const result = await slice()
    const after = cpuSample(this.database)
    if (before && after) for (const k of PARTS) this.spent[k] += after[k] - before[k]
    this.ops += ops() - opsBefore
    return result
  }

  /** CPU milliseconds per operation, by part; null without /proc or operations. */
  perOperation(): CpuSample | null {
    if (!cpuSample(this.database) || this.ops === 0) return null
    return { main: this.spent.main / this.ops, threads: this.spent.threads / this.ops, postgres: this.spent.postgres / this.ops, redis: this.spent.redis / this.ops }
  }
}
