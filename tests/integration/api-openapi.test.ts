/**
 * /api/openapi.json is a valid OpenAPI 3.1 document (the official schema, and our own checks) that lists every registry
 * route, and every registry route is really served (no route file missing).
 */
import { Validator } from '@seriousme/openapi-schema-validator'
import { beforeAll, describe, expect, it } from 'vitest'
import { ENDPOINTS } from '#app/api/registry.server.ts'
import { openApiPath } from '#app/api/openapi.server.ts'
import { HTTP_STATUS as ERROR_STATUS } from '#app/http/domain-error.server.ts'
import { seedDemo } from '#db/seed.ts'
import { apiCall, fillPath } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

let base: string
let doc: any
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  const res = await apiCall(base, '/api/openapi.json')
  expect(res.status).toBe(200)
  doc = res.body
})

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']

function resolveRef(root: unknown, ref: string) {
  expect(ref.startsWith('#/'), `only local refs: ${ref}`).toBe(true)
  let node: any = root
  for (const raw of ref.slice(2).split('/')) {
    const part = raw.replace(/~1/g, '/').replace(/~0/g, '~')
    if (node === null || typeof node !== 'object' || !(part in node)) return undefined
    node = node[part]
  }
  return node
}

function* walk(node: unknown, path = '#'): Generator<[string, Record<string, unknown>]> {
  if (Array.isArray(node)) for (let i = 0; i < node.length; i++) yield* walk(node[i], `${path}/${i}`)
  else if (node && typeof node === 'object') {
    yield [path, node as Record<string, unknown>]
    for (const [k, v] of Object.entries(node)) yield* walk(v, `${path}/${k}`)
  }
}

