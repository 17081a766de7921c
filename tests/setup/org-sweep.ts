/**
 * The cross-organization sweep: every organization-scoped endpoint in the registry, called with
 * another organization's id (and slug) by a caller who is not in it, must answer 404 in the
 * error shape and write nothing. New endpoints are covered as soon as they are registered.
 */
import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { orgScopedEndpoints } from '#app/api/registry.server.ts'
import { sql as pg } from '#db/client.ts'
import { apiCall, fillPath } from './api.ts'

/**
 * The tables a request could write, each with the columns that legitimately change on a read:
 * using a session or an API key touches when it was last seen or used (and slides the session's
 * idle expiry), which is not a write of the request's data.
 */
const WATCHED: Record<string, string[]> = {
  organizations: [],
  memberships: [],
  membership_reminders: [],
  users: [],
  region_policies: [],
  exemptions: [],
  deadline_extensions: [],
  api_keys: ['last_used_at'],
  audit_events: [],
  audit_anchors: [],
  notification_runs: [],
  outbound_emails: [],
  grace_reminders: [],
  support_requests: [],
  verifications: [],
  totp_factors: [],
  webauthn_credentials: [],
  recovery_codes: [],
  trusted_devices: [],
  sessions: ['last_seen_at', 'idle_expires_at'],
  sso_configs: [],
  sso_domains: [],
}

/**
 * Per table: its row count and an md5 of every row's contents (minus the columns above), so an
 * UPDATE that changes no count is still seen. Compare two snapshots with toEqual: a difference
 * names the table.
 */
export async function snapshot(): Promise<Record<string, string>> {
  const out: Record<string, string> = {}
  for (const [table, ignored] of Object.entries(WATCHED)) {
    const minus = ignored.map((c) => ` - '${c}'`).join('')
    const [row] = await pg.unsafe<{ n: number; h: string }[]>(
      `select count(*)::int as n, coalesce(md5(string_agg(r, ',' order by r)), '') as h from (select (to_jsonb(t)${minus})::text as r from ${table} t) x`,
    )
    out[table] = `${row.n} rows, md5 ${row.h}`
  }
  return out
}

export async function sweepOtherOrganization(input: { base: string; token: string; foreignOrg: { id: string; slug: string }; label: string }) {
  const endpoints = orgScopedEndpoints()
  expect(endpoints.length, 'the registry lists organization-scoped endpoints').toBeGreaterThan(0)
  const before = await snapshot()
  const answers: string[] = []
  for (const e of endpoints) {
    for (const ref of [input.foreignOrg.id, input.foreignOrg.slug]) {
      const params: Record<string, string> = { orgId: ref }
      for (const [, name] of e.path.matchAll(/:(\w+)/g)) if (name !== 'orgId') params[name] = randomUUID()
      const path = fillPath(e.path, params)
      const res = await apiCall(input.base, path, { method: e.method, token: input.token, json: e.method === 'GET' ? undefined : {} })
      answers.push(`${e.method} ${e.path} (${ref === input.foreignOrg.id ? 'id' : 'slug'}) as ${input.label}: ${res.status} ${res.body?.error?.code ?? ''}`)
    }
  }
  expect(answers).toEqual(answers.map((a) => a.replace(/: \d+ .*$/, ': 404 not_found')))
  expect(await snapshot(), 'nothing written').toEqual(before)
  return endpoints.length
}
