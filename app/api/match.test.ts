import { describe, expect, it } from 'vitest'
import { matchEndpoints } from './match.ts'

const endpoints = [
  { method: 'GET', path: '/api/me' },
  { method: 'GET', path: '/api/openapi.json' },
  { method: 'GET', path: '/api/auth/sessions/:id' },
  { method: 'DELETE', path: '/api/auth/sessions/:id' },
  { method: 'GET', path: '/api/auth/sessions/current' },
  { method: 'POST', path: '/api/organizations/:orgId/invitations/:invitationId' },
]

describe('matching a request path to the registry', () => {
  it('finds the path, every method on it, and the decoded parameters', () => {
    const m = matchEndpoints(endpoints, '/api/auth/sessions/a%20b')
    expect(m?.path).toBe('/api/auth/sessions/:id')
    expect(m?.candidates.map((e) => e.method)).toEqual(['GET', 'DELETE'])
    expect(m?.params).toEqual({ id: 'a b' })
    expect(matchEndpoints(endpoints, '/api/organizations/acme/invitations/x')?.params).toEqual({ orgId: 'acme', invitationId: 'x' })
  })

  it('prefers a literal path over a parameter, allows one trailing slash, ignores case in literals', () => {
    expect(matchEndpoints(endpoints, '/api/auth/sessions/current')?.path).toBe('/api/auth/sessions/current')
    expect(matchEndpoints(endpoints, '/api/me/')?.path).toBe('/api/me')
    expect(matchEndpoints(endpoints, '/API/Me')?.path).toBe('/api/me')
  })

  it('matches nothing else', () => {
    for (const p of ['/api', '/api/', '/api/me/x', '/api/openapiXjson', '/api/auth/sessions/', '/api/auth/sessions/a/b', '/api/me//']) {
      expect(matchEndpoints(endpoints, p), p).toBeNull()
    }
  })
})