describe('OpenAPI document', () => {
  it('validates against the official OpenAPI 3.1 schema', async () => {
    const validator = new Validator()
    const result = await validator.validate(structuredClone(doc))
    expect(result.errors ?? []).toEqual([])
    expect(result.valid).toBe(true)
    expect(validator.version).toBe('3.1')
    // The validator can fail: a document missing its info object is refused.
    const broken = structuredClone(doc)
    delete broken.info
    expect((await new Validator().validate(broken)).valid).toBe(false)
  })

  it('is OpenAPI 3.1 with info and paths', () => {
    expect(doc.openapi).toMatch(/^3\.1\.\d+$/)
    expect(typeof doc.info.title).toBe('string')
    expect(typeof doc.info.version).toBe('string')
    expect(Object.keys(doc.paths).length).toBeGreaterThan(0)
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' })
  })

  it('every operation has a unique operationId, responses with a success, declared path parameters, and known security', () => {
    const ids = new Set<string>()
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      expect(path.startsWith('/api/'), path).toBe(true)
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort()
      for (const [method, op] of Object.entries<any>(item)) {
        expect(METHODS, `${path} ${method}`).toContain(method)
        expect(typeof op.operationId).toBe('string')
        expect(ids.has(op.operationId), `duplicate operationId ${op.operationId}`).toBe(false)
        ids.add(op.operationId)
        expect(typeof op.summary).toBe('string')
        const codes = Object.keys(op.responses ?? {})
        expect(codes.length, `${method} ${path} has responses`).toBeGreaterThan(0)
        expect(codes.some((c) => /^2\d\d$/.test(c)), `${method} ${path} has a success response`).toBe(true)
        for (const c of codes) expect(c).toMatch(/^[1-5]\d\d$|^default$/)
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort()
        expect(declared, `${method} ${path} path parameters`).toEqual(templated)
        for (const p of op.parameters ?? []) {
          expect(['path', 'query', 'header', 'cookie']).toContain(p.in)
          if (p.in === 'path') expect(p.required).toBe(true)
          expect(p.schema).toBeTypeOf('object')
        }
        for (const req of op.security ?? []) for (const name of Object.keys(req)) expect(doc.components.securitySchemes).toHaveProperty(name)
        if (op.requestBody) expect(op.requestBody.content['application/json'].schema).toBeTypeOf('object')
      }
    }
  })

  it('every $ref resolves', () => {
    let refs = 0
    for (const [at, node] of walk(doc)) {
      if (typeof node.$ref === 'string') {
        refs++
        expect(resolveRef(doc, node.$ref), `${at}: ${node.$ref}`).toBeDefined()
      }
    }
    expect(refs).toBeGreaterThan(0)
  })

  it('lists every registry route with its method, and nothing else', () => {
    const listed = Object.entries<any>(doc.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path}`)).sort()
    const registered = ENDPOINTS.map((e) => `${e.method} ${e.path.replace(/:(\w+)/g, '{$1}')}`).sort()
    expect(listed).toEqual(registered)
    expect(listed).toContain('POST /api/auth/signin')
    expect(listed).toContain('GET /api/openapi.json')
  })

  it('documents request bodies as strict objects and scopes of key-accessible organization endpoints', () => {
    const signin = doc.paths['/api/auth/signin'].post
    expect(signin.requestBody.content['application/json'].schema).toMatchObject({ type: 'object', additionalProperties: false, required: ['email', 'password'] })
    expect(signin.security).toEqual([])
    expect(doc.paths['/api/organizations/{orgId}'].get['x-api-key-scopes']).toEqual(['policy:read'])
  })
})

describe('error codes', () => {
  const errorCodes = (op: any) =>
    Object.entries<any>(op.responses)
      .filter(([status]) => Number(status) >= 400)
      .flatMap(([status, r]) => (r.content['application/json'].schema.allOf[1].properties.error.properties.code.enum as string[]).map((code) => [code, Number(status)] as const))

  it('every error answer lists its codes, each from the catalogue and under the catalogue’s status', () => {
    for (const [path, item] of Object.entries<any>(doc.paths)) {
      for (const [method, op] of Object.entries<any>(item)) {
        const codes = errorCodes(op)
        expect(codes.length, `${method} ${path}`).toBeGreaterThan(0)
        for (const [code, status] of codes) {
          expect(Object.keys(ERROR_STATUS), `${method} ${path}: ${code}`).toContain(code)
          expect(status, `${method} ${path}: ${code}`).toBe(ERROR_STATUS[code as keyof typeof ERROR_STATUS])
        }
        for (const [status, r] of Object.entries<any>(op.responses)) {
          if (Number(status) >= 400) expect(r.content['application/json'].schema.allOf[0]).toEqual({ $ref: '#/components/schemas/Error' })
        }
      }
    }
  })

  it('lists what each endpoint declares, and what the wrapper answers for it', () => {
    for (const e of ENDPOINTS) {
      const codes = errorCodes(doc.paths[openApiPath(e.path)][e.method.toLowerCase()]).map(([c]) => c)
      for (const declared of e.errors ?? []) expect(codes, `${e.method} ${e.path}`).toContain(declared)
      expect(codes).toContain('rate_limited')
      if (e.auth !== 'none') expect(codes, `${e.method} ${e.path}`).toContain('unauthorized')
      if (e.org) expect(codes, `${e.method} ${e.path}`).toEqual(expect.arrayContaining(['not_found', 'forbidden']))
      if (e.method !== 'GET') expect(codes, `${e.method} ${e.path}`).toEqual(expect.arrayContaining(['invalid_request', 'invalid_json', 'payload_too_large', 'unsupported_media_type']))
    }
    const signin = Object.fromEntries(errorCodes(doc.paths['/api/auth/signin'].post))
    expect(signin).toMatchObject({ invalid_credentials: 401, sign_in_blocked: 403, account_locked: 403, rate_limited: 429 })
    expect(signin).not.toHaveProperty('unauthorized')
    const put = errorCodes(doc.paths['/api/organizations/{orgId}/security/regions/{region}'].put).map(([c]) => c)
    expect(put).toEqual(expect.arrayContaining(['insufficient_scope', 'mfa_required', 'step_up_required', 'person_required', 'exemption_required']))
    expect(errorCodes(doc.paths['/api/openapi.json'].get).map(([c]) => c).sort()).toEqual(['method_not_allowed', 'rate_limited'])
  })

  it('an answered error is documented for its endpoint', async () => {
    const res = await apiCall(base, '/api/auth/signin', { method: 'POST', json: { email: 'nobody@acme.test', password: 'wrong-password', region: 'us' } })
    expect(res.status).toBe(401)
    expect(Object.fromEntries(errorCodes(doc.paths['/api/auth/signin'].post))[res.body.error.code]).toBe(401)
  })
})

describe('routing', () => {
  it('every registry route is served by a route module (a token-less call never reaches the catch-all)', async () => {
    for (const e of ENDPOINTS) {
      const path = fillPath(e.path, Object.fromEntries([...e.path.matchAll(/:(\w+)/g)].map((m) => [m[1], '00000000-0000-4000-8000-000000000000'])))
      const res = await apiCall(base, path, { method: e.method, json: e.method === 'GET' ? undefined : {} })
      const expected = e.auth === 'none' || e.auth === 'optional_session' ? [200, 400] : [401]
      expect(expected, `${e.method} ${e.path} answered ${res.status} ${JSON.stringify(res.body).slice(0, 200)}`).toContain(res.status)
    }
  })
})
