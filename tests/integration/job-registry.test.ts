/**
 * The job registry (decision 064): every job's payload is ids only, a payload with anything else
 * never reaches Redis, and the worker fails a job it does not know at once instead of retrying it.
 */
import { randomUUID } from 'node:crypto'
import { UnrecoverableError } from 'bullmq'
import { describe, expect, it } from 'vitest'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { enqueue, jobDefinitions, runJob } from '#app/jobs/registry.server.ts'

const noDelivery = async () => {
  throw new Error('no mail in this test')
}

describe('job registry', () => {
  it('names each job once, and every payload takes uuids and nothing else', () => {
    const names = jobDefinitions().map((d) => `${d.queue}/${d.name}`)
    expect(new Set(names).size).toBe(names.length)
    for (const job of jobDefinitions()) {
      const keys = Object.keys((job.payload as unknown as { shape: Record<string, unknown> }).shape)
      const ids = Object.fromEntries(keys.map((k) => [k, randomUUID()]))
      expect(job.payload.safeParse(ids).success, job.name).toBe(true)
      expect(job.payload.safeParse({ ...ids, code: '123456' }).success, `${job.name} with a code`).toBe(false)
      for (const k of keys) expect(job.payload.safeParse({ ...ids, [k]: 'someone@example.com' }).success, `${job.name}.${k}`).toBe(false)
    }
  })

  it('refuses to queue a payload carrying more than ids', async () => {
    const emailId = randomUUID()
    await expect(enqueue('send', { emailId, code: '123456' } as never)).rejects.toThrow()
    expect(await getQueue(QUEUE.mail).getJob(emailId)).toBeUndefined()
  })

  it('fails an unknown job, a job on the wrong queue, or a bad payload at once', async () => {
    const job = (name: string, data: unknown) => ({ name, data, attemptsMade: 0, opts: { attempts: 5 } })
    await expect(runJob(QUEUE.mail, job('no-such-job', {}), { deliver: noDelivery })).rejects.toBeInstanceOf(UnrecoverableError)
    await expect(runJob(QUEUE.sweeps, job('send', { emailId: randomUUID() }), { deliver: noDelivery })).rejects.toBeInstanceOf(UnrecoverableError)
    await expect(runJob(QUEUE.mail, job('send', { emailId: 'not-an-id' }), { deliver: noDelivery })).rejects.toBeInstanceOf(UnrecoverableError)
  })
})
