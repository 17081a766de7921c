/** A measure added to `npm run bench`: a file tests/bench/<name>.bench.ts exporting `bench`. */
export type BenchContext = {
  /** The running server (the real HTTP stack, production settings). */
  base: string
  /** Runs a task from BENCH_CONCURRENCY loops for BENCH_SECONDS; returns operations per second. */
  rate: (task: (i: number) => Promise<void>) => Promise<number>
  /** argon2id verifications per second measured in this run: the baseline for ratios. */
  argon2Rate: number
  /** A production-cost argon2id hash of `password`, to make accounts quickly. */
  passwordHash: string
  password: string
}

export type Bench = {
  name: string
  /** Returns lines to print: a name and its value (include ratios against a same-run baseline). */
  run: (ctx: BenchContext) => Promise<{ name: string; value: string }[]>
}
