/** The OpenAPI 3.1 document, generated from the endpoint registry (never written by hand). */
import { config } from '#app/config/env.server.ts'
import { toJsonSchema, type JsonSchema } from './json-schema.server.ts'
import type { AnyEndpoint } from './define.server.ts'

const ERROR_STATUSES: Record<string, string> = {
  '400': 'Malformed JSON, wrong types, missing or unknown fields',
  '401': 'Missing, invalid, expired or revoked bearer token',
  '403': 'Not allowed: missing scope, role, step-up, or an enrollment-only token',
  '404': 'No such resource, or another organization’s',
  '405': 'Method not allowed on this path',
  '413': 'Request body too large',
  '409': 'Conflicts with the current state (e.g. an authenticator app is already on)',
  '415': 'Request body is not JSON',
  '429': 'Rate limited; see Retry-After',
  '503': 'A service the request needs is down (e.g. email cannot be sent); try again later',
}

/** `/api/organizations/:orgId` → `/api/organizations/{orgId}` */
export const openApiPath = (path: string) => path.replace(/:(\w+)/g, '{$1}')

export function buildOpenApiDocument(endpoints: readonly AnyEndpoint[]) {
  const paths: Record<string, Record<string, unknown>> = {}
  for (const e of endpoints) {
    const pathItem = (paths[openApiPath(e.path)] ??= {})
    const parameters: JsonSchema[] = []
    for (const [, name] of e.path.matchAll(/:(\w+)/g)) {
      const shape = (e.params?.shape ?? {}) as Record<string, never>
      parameters.push({
        name,
        in: 'path',
        required: true,
        schema: name === 'orgId' ? { type: 'string', description: 'Organization id (or slug)' } : shape[name] ? toJsonSchema(shape[name]) : { type: 'string' },
      })
    }
    if (e.query) {
      const q = toJsonSchema(e.query) as { properties: Record<string, JsonSchema>; required?: string[] }
      for (const [name, schema] of Object.entries(q.properties)) parameters.push({ name, in: 'query', required: q.required?.includes(name) ?? false, schema })
    }
    const status = String(e.status ?? 200)
    const responses: Record<string, unknown> = {
      [status]: {
        description: 'Success',
        content: {
          'application/json': {
            schema: e.unwrapped ? toJsonSchema(e.response) : { type: 'object', properties: { data: toJsonSchema(e.response) }, required: ['data'], additionalProperties: false },
          },
        },
      },
    }
    const errors = ['405', '429']
    if (e.method !== 'GET') errors.push('400', '413', '415')
    else if (e.query) errors.push('400')
    if (e.auth !== 'none') errors.push('401', '403')
    if (e.org || e.params) errors.push('404')
    for (const extra of e.errors ?? []) if (!errors.includes(String(extra))) errors.push(String(extra))
    for (const code of errors.sort()) responses[code] = { $ref: `#/components/responses/Error${code}` }
    const operation: Record<string, unknown> = {
      operationId: operationId(e),
      summary: e.summary,
      tags: [e.tag],
      responses,
    }
    const notes = [e.description]
    if (e.org) notes.push(`Organization-scoped: members with role ${e.org.role} or above${e.auth === 'session_or_key' ? `, or an API key of this organization with scopes: ${e.org.scopes.join(', ') || 'any'}` : ''}.`)
    if (e.enrollmentAllowed) notes.push('Reachable with an enrollment-only token.')
    if (notes.some(Boolean)) operation.description = notes.filter(Boolean).join('\n\n')
    if (parameters.length) operation.parameters = parameters
    if (e.method !== 'GET' && e.body) {
      operation.requestBody = { required: true, content: { 'application/json': { schema: toJsonSchema(e.body) } } }
    }
    operation.security = e.auth === 'none' ? [] : e.auth === 'optional_session' ? [{}, { bearer: [] }] : [{ bearer: [] }]
    if (e.org && e.auth === 'session_or_key') operation['x-api-key-scopes'] = e.org.scopes
    pathItem[e.method.toLowerCase()] = operation
  }

  const errorResponses: Record<string, unknown> = {}
  for (const [code, description] of Object.entries(ERROR_STATUSES)) {
    errorResponses[`Error${code}`] = { description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } }
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Gatehouse API',
      version: '1',
      description:
        'JSON in and out. Authenticate with `Authorization: Bearer <token>`: a session token from POST /api/auth/signin, or an organization API key (`ghk_…`). Cookies are not accepted. Errors are `{ "error": { "code", "message" } }`.',
    },
    servers: [{ url: config.appOrigin }],
    paths,
    components: {
      securitySchemes: { bearer: { type: 'http', scheme: 'bearer', description: 'API session token or organization API key' } },
      schemas: {
        Error: {
          type: 'object',
          required: ['error'],
          properties: {
            error: {
              type: 'object',
              required: ['code', 'message'],
              properties: {
                code: { type: 'string' },
                message: { type: 'string' },
                fields: { type: 'object', additionalProperties: { type: 'string' }, description: 'Per-field problems (400 only)' },
              },
            },
          },
        },
      },
      responses: errorResponses,
    },
  }
}

function operationId(e: AnyEndpoint) {
  const words = e.path
    .replace(/^\/api\//, '')
    .split(/[/.-]/)
    .filter((w) => w && !w.startsWith(':'))
  const by = [...e.path.matchAll(/:(\w+)/g)].map((m) => m[1]).filter((p) => p !== 'orgId')
  return [e.method.toLowerCase(), ...words, ...by.map((p) => `by-${p}`)].map((w, i) => (i === 0 ? w : w.split('-').map((x) => x[0].toUpperCase() + x.slice(1)).join(''))).join('')
}
