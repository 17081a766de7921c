/** Notification runs whose job never reached Redis (or was lost) are enqueued again by the sweep. */
import { sql as pg } from '#db/client.ts'
import { enqueueRun } from '#app/policy/notification-runs.server.ts'

export async function requeueStalledRuns(olderThanMs = 60_000): Promise<number> {
  const rows = await pg<{ id: string }[]>`
    select id::text from notification_runs where status in ('queued', 'running') and created_at < ${new Date(Date.now() - olderThanMs).toISOString()}::timestamptz limit 100`
  for (const r of rows) await enqueueRun(r.id)
  return rows.length
}
