import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useActionData, useLoaderData, useSearchParams } from '@remix-run/react'
import { createColumnHelper, flexRender, getCoreRowModel, useReactTable, type SortingState } from '@tanstack/react-table'
import { requireOrgChange, requireOrgRole } from '#app/auth/guards.server.ts'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'
import { readResumed, stepUpToResume } from '#app/http/resume.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { MailUnavailableError } from '#app/mail/queue-email.server.ts'
import { cancelInvitation, createServiceAccount, inviteMember, listOrgInvitations } from '#app/orgs/invites.server.ts'
import { membersForm, SORTS, STATUSES } from '#app/orgs/members.schema.ts'
import { changeRole, listMembers, parseMemberQuery, removeMember } from '#app/orgs/members.server.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { extendDeadline } from '#app/policy/exemptions.server.ts'
import { Field, FormError, Notice } from '#app/ui/form.tsx'
import { ResumeChange } from '#app/ui/resume.tsx'
import { METHOD_LABELS, OrgNav, STATUS_BADGE, STATUS_LABELS } from '#app/ui/org-nav.tsx'
import { Time } from '#app/ui/time.tsx'
import { EmptyState } from '#app/ui/empty-state.tsx'
import { ConfirmAction } from '#app/ui/confirm.tsx'
import { SubmitButton } from '#app/ui/submit-button.tsx'

export const meta: MetaFunction = () => [{ title: 'Members · Gatehouse' }]


// Which domain fields each form shows (the service account's email is its own field); the rest go above the forms.
const FORM_FIELDS: Partial<Record<string, Record<string, string>>> = { invite: { email: 'email' }, service_account: { email: 'saEmail' }, extend: { deadline: 'deadline' } }

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope, membership } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const url = new URL(request.url)
  const query = parseMemberQuery(url)
  const [page, regions, invitations] = await Promise.all([listMembers(scope, query), listOrgRegions(scope), listOrgInvitations(scope)])
  // A removal or cancellation to confirm first (?remove=, ?cancel=), decision 072.
  const removing = page.rows.find((r) => r.userId === url.searchParams.get('remove'))
  const cancelling = invitations.find((x) => x.id === url.searchParams.get('cancel'))
  return {
    org: { name: org.name, slug: org.slug },
    myRole: membership.role,
    confirmRemove: removing ? { userId: removing.userId, name: removing.name, email: removing.email, role: removing.role } : null,
    confirmCancel: cancelling ? { id: cancelling.id, email: cancelling.email, role: cancelling.role } : null,
    done: url.searchParams.get('done'),
    // A deadline extension carried back from step-up, ready to finish (decision 056).
    resumed: readResumed(request, membersForm),
    regions: regions.map((r) => r.region),
    total: page.total,
    totalExact: page.totalExact,
    next: page.next,
    prev: page.prev,
    query: page.query,
    invitations: invitations.map((x) => ({ ...x, createdAt: x.createdAt.toISOString(), expiresAt: x.expiresAt.toISOString() })),
    rows: page.rows.map((r) => ({ ...r, deadline: r.deadline?.toISOString() ?? null, lastSignInAt: r.lastSignInAt?.toISOString() ?? null, joinedAt: r.joinedAt.toISOString() })),
  }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const { org, scope, user, membership, session } = await requireOrgChange(request, params.slug ?? '', 'admin', context)
  const parsed = await parseForm(request, membersForm)
  if (!parsed.ok) return badRequest(parsed.errors)
  const d = parsed.data
  const actor = { id: user.id, label: user.email }
  const meta = requestMeta(request, context)
  const back = (done: string) => redirectTo(`/orgs/${org.slug}/members?done=${done}`)
  try {
    if (d.intent === 'invite') {
      const { intent: _i, ...input } = d
      // The same answer whether or not the address has an account (decision 055).
      await inviteMember(org, scope, input, { actor, role: membership.role, name: user.name }, meta)
      throw back('invited')
    }
    if (d.intent === 'cancel_invitation') {
      await cancelInvitation(scope, d.invitationId, actor, meta)
      throw back('cancelled')
    }
    if (d.intent === 'service_account') {
      await createServiceAccount(scope, { name: d.saName, email: d.saEmail, region: d.saRegion }, actor, meta)
      throw back('service_account')
    }
    if (d.intent === 'role') {
      await changeRole(scope, { userId: d.userId, role: d.role, actorRole: membership.role, actor, meta })
      throw back('role')
    }
    if (d.intent === 'remove') {
      await removeMember(scope, { userId: d.userId, actorRole: membership.role, actor, meta })
      throw back('removed')
    }
    await extendDeadline(scope, d, actor, sessionAuthority(session), meta)
    throw back('extended')
  } catch (e) {
    if (d.intent === 'extend') stepUpToResume(e, `/orgs/${org.slug}/members`, 'extend', d)
    if (e instanceof MailUnavailableError) return badRequest({ form: 'The invitation was saved but email cannot be sent right now. Cancel it below and invite the same address again in a few minutes.' }, {}, 503)
    return formError(e, { fields: FORM_FIELDS[d.intent] ?? [] })
  }
}

