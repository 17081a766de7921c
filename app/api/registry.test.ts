import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { defineEndpoint } from './define.server.ts'
import { ENDPOINTS, registryProblems } from './registry.server.ts'

const base = { tag: 't', summary: 's', response: z.object({}), handler: async () => ({}) }

describe('API registry checks', () => {
  it('the real registry has no problems', () => {
    expect(registryProblems(ENDPOINTS)).toEqual([])
  })

  it('refuses endpoints that would skip organization scoping or accept unknown fields', () => {
    const problems = registryProblems([
      defineEndpoint({ ...base, method: 'GET', path: '/api/organizations/:orgId/leak', auth: 'session' }),
      defineEndpoint({ ...base, method: 'GET', path: '/api/x/:id', auth: 'session' }),
      defineEndpoint({ ...base, method: 'POST', path: '/api/y', auth: 'session', body: z.object({ a: z.string() }) }),
      defineEndpoint({ ...base, method: 'POST', path: '/api/y', auth: 'session', body: z.object({ a: z.string() }).strict() }),
      defineEndpoint({ ...base, method: 'GET', path: '/api/organizations/:orgId/z', auth: 'none', org: { role: 'admin', scopes: [] } }),
    ])
    expect(problems).toEqual([
      expect.stringContaining('GET /api/organizations/:orgId/leak: a path with :orgId needs `org`'),
      expect.stringContaining('GET /api/x/:id: path parameter :id'),
      expect.stringContaining('POST /api/y: declare the body with .strict()'),
      expect.stringContaining('POST /api/y: registered twice'),
      expect.stringContaining('GET /api/organizations/:orgId/z: an organization-scoped endpoint needs a token'),
    ])
  })
})
