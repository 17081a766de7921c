/**
 * Prometheus metrics (decision 067), one registry per process. The web process serves it at
 * /metrics, the workers on WORKER_METRICS_PORT; each process counts what happens in it, and the
 * scraper adds the processes up. Queue depths are read from Redis at scrape time
 * (installQueueDepths in jobs.server.ts), so any process reports the same numbers for them.
 *
 * The domain feeds these through a few small calls (observeAuditEvent, timeArgon2, and the job
 * events in jobs.server.ts): no module outside this folder touches prom-client.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client'
import { currentRequestContext } from './request-context.server.ts'

/** Sign-in outcomes, named after the audit actions that record them. */
const SIGN_IN_OUTCOMES: Record<string, string> = {
  'auth.login_success': 'success',
  'auth.login_success_2fa': 'success_2fa',
  'auth.login_success_backup_code': 'success_backup_code',
  'auth.login_success_passkey': 'success_passkey',
  'auth.login_failed': 'failed',
  'auth.mfa_failed': 'mfa_failed',
  'auth.locked': 'locked',
}

export type QueueDepth = { queue: string; state: string; count: number }

function createMetrics() {
  const registry = new Registry()
  /** Process metrics (CPU, memory, event loop) start with the first scrape: a CLI run never needs them. */
  const defaults = { started: false }
  /** Set by the process that can read the queues (installQueueDepths in jobs.server.ts). */
  const queueDepths: { read?: () => Promise<QueueDepth[]> } = {}
  const registers = [registry]
  return {
    registry,
    defaults,
    queueDepths,
    signIns: new Counter({
      name: 'gatehouse_sign_in_total',
      help: 'Sign-in attempts by outcome (success, success_2fa, success_backup_code, success_passkey, failed, mfa_failed, locked)',
      labelNames: ['outcome'] as const,
      registers,
    }),
    signInDuration: new Histogram({
      name: 'gatehouse_sign_in_duration_seconds',
      help: 'Server time of a sign-in request, by step (password or second_factor) and outcome',
      labelNames: ['step', 'outcome'] as const,
      buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    argon2Duration: new Histogram({
      name: 'gatehouse_argon2_duration_seconds',
      help: 'Time of one argon2id hash or verify',
      labelNames: ['operation'] as const,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
      registers,
    }),
    queueJobs: new Gauge({
      name: 'gatehouse_queue_jobs',
      help: 'Jobs in each queue by state (waiting, active, delayed, failed), read from Redis at scrape time',
      labelNames: ['queue', 'state'] as const,
      registers,
      async collect() {
        this.reset()
        for (const d of (await queueDepths.read?.()) ?? []) this.set({ queue: d.queue, state: d.state }, d.count)
      },
    }),
    jobFailures: new Counter({
      name: 'gatehouse_job_failures_total',
      help: 'Failed job attempts by queue and job name (a retried job counts each failed attempt)',
      labelNames: ['queue', 'job'] as const,
      registers,
    }),
    mailSent: new Counter({ name: 'gatehouse_mail_sent_total', help: 'Emails sent', registers }),
    mailFailed: new Counter({ name: 'gatehouse_mail_failed_total', help: 'Emails that failed for good (no retry left)', registers }),
    sweepDuration: new Histogram({
      name: 'gatehouse_sweep_duration_seconds',
      help: 'Duration of each sweep run (grace reminders, exemption expiry, audit retention)',
      labelNames: ['sweep', 'result'] as const,
      buckets: [0.05, 0.1, 0.5, 1, 2, 5, 10, 30, 60, 120, 300],
      registers,
    }),
  }
}

export type Metrics = ReturnType<typeof createMetrics>

// One registry per process: the Remix build bundles its own copy of this module (decision 001),
// and a metric registered twice would throw.
const g = globalThis as unknown as { __gatehouseMetrics?: Metrics }
export const metrics: Metrics = (g.__gatehouseMetrics ??= createMetrics())

/** Called by the audit recorder for every event: sign-in outcomes are counted from there. */
export function observeAuditEvent(action: string) {
  const outcome = SIGN_IN_OUTCOMES[action]
  if (!outcome) return
  metrics.signIns.inc({ outcome })
  const context = currentRequestContext()
  if (context) context.signInOutcome = outcome
}

/** Times one argon2 operation. */
export async function timeArgon2<T>(operation: 'hash' | 'verify', fn: () => Promise<T>): Promise<T> {
  const end = metrics.argon2Duration.startTimer({ operation })
  try {
    return await fn()
  } finally {
    end()
  }
}

/** The registry in Prometheus's text format, with its content type. */
export async function renderMetrics(): Promise<{ contentType: string; body: string }> {
  if (!metrics.defaults.started) {
    metrics.defaults.started = true
    collectDefaultMetrics({ register: metrics.registry })
  }
  return { contentType: metrics.registry.contentType, body: await metrics.registry.metrics() }
}
