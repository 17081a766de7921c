/**
 * What the policy page says about a notification run. A run stays "queued" until a worker takes it;
 * with the workers down that would read "(queued)" forever, so after 30 s it says so plainly.
 */
export const WAITING_FOR_WORKERS_AFTER_MS = 30_000

export type RunState = 'done' | 'running' | 'queued' | 'waiting_for_workers'

export function notificationRunState(run: { status: string; createdAt: Date | string }, now: Date): RunState {
  if (run.status === 'done') return 'done'
  if (run.status === 'running') return 'running'
  return now.getTime() - new Date(run.createdAt).getTime() > WAITING_FOR_WORKERS_AFTER_MS ? 'waiting_for_workers' : 'queued'
}

export const RUN_STATE_LABELS: Record<RunState, string> = {
  done: 'done',
  running: 'sending',
  queued: 'queued',
  waiting_for_workers: 'waiting for the workers',
}
