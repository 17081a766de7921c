/**
 * The cross-organization sweep: every organization-scoped endpoint in the registry, called with
 * another organization's id (and slug) by a caller who is not in it, must answer 404 in the
 * error shape and write nothing. New endpoints are covered as soon as they are registered.
 */
import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { orgScopedEndpoints } from '#app/api/registry.server.ts'
import { db, schema } from '#db/client.ts'
import { apiCall, fillPath } from './api.ts'

export async function snapshot() {
  const tables = [schema.auditEvents, schema.apiKeys, schema.regionPolicies, schema.memberships, schema.exemptions, schema.deadlineExtensions, schema.organizations]
  return Promise.all(tables.map(async (t) => (await db.select().from(t)).length))
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
