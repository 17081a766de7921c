import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { requireOrgRole } from '#app/auth/guards.server.ts'
import { complianceByRegion, nextDeadlines } from '#app/policy/compliance.server.ts'
import { ComplianceChart } from '#app/ui/compliance-chart.tsx'
import { OrgNav } from '#app/ui/org-nav.tsx'
import { Time } from '#app/ui/time.tsx'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.org.name ?? 'Organization'} · Gatehouse` }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [regions, deadlines] = await Promise.all([complianceByRegion(scope), nextDeadlines(scope)])
  return {
    org: { name: org.name, slug: org.slug },
    regions,
    deadlines: deadlines.map((d) => ({ ...d, deadline: d.deadline.toISOString() })),
  }
}

export default function OrgOverview() {
  const { org, regions, deadlines } = useLoaderData<typeof loader>()
  return (
    <>
      <OrgNav slug={org.slug} name={org.name} />
      <section className="card">
        <h1>{org.name}</h1>
        <h2>Compliance per region</h2>
        <ComplianceChart rows={regions} />
        <p className="hint">Status under this organization's policy. <Link to={`/orgs/${org.slug}/members?status=overdue`}>See overdue members</Link> · <Link to={`/orgs/${org.slug}/policy`}>Change the policy</Link></p>
      </section>
      <section className="card">
        <h2>Next deadlines</h2>
        {deadlines.length === 0 ? <p>No member is waiting on a deadline.</p> : (
          <table>
            <thead><tr><th>Member</th><th>Region</th><th>Deadline</th></tr></thead>
            <tbody>
              {deadlines.map((d) => (
                <tr key={d.userId}><td>{d.name} <span className="muted">{d.email}</span></td><td>{d.region.toUpperCase()}</td><td><Time value={d.deadline} style="date" /></td></tr>
              ))}
            </tbody>
          </table>
        )}
        <p className="row">
          <Link to={`/orgs/${org.slug}/members`}>Members</Link>
          <Link to={`/orgs/${org.slug}/policy`}>Policy</Link>
          <Link to={`/orgs/${org.slug}/exemptions`}>Exemptions</Link>
          <Link to={`/orgs/${org.slug}/audit`}>Audit log</Link>
        </p>
      </section>
    </>
  )
}
