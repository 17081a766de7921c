/**
 * A notification run: emails every affected (non-exempt) member of one organization's region that
 * its policy became Required (with their own deadline when they lack an allowed factor) or
 * Disabled. Keyset batches by membership id; each batch's outbox rows and the run's `done` counter
 * commit together, and every outbox row records the membership it was for (`params.membershipId`),
 * so a restarted job resumes by keyset after the highest membership id already emailed in this run.
 * Members joining or leaving between a crash and the restart neither shift nor hide that point (an
 * offset would: it skipped or re-emailed someone), and a member is emailed once.
 */
import type { Job } from 'bullmq'
import { sql as pg } from '#db/client.ts'
import { deadlineExpr, hasAllowedFactor, isExempt } from '#app/policy/member-status.server.ts'
import { notifyRunPayload } from '#app/jobs/queues.server.ts'
import { enqueueMail } from './outbox.ts'

const BATCH = 1000

export async function runNotification(job: Pick<Job, 'data'>, now = new Date(), options: { batchSize?: number } = {}): Promise<{ done: number; total: number }> {
  const batchSize = options.batchSize ?? BATCH
  const { runId } = notifyRunPayload.parse(job.data)
  const [run] = await pg<{ id: string; organization_id: string; region: string; kind: string; done: number; status: string; created_at: string }[]>`
    select id, organization_id, region, kind, done, status, created_at from notification_runs where id = ${runId}`
  if (!run || run.status === 'done') return { done: run?.done ?? 0, total: run?.done ?? 0 }
  const template = run.kind === 'policy_disabled' ? 'policy_disabled' : 'policy_required'
  const from = pg`memberships m join users u on u.id = m.user_id
    join region_policies p on p.organization_id = m.organization_id and p.region = u.region
    join organizations o on o.id = m.organization_id
    where m.organization_id = ${run.organization_id} and u.region = ${run.region} and not ${isExempt(now)}`
  const [{ total }] = await pg<{ total: number }[]>`select count(*)::int as total from ${from}`
  await pg`update notification_runs set total = ${total}, status = 'running' where id = ${runId}`
  // Resume after the last committed batch: the highest membership id this run has emailed (its
  // outbox rows commit with `done`; created_at bounds the scan to this run's time on its index).
  let cursor = '00000000-0000-0000-0000-000000000000'
  if (run.done > 0) {
    const [last] = await pg<{ id: string | null }[]>`
      select e.params->>'membershipId' as id from outbound_emails e
      where e.created_at >= ${run.created_at}::timestamptz and e.template = ${template}
        and e.params->>'runId' = ${runId} and e.params->>'membershipId' is not null
      order by (e.params->>'membershipId')::uuid desc limit 1`
    if (last?.id) cursor = last.id
  }
  let done = run.done
  for (;;) {
    const res = await pg.begin(async (tx) => {
      const [r] = await tx<{ n: number; last: string | null; emails: string[] }[]>`
        with batch as (
          select m.id, u.id as user_id, u.email, u.region, o.name as org_name, p.allowed_methods, p.on_deadline,
            case when p.mode = 'required' and not ${hasAllowedFactor} then ${deadlineExpr} end as deadline
          from ${from} and m.id > ${cursor}::uuid order by m.id limit ${batchSize}
        ),
        mail as (
          insert into outbound_emails (user_id, to_address, template, params)
          select user_id, email, ${template}, jsonb_build_object('organization', org_name, 'region', region, 'deadline', deadline,
            'methods', to_jsonb(allowed_methods), 'onDeadline', on_deadline, 'runId', ${runId}::text, 'membershipId', id::text)
          from batch returning id
        )
        select (select count(*) from batch)::int as n, (select id from batch order by id desc limit 1)::text as last,
          coalesce((select array_agg(id::text) from mail), '{}') as emails`
      await tx`update notification_runs set done = done + ${r.n} where id = ${runId}`
      return r
    })
    if (!res.last) break
    await enqueueMail(res.emails)
    done += res.n
    cursor = res.last
    if (res.n < batchSize) break
  }
  await pg`update notification_runs set status = 'done', finished_at = now(), total = greatest(total, done) where id = ${runId}`
  return { done, total }
}
