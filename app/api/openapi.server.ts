/** The OpenAPI 3.1 document, generated from the endpoint registry (never written by hand). */
import { config } from '#app/config/env.server.ts'
import { toJsonSchema, type JsonSchema } from './json-schema.server.ts'
import type { AnyEndpoint } from './define.server.ts'
import type { ErrorCode } from '#app/errors.ts'
import { httpStatus } from '#app/http/domain-error.server.ts'

const ERROR_STATUSES: Record<number, string> = {
  400: 'Malformed JSON, wrong types, missing or unknown fields',
  401: 'Missing, invalid, expired or revoked bearer token',
  403: 'Not allowed: missing scope, role, step-up, or an enrollment-only token',
  404: 'No such resource, or another organization’s',
  405: 'Method not allowed on this path',
  413: 'Request body too large',
  409: 'Conflicts with the current state (e.g. an authenticator app is already on)',
  415: 'Request body is not JSON',
  429: 'Rate limited; see Retry-After',
  503: 'A service the request needs is down (e.g. email cannot be sent); try again later',
}

/**
 * Every error code an endpoint may answer, from the catalogue: the wrapper's own checks (derived
 * from what the endpoint declares: auth, organization, parameters, body, query) and the codes its
 * handler declares in `errors` (decision 065).
 */
export function endpointErrorCodes(e: AnyEndpoint): ErrorCode[] {
  const codes: ErrorCode[] = ['method_not_allowed', 'rate_limited']
  if (e.method !== 'GET') codes.push('invalid_json', 'invalid_request', 'payload_too_large', 'unsupported_media_type')
  else if (e.query) codes.push('invalid_request')
  if (e.auth !== 'none') {
    codes.push('unauthorized')
    if (!e.enrollmentAllowed) codes.push('enrollment_required')
    if (e.auth === 'session_or_key') codes.push('exemption_required')
    else if (e.auth !== 'optional_session') codes.push('forbidden')
  }
  if (e.org) {
    codes.push('not_found', 'forbidden')
    if (e.auth === 'session_or_key') codes.push('insufficient_scope')
    if (e.method !== 'GET') codes.push('mfa_required')
  }
  if (e.params) codes.push('not_found')
  codes.push(...(e.errors ?? []))
  return [...new Set(codes)]
}

function errorResponse(status: number, codes: ErrorCode[]) {
  const schema = {
    allOf: [
      { $ref: '#/components/schemas/Error' },
      { type: 'object', properties: { error: { type: 'object', properties: { code: { type: 'string', enum: codes } } } } },
    ],
  }
  return { description: `${ERROR_STATUSES[status] ?? 'Error'}: ${codes.join(', ')}`, content: { 'application/json': { schema } } }
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
    const byStatus = new Map<number, ErrorCode[]>()
    for (const code of endpointErrorCodes(e)) byStatus.set(httpStatus(code), [...(byStatus.get(httpStatus(code)) ?? []), code])
    for (const [status, codes] of [...byStatus].sort(([a], [b]) => a - b)) responses[String(status)] = errorResponse(status, codes)
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
