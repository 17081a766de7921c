import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, Link, useLoaderData } from '@remix-run/react'
import { requireSupport } from '#app/auth/guards.server.ts'
import { searchMembers } from '#app/support/members.server.ts'

export const meta: MetaFunction = () => [{ title: 'Support · Gatehouse' }]

export async function loader({ request }: LoaderFunctionArgs) {
  await requireSupport(request)
  const url = new URL(request.url)
  const page = Number(url.searchParams.get('page') ?? '1')
  const result = await searchMembers({ query: url.searchParams.get('q') ?? '', page: Number.isFinite(page) ? page : 1 })
  return {
    ...result,
    rows: result.rows.map((r) => ({ ...r, lockedUntil: r.lockedUntil?.toISOString() ?? null, mfaOn: Boolean(r.mfaEnabledAt) })),
  }
}

export default function SupportSearch() {
  const { query, rows, page, pages, total } = useLoaderData<typeof loader>()
  const pageLink = (p: number) => `/support?${new URLSearchParams({ q: query, page: String(p) })}`
  return (
    <section className="card">
      <div className="row" style={{ justifyContent: 'space-between' }}>
        <h1>Support</h1>
        <Link to="/support/approvals">Approvals</Link>
      </div>
      <Form method="get" role="search" className="row">
        <div className="field" style={{ flex: 1 }}>
          <label htmlFor="q">Search members by email, name or organization</label>
          <input id="q" name="q" type="search" defaultValue={query} autoFocus />
        </div>
        <button type="submit">Search</button>
      </Form>
      {query ? (
        <>
          <p className="muted">{total === 0 ? 'No member matches.' : `${total} member${total === 1 ? '' : 's'} found, in every region.`}</p>
          {rows.length ? (
            <table>
              <thead>
                <tr><th>Member</th><th>Region</th><th>Organizations</th><th>2FA</th><th>State</th></tr>
              </thead>
              <tbody>
                {rows.map((r) => (
                  <tr key={r.id}>
                    <td>
                      <Link to={`/support/users/${r.id}`}>{r.email}</Link>
                      <div className="muted">{r.name}{r.kind === 'service' ? ' · service account' : ''}{r.platformRole !== 'none' ? ` · ${r.platformRole}` : ''}</div>
                    </td>
                    <td>{r.region.toUpperCase()}</td>
                    <td>{r.organizations.join(', ') || '—'}</td>
                    <td>{r.mfaOn ? <span className="badge ok">on</span> : <span className="badge">off</span>}</td>
                    <td>{r.locked ? <span className="badge bad">locked</span> : <span className="badge ok">active</span>}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          ) : null}
          {pages > 1 ? (
            <nav className="row" aria-label="Pages">
              {page > 1 ? <Link to={pageLink(page - 1)}>Previous</Link> : null}
              <span className="muted">{`Page ${page} of ${pages}`}</span>
              {page < pages ? <Link to={pageLink(page + 1)}>Next</Link> : null}
            </nav>
          ) : null}
        </>
      ) : null}
    </section>
  )
}
