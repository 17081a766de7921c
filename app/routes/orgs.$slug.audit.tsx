import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpToResume } from '#app/http/resume.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { ResumeChange } from '#app/ui/resume.tsx'
import { Field } from '#app/ui/form.tsx'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { AUDIT_CSV_MAX_ROWS, listOrgAudit, parseAuditQuery, retentionInput, setAuditRetention } from '#app/audit/query.server.ts'
import { AUDIT_ACTIONS } from '#app/audit/record.server.ts'
import { OrgNav } from '#app/ui/org-nav.tsx'
import { Time } from '#app/ui/time.tsx'
import { EmptyState } from '#app/ui/empty-state.tsx'
import { formatDays } from '#app/ui/time-format.ts'
import { AuditEventText } from '#app/ui/audit-event.tsx'

export const meta: MetaFunction = () => [{ title: 'Audit log · Gatehouse' }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, membership } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const query = parseAuditQuery(new URL(request.url))
  const page = await listOrgAudit(scope, query)
  return {
    org: { name: org.name, slug: org.slug, retentionDays: org.auditRetentionDays },
    isOwner: membership.role === 'owner',
    query,
    total: page.total,
    pageSize: page.pageSize,
    exportCap: AUDIT_CSV_MAX_ROWS,
    actions: [...AUDIT_ACTIONS],
    resumed: membership.role === 'owner' ? readResumed(request, retentionInput) : null,
    events: page.events.map((e) => ({ ...e, createdAt: e.createdAt.toISOString() })),
  }
}

/** Owners set the retention period; the retention worker prunes older events. */
export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, session } = await requireOrgChange(request, params.slug ?? '', 'owner', context)
  const parsed = await parseForm(request, retentionInput)
  if (!parsed.ok) return badRequest(parsed.errors)
  try {
    await setAuditRetention(scope, parsed.data.retentionDays, { id: user.id, label: user.email }, sessionAuthority(session), requestMeta(request, context))
  } catch (e) {
    // Shortening without a fresh second factor: through step-up and back, ready to save (decision 056).
    stepUpToResume(e, `/orgs/${org.slug}/audit`, 'retention', parsed.data)
    throw e
  }
  throw redirectTo(`/orgs/${org.slug}/audit`)
}

export default function Audit() {
  const { org, query, events, total, pageSize, isOwner, exportCap, actions, resumed } = useLoaderData<typeof loader>()
  const a = useActionData<typeof action>() as { errors: Record<string, string> } | undefined
  const [params] = useSearchParams()
  const pages = Math.max(1, Math.ceil(total / pageSize))
  const filtered = Boolean(query.action || query.actor || query.member || query.from || query.to)
  const link = (page: number) => {
    const p = new URLSearchParams(params)
    p.set('page', String(page))
    return `?${p}`
  }
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>Audit log</h1>
        <p className="hint">This organization's events and its members' security events, newest first. Kept for {formatDays(org.retentionDays)}.</p>
        <Form method="get" className="row" role="search">
          <div className="field">
            <label htmlFor="action">Action</label>
            <select id="action" name="action" defaultValue={query.action}><option value="">All</option>{actions.map((a) => <option key={a} value={a}>{a}</option>)}</select>
          </div>
          <div className="field"><label htmlFor="actor">Actor</label><input id="actor" name="actor" defaultValue={query.actor} /></div>
          <div className="field"><label htmlFor="member">Member email</label><input id="member" name="member" defaultValue={query.member} /></div>
          <div className="field"><label htmlFor="from">From</label><input id="from" name="from" type="date" defaultValue={query.from} /></div>
          <div className="field"><label htmlFor="to">To</label><input id="to" name="to" type="date" defaultValue={query.to} /></div>
          <button type="submit">Filter</button>
          <a className="button secondary" href={`/orgs/${org.slug}/audit/csv?${params}`} download>Export CSV</a>
        </Form>
        <p className="hint">{total.toLocaleString('en-US')} events.{total > exportCap ? ` A CSV export holds the newest ${exportCap.toLocaleString('en-US')}: narrow the filter to export the rest.` : ''}</p>
        {events.length === 0 ? (
          filtered
            ? <EmptyState title="No events match this filter.">Try a wider date range or another action, or <Link to={`/orgs/${org.slug}/audit`}>clear the filter</Link>.</EmptyState>
            : <EmptyState title="No events yet.">Policy changes, and the sign-ins and factor changes of your members, will show here.</EmptyState>
        ) : (
          // Focusable: on a phone it scrolls sideways, and a keyboard must be able to scroll it (decision 074).
          <table tabIndex={0} aria-label="Audit events">
            <thead><tr><th>Time</th><th>Action</th><th>Actor</th><th>Member</th><th>Details</th></tr></thead>
            <tbody>
              {events.map((e) => (
                <tr key={e.id}>
                  <td><Time value={e.createdAt} /></td><td><code>{e.action}</code><br /><span className="muted">{e.scope}</span></td>
                  <td>{e.actor}</td><td>{e.subjectEmail ?? '—'}</td><td><AuditEventText event={{ action: e.action, actor: e.actor, subject: e.subjectEmail, details: e.details as Record<string, unknown> }} /></td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <nav className="row" aria-label="Pages">
          {query.page > 1 ? <Link to={link(query.page - 1)}>Newer</Link> : null}
          <span>Page {query.page} of {pages}</span>
          {query.page < pages ? <Link to={link(query.page + 1)}>Older</Link> : null}
        </nav>
      </section>
      {resumed ? (
        <ResumeChange resumed={resumed} label="Save retention" cancelTo={`/orgs/${org.slug}/audit`}>
          Keep this organization’s events for {String(resumed.values.retentionDays)} days instead of {org.retentionDays}.
        </ResumeChange>
      ) : null}
      {isOwner ? (
        <section className="card narrow">
          <h2>Retention</h2>
          <Form method="post" noValidate>
            <Field label="Keep events for (days)" name="retentionDays" type="number" min={30} max={36500} defaultValue={org.retentionDays} error={a?.errors.retentionDays} hint={`Default ${formatDays(2557)}. Older events are removed by the retention worker, which records where the chain resumes.`} />
            <button type="submit">Save retention</button>
          </Form>
        </section>
      ) : null}
    </>
  )
}
