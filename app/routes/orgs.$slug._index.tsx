import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireOrgRole } from '#app/auth/guards.server.ts'
import { countMembersByRegion, listOrgRegions } from '#app/orgs/organizations.server.ts'

export const meta: MetaFunction<typeof loader> = ({ data }) => [{ title: `${data?.org.name ?? 'Organization'} · Gatehouse` }]

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const [regions, counts] = await Promise.all([listOrgRegions(scope), countMembersByRegion(scope)])
  return {
    org: { name: org.name, slug: org.slug },
    regions: regions.map((r) => ({ region: r.region, mode: r.mode, members: counts.find((c) => c.region === r.region)?.members ?? 0 })),
  }
}

export default function OrgOverview() {
  const { org, regions } = useLoaderData<typeof loader>()
  return (
    <section className="card">
      <h1>{org.name}</h1>
      <table>
        <thead><tr><th>Region</th><th>MFA policy</th><th>Members</th></tr></thead>
        <tbody>
          {regions.map((r) => (
            <tr key={r.region}><td>{r.region.toUpperCase()}</td><td>{r.mode}</td><td>{r.members}</td></tr>
          ))}
        </tbody>
      </table>
    </section>
  )
}
