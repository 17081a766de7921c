import type { LoaderFunctionArgs } from '@remix-run/node'
import { requireOrgRole } from '#app/auth/guards.server.ts'
import { exportOrgAuditCsv, parseAuditQuery } from '#app/audit/query.server.ts'

export async function loader({ request, params }: LoaderFunctionArgs) {
  const { org, scope } = await requireOrgRole(request, params.slug ?? '', 'admin')
  // At most AUDIT_CSV_MAX_ROWS events per file; beyond that the file ends with a TRUNCATED line and
  // the response carries X-Export-Truncated: true, so a cut-off export is never mistaken for a whole one.
  const { csv, truncated } = await exportOrgAuditCsv(scope, parseAuditQuery(new URL(request.url)))
  return new Response(csv, {
    headers: {
      'Content-Type': 'text/csv; charset=utf-8',
      'Content-Disposition': `attachment; filename="${org.slug}-audit.csv"`,
      'Cache-Control': 'no-store',
      'X-Export-Truncated': String(truncated),
    },
  })
}
