import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { listUserOrganizations } from '#app/orgs/organizations.server.ts'

export const meta: MetaFunction = () => [{ title: 'Gatehouse' }]

export async function loader({ request }: LoaderFunctionArgs) {
  const { user, session } = await requireUser(request)
  return {
    user: { name: user.name, email: user.email, region: user.region, mfa: Boolean(user.mfaEnabledAt) },
    level: session.level,
    organizations: await listUserOrganizations(user.id),
  }
}

export default function Home() {
  const { user, organizations } = useLoaderData<typeof loader>()
  return (
    <>
      <section className="card">
        <h1>Welcome, {user.name}</h1>
        <p className="muted">{user.email} · region {user.region.toUpperCase()}</p>
        <p>
          Two-factor authentication is <strong>{user.mfa ? 'on' : 'off'}</strong>. <Link to="/settings/security">Manage your security settings</Link>
        </p>
      </section>
      <section className="card">
        <h2>Your organizations</h2>
        {organizations.length === 0 ? <p className="muted">You do not belong to an organization.</p> : null}
        <ul>
          {organizations.map((o) => (
            <li key={o.id}>
              {o.role === 'member' ? o.name : <Link to={`/orgs/${o.slug}`}>{o.name}</Link>} <span className="badge">{o.role}</span>
            </li>
          ))}
        </ul>
      </section>
    </>
  )
}
