import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOrgRole } from '#app/auth/guards.server.ts'
import { exportMembersCsv, parseMemberQuery } from '#app/orgs/members.server.ts'

/** CSV of the filtered members (same filters and order as the table, every page). */
export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope } = await requireOrgRole(request, params.slug ?? '', 'admin')
  const csv = await exportMembersCsv(scope, parseMemberQuery(new URL(request.url)))
  return new Response(csv, {
    headers: { 'Content-Type': 'text/csv; charset=utf-8', 'Content-Disposition': `attachment; filename="${org.slug}-members.csv"`, 'Cache-Control': 'no-store' },
  })
}