type Row = ReturnType<typeof useLoaderData<typeof loader>>['rows'][number]
const col = createColumnHelper<Row>()

export default function Members() {
  const { org, rows, total, totalExact, next, prev, query, regions, done, myRole, resumed, invitations, confirmRemove, confirmCancel } = useLoaderData<typeof loader>()
  const a = useActionData<typeof action>() as { errors: Record<string, string> } | undefined
  const [params, setParams] = useSearchParams()
  const sorting: SortingState = [{ id: query.sort, desc: query.dir === 'desc' }]
  const columns = [
    col.accessor('name', { header: 'Name' }),
    col.accessor('email', { header: 'Email' }),
    col.accessor('region', { header: 'Region', cell: (c) => c.getValue().toUpperCase() }),
    col.accessor('role', {
      header: 'Role',
      // Only owners change roles (decision 057): admins see the role, the server refuses the rest.
      cell: (c) => myRole !== 'owner' ? c.getValue() : (
        <Form method="post" className="row" style={{ gap: '.3rem' }}>
          <input type="hidden" name="intent" value="role" />
          <input type="hidden" name="userId" value={c.row.original.userId} />
          <select name="role" defaultValue={c.getValue()} aria-label={`Role of ${c.row.original.email}`}>
            <option value="member">member</option>
            <option value="admin">admin</option>
            <option value="owner">owner</option>
          </select>
          <SubmitButton className="secondary" busyLabel="Setting…" match={{ intent: 'role', userId: c.row.original.userId }}>Set</SubmitButton>
        </Form>
      ),
    }),
    col.accessor('kind', { header: 'Kind', cell: (c) => (c.getValue() === 'service' ? 'Service account' : 'Person') }),
    col.accessor('factors', { header: 'Factors', enableSorting: false, cell: (c) => (c.getValue().length ? c.getValue().map((f) => METHOD_LABELS[f]).join(', ') : 'None') }),
    col.accessor('status', {
      header: 'Status',
      cell: (c) => (
        <span className={`badge ${STATUS_BADGE[c.getValue()]}`}>
          {STATUS_LABELS[c.getValue()]}{c.getValue() === 'in_grace' || c.getValue() === 'overdue' ? <> {c.getValue() === 'in_grace' ? 'until' : 'since'} <Time value={c.row.original.deadline} style="date" /></> : ''}
        </span>
      ),
    }),
    col.accessor('lastSignInAt', { id: 'lastSignIn', header: 'Last sign-in', cell: (c) => <Time value={c.getValue()} /> }),
    col.display({
      id: 'actions',
      header: 'Actions',
      cell: (c) => (
        <details>
          <summary>More</summary>
          {c.row.original.status === 'in_grace' || c.row.original.status === 'overdue' ? (
            <Form method="post">
              <input type="hidden" name="intent" value="extend" />
              <input type="hidden" name="userId" value={c.row.original.userId} />
              <Field label="New deadline" name="deadline" type="date" id={`deadline-${c.row.original.userId}`} required />
              <Field label="Reason" name="reason" id={`reason-${c.row.original.userId}`} required />
              <SubmitButton className="secondary" busyLabel="Extending…" match={{ intent: 'extend', userId: c.row.original.userId }}>Extend deadline</SubmitButton>
            </Form>
          ) : null}
          {c.row.original.role === 'member' && c.row.original.kind === 'human' ? (
            // Plain members only; the reset page re-checks "plain member in every organization" on the server.
            <p><Link to={`/orgs/${org.slug}/members/${c.row.original.userId}/reset`}>Reset two-factor authentication…</Link></p>
          ) : null}
          {myRole === 'owner' || c.row.original.role === 'member' ? (
            <p><Link to={confirmLink('remove', c.row.original.userId)} aria-label={`Remove ${c.row.original.email}…`}>Remove from organization…</Link></p>
          ) : null}
        </details>
      ),
    }),
  ]
  const table = useReactTable({
    data: rows,
    columns,
    state: { sorting },
    manualSorting: true,
    manualPagination: true,
    manualFiltering: true,
    rowCount: total,
    getCoreRowModel: getCoreRowModel(),
    getRowId: (r) => r.membershipId,
    onSortingChange: (updater) => {
      const next = typeof updater === 'function' ? updater(sorting) : updater
      const s = next[0]
      const p = new URLSearchParams(params)
      p.set('sort', s?.id ?? 'name')
      p.set('dir', s?.desc ? 'desc' : 'asc')
      for (const k of ['after', 'before', 'page']) p.delete(k)
      setParams(p)
    },
  })
  const confirmLink = (name: 'remove' | 'cancel', id: string) => {
    const p = new URLSearchParams(params)
    p.delete('remove')
    p.delete('cancel')
    p.delete('done')
    p.set(name, id)
    return `?${p}#confirm`
  }
  // Keyset pages (decision 076): the neighbours are "after the last row" and "before the first".
  const pageLink = (key: 'after' | 'before', value: string) => {
    const p = new URLSearchParams(params)
    for (const k of ['after', 'before', 'page']) p.delete(k)
    p.set(key, value)
    return `?${p}`
  }
  const errors = a?.errors ?? {}
  // The page as it is (filters, sort, page), without a confirmation in its address.
  const plainParams = new URLSearchParams(params)
  plainParams.delete('remove')
  plainParams.delete('cancel')
  plainParams.delete('done')
  const plainPage = `/orgs/${org.slug}/members${plainParams.size ? `?${plainParams}` : ''}`
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>Members</h1>
        {done ? <Notice>{{ invited: 'Invited.', cancelled: 'Invitation cancelled.', service_account: 'Service account created.', role: 'Role changed.', removed: 'Member removed.', extended: 'Deadline extended.' }[done] ?? 'Done.'}</Notice> : null}
        <FormError message={errors.form ?? errors.deadline ?? errors.reason} />
        {confirmRemove ? (
          <ConfirmAction title={`Remove ${confirmRemove.name} from ${org.name}?`} fields={{ intent: 'remove', userId: confirmRemove.userId }} confirmLabel="Remove from organization" busyLabel="Removing…" cancelTo={plainPage}>
            {confirmRemove.name} ({confirmRemove.email}) will no longer be {confirmRemove.role === 'member' ? 'a member' : `an ${confirmRemove.role}`} of {org.name}: {org.name}’s policy stops applying to them, and their exemptions and deadline extensions here are removed.
            Their account, their sign-in methods and their other organizations stay. To bring them back, invite them again.
          </ConfirmAction>
        ) : null}
        {confirmCancel ? (
          <ConfirmAction title={`Cancel the invitation of ${confirmCancel.email}?`} fields={{ intent: 'cancel_invitation', invitationId: confirmCancel.id }} confirmLabel="Cancel invitation" busyLabel="Cancelling…" cancelTo={plainPage}>
            The link sent to {confirmCancel.email} stops working at once, so they cannot join {org.name} as {confirmCancel.role} with it. You can invite them again later.
          </ConfirmAction>
        ) : null}
        <Form method="get" className="row" role="search">
          <div className="field"><label htmlFor="q">Search name or email</label><input id="q" name="q" defaultValue={query.q} /></div>
          <div className="field">
            <label htmlFor="f-region">Region</label>
            <select id="f-region" name="region" defaultValue={query.region}><option value="">All</option>{regions.map((r) => <option key={r} value={r}>{r.toUpperCase()}</option>)}</select>
          </div>
          <div className="field">
            <label htmlFor="f-status">Status</label>
            <select id="f-status" name="status" defaultValue={query.status}><option value="">All</option>{STATUSES.map((s) => <option key={s} value={s}>{STATUS_LABELS[s]}</option>)}</select>
          </div>
          <div className="field">
            <label htmlFor="f-factor">Factor</label>
            <select id="f-factor" name="factor" defaultValue={query.factor}>
              <option value="">Any or none</option><option value="none">No app or key</option><option value="any">App or key</option><option value="totp">{METHOD_LABELS.totp}</option><option value="webauthn">{METHOD_LABELS.webauthn}</option>
            </select>
          </div>
          <input type="hidden" name="sort" value={query.sort} />
          <input type="hidden" name="dir" value={query.dir} />
          <button type="submit">Filter</button>
          <a className="button secondary" href={`/orgs/${org.slug}/members/csv?${params}`} download>Export CSV</a>
        </Form>
        <p className="hint">{total.toLocaleString('en-US')}{totalExact ? '' : '+'} matching members. Status is under this organization's policy alone.</p>
        <div style={{ overflowX: 'auto' }}>
          <table>
            <thead>
              {table.getHeaderGroups().map((hg) => (
                <tr key={hg.id}>
                  {hg.headers.map((h) => {
                    const sortable = (SORTS as readonly string[]).includes(h.column.id) && h.column.getCanSort()
                    const dir = h.column.getIsSorted()
                    return (
                      <th key={h.id} aria-sort={dir === 'asc' ? 'ascending' : dir === 'desc' ? 'descending' : undefined}>
                        {sortable ? (
                          <button type="button" className="link" onClick={h.column.getToggleSortingHandler()}>
                            {flexRender(h.column.columnDef.header, h.getContext())}{dir === 'asc' ? ' ▲' : dir === 'desc' ? ' ▼' : ''}
                          </button>
                        ) : flexRender(h.column.columnDef.header, h.getContext())}
                      </th>
                    )
                  })}
                </tr>
              ))}
            </thead>
            <tbody>
              {table.getRowModel().rows.map((r) => (
                <tr key={r.id}>{r.getVisibleCells().map((c) => <td key={c.id}>{flexRender(c.column.columnDef.cell, c.getContext())}</td>)}</tr>
              ))}
              {rows.length === 0 ? (
                <tr>
                  <td colSpan={table.getVisibleLeafColumns().length}>
                    {query.q || query.region || query.status || query.factor
                      ? <EmptyState title="No members match this filter.">Try another search, or <Link to={`/orgs/${org.slug}/members`}>clear the filter</Link>.</EmptyState>
                      : <EmptyState title="No members yet.">Invite people below; service accounts are created here too.</EmptyState>}
                  </td>
                </tr>
              ) : null}
            </tbody>
          </table>
        </div>
        <nav className="row" aria-label="Pages">
          {prev ? <Link to={pageLink('before', prev)}>Previous</Link> : null}
          <span>{rows.length ? `Showing ${rows.length.toLocaleString('en-US')} of ${total.toLocaleString('en-US')}${totalExact ? '' : '+'}` : 'No members on this page'}</span>
          {next ? <Link to={pageLink('after', next)}>Next</Link> : null}
        </nav>
      </section>
      {resumed?.intent === 'extend' ? (
        <ResumeChange resumed={resumed} label="Extend deadline" cancelTo={`/orgs/${org.slug}/members`}>
          Extend the deadline of {rows.find((r) => r.userId === resumed.values.userId)?.email ?? 'the member'} to <Time value={String(resumed.values.deadline)} style="date" />: {String(resumed.values.reason)}
        </ResumeChange>
      ) : null}
      <section className="card">
        <h2>Pending invitations</h2>
        {invitations.length === 0 ? <p className="muted">No pending invitations.</p> : (
          <table aria-label="Pending invitations">
            <thead><tr><th>Email</th><th>Region</th><th>Role</th><th>Invited</th><th>Expires</th><th>Status</th><th></th></tr></thead>
            <tbody>
              {invitations.map((x) => (
                <tr key={x.id}>
                  <td>{x.email}</td><td>{x.region.toUpperCase()}</td><td>{x.role}</td><td><Time value={x.createdAt} /></td><td><Time value={x.expiresAt} style="date" /></td>
                  <td><span className="badge">Invited</span></td>
                  <td>
                    <Link to={confirmLink('cancel', x.id)} aria-label={`Cancel the invitation of ${x.email}…`}>Cancel…</Link>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="hint">An invited person joins only when they accept. Whether or not the address already has a Gatehouse account, it shows here as invited.</p>
      </section>
      <section className="card narrow">
        <h2>Invite a member</h2>
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="invite" />
          <Field label="Email" name="email" type="email" required error={errors.email} />
          <Field label="Name (optional)" name="name" />
          <div className="field">
            <label htmlFor="invite-region">Region</label>
            <select id="invite-region" name="region">{regions.map((r) => <option key={r} value={r}>{r.toUpperCase()}</option>)}</select>
          </div>
          <div className="field">
            <label htmlFor="invite-role">Role</label>
            <select id="invite-role" name="role" defaultValue="member">
              <option value="member">Member</option>
              {myRole === 'owner' ? <><option value="admin">Admin</option><option value="owner">Owner</option></> : null}
            </select>
          </div>
          <SubmitButton busyLabel="Sending…" match={{ intent: 'invite' }}>Send invitation</SubmitButton>
        </Form>
      </section>
      <section className="card narrow">
        <h2>Create service account</h2>
        <p className="hint">A service account has no password and is never invited: it belongs to this organization and signs in with API keys.</p>
        <Form method="post" noValidate>
          <input type="hidden" name="intent" value="service_account" />
          <Field label="Name" name="saName" id="sa-name" required error={errors.saName} />
          <Field label="Email" name="saEmail" id="sa-email" type="email" required error={errors.saEmail} />
          <div className="field">
            <label htmlFor="sa-region">Region</label>
            <select id="sa-region" name="saRegion">{regions.map((r) => <option key={r} value={r}>{r.toUpperCase()}</option>)}</select>
          </div>
          <SubmitButton busyLabel="Creating…" match={{ intent: 'service_account' }}>Create service account</SubmitButton>
        </Form>
      </section>
    </>
  )
}
