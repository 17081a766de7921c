import { expect, it } from 'vitest'
import { notificationRunState, RUN_STATE_LABELS } from './notification-run-state.ts'

const now = new Date('2026-11-30T20:00:00Z')
const ago = (ms: number) => new Date(now.getTime() - ms)

it('says "waiting for the workers" once a run has been queued for more than 30 seconds', () => {
  expect(notificationRunState({ status: 'queued', createdAt: ago(5_000) }, now)).toBe('queued')
  expect(notificationRunState({ status: 'queued', createdAt: ago(30_000) }, now)).toBe('queued')
  expect(notificationRunState({ status: 'queued', createdAt: ago(30_001) }, now)).toBe('waiting_for_workers')
  expect(RUN_STATE_LABELS.waiting_for_workers).toBe('waiting for the workers')
})

it('never says it of a run a worker has taken or finished', () => {
  expect(notificationRunState({ status: 'running', createdAt: ago(3_600_000) }, now)).toBe('running')
  expect(notificationRunState({ status: 'done', createdAt: ago(3_600_000).toISOString() }, now)).toBe('done')
})
