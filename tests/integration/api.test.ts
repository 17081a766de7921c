/**
 * The JSON API over real HTTP: the error contract of the wrapper on real endpoints, bearer
 * authentication (and cookies ignored), sign-in, sign-out, /api/me.
 */
import { eq } from 'drizzle-orm'
import { beforeAll, describe, expect, it } from 'vitest'
import { createSession } from '#app/auth/session.server.ts'
import { db, schema } from '#db/client.ts'
import { findDemoUser, seedDemo } from '#db/seed.ts'
import { apiCall, apiSignIn, type ApiAnswer } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { signIn, TestClient } from '#tests/setup/http.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

const NO_REQUEST = { ip: null, userAgent: null }

function expectError(res: ApiAnswer, status: number, code: string) {
  expect({ status: res.status, body: res.body }).toMatchObject({ status, body: { error: { code, message: expect.any(String) } } })
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  expect(Object.keys(res.body)).toEqual(['error'])
}

const countRows = async () => ({
  sessions: (await db.select().from(schema.sessions)).length,
  audit: (await db.select().from(schema.auditEvents)).length,
  apiKeys: (await db.select().from(schema.apiKeys)).length,
})

describe('sign-in', () => {
  it('answers a token and the user, and the token works as a bearer on /api/me', async () => {
    const res = await apiCall(base, '/api/auth/signin', { json: { email: 'Member@Acme.test ', password: 'correct horse battery staple', region: 'us' } })
    expect(res.status).toBe(200)
    expect(res.headers.get('cache-control')).toBe('no-store')
    expect(res.headers.getSetCookie()).toEqual([])
    expect(res.body.data).toMatchObject({ token: expect.any(String), enrollmentOnly: false, user: { email: 'member@acme.test', name: 'Mia Member', region: 'us', kind: 'human' } })
    const me = await apiCall(base, '/api/me', { token: res.body.data.token })
    expect(me.status).toBe(200)
    expect(me.body.data.user.email).toBe('member@acme.test')
    expect(me.body.data.session.level).toBe('password')
    expect(me.body.data.organizations).toEqual([expect.objectContaining({ slug: 'acme', role: 'member' })])
    // The session is an API session: it is not a web cookie session.
    const [row] = await db.select().from(schema.sessions).where(eq(schema.sessions.userId, me.body.data.user.id))
    expect(row.channel).toBe('api')
  })

  it('gives the same answer for an unknown email and a wrong password, and counts the failure', async () => {
    const user = await findDemoUser('admin@acme.test')
    const wrong = await apiCall(base, '/api/auth/signin', { json: { email: 'admin@acme.test', password: 'nope', region: 'us' } })
    const unknown = await apiCall(base, '/api/auth/signin', { json: { email: 'ghost@acme.test', password: 'nope', region: 'us' } })
    const otherRegion = await apiCall(base, '/api/auth/signin', { json: { email: 'admin@acme.test', password: 'correct horse battery staple', region: 'eu' } })
    for (const res of [wrong, unknown, otherRegion]) expectError(res, 401, 'invalid_credentials')
    expect(unknown.body).toEqual(wrong.body)
    expect(otherRegion.body).toEqual(wrong.body)
    const [after] = await db.select().from(schema.users).where(eq(schema.users.id, user.id))
    expect(after.failedAttempts).toBe(1)
  })

  it('answers 429 with Retry-After for a locked account', async () => {
    const user = await findDemoUser('eu.member@acme.test')
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 3_600_000) }).where(eq(schema.users.id, user.id))
    const res = await apiCall(base, '/api/auth/signin', { json: { email: 'eu.member@acme.test', password: 'correct horse battery staple', region: 'eu' } })
    expectError(res, 429, 'account_locked')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThan(3000)
    // A frozen account (the member's "freeze my account" link) is 403 with no wait to retry after.
    await db.update(schema.users).set({ lockedUntil: new Date(Date.now() + 100 * 365 * 86_400_000) }).where(eq(schema.users.id, user.id))
    const frozen = await apiCall(base, '/api/auth/signin', { json: { email: 'eu.member@acme.test', password: 'correct horse battery staple', region: 'eu' } })
    expectError(frozen, 403, 'account_locked')
    expect(frozen.headers.get('retry-after')).toBeNull()
    await db.update(schema.users).set({ lockedUntil: null }).where(eq(schema.users.id, user.id))
  })

  it('refuses bad input with 400 and field messages, never echoing the password, and writes nothing', async () => {
    const before = await countRows()
    const cases: [unknown, string][] = [
      [{ email: 'member@acme.test', password: 42, region: 'us' }, 'password'],
      [{ email: 'not-an-email', password: 'secret-123', region: 'us' }, 'email'],
      [{ email: 'member@acme.test', password: 'secret-123', region: 'mars' }, 'region'],
      [{ email: 'member@acme.test', password: 'secret-123', region: 'us', admin: true }, 'admin'],
      [{ email: 'member@acme.test', password: 'p'.repeat(5000), region: 'us' }, 'password'],
      [['member@acme.test'], 'body'],
      ['just a string', 'body'],
      [null, 'body'],
    ]
    for (const [json, field] of cases) {
      const res = await apiCall(base, '/api/auth/signin', { json })
      expectError(res, 400, 'invalid_request')
      expect(Object.keys(res.body.error.fields)).toContain(field)
      expect(JSON.stringify(res.body)).not.toContain('secret-123')
      expect(JSON.stringify(res.body)).not.toContain('ppppp')
    }
    expect(await countRows()).toEqual(before)
  })
})

describe('the error contract', () => {
  it('malformed JSON is 400 invalid_json', async () => {
    for (const body of ['{"email": ', '{email: 1}', '\u0000', '{"a":1}}']) {
      const res = await apiCall(base, '/api/auth/signin', { body, headers: { 'content-type': 'application/json' } })
      expectError(res, 400, 'invalid_json')
    }
  })

  it('a body that is not JSON is 415; a charset or +json type is fine', async () => {
    const form = await apiCall(base, '/api/auth/signin', { body: 'email=a@b.c&password=x&region=us', headers: { 'content-type': 'application/x-www-form-urlencoded' } })
    expectError(form, 415, 'unsupported_media_type')
    const none = await apiCall(base, '/api/auth/signin', { body: JSON.stringify({ email: 'a@b.c', password: 'x', region: 'us' }), headers: { 'content-type': '' } })
    expectError(none, 415, 'unsupported_media_type')
    const charset = await apiCall(base, '/api/auth/signin', { body: '{}', headers: { 'content-type': 'application/json; charset=utf-8' } })
    expectError(charset, 400, 'invalid_request')
    const plusJson = await apiCall(base, '/api/auth/signin', { body: '{}', headers: { 'content-type': 'application/vnd.gatehouse+json' } })
    expectError(plusJson, 400, 'invalid_request')
  })

  it('an oversized body is 413, whether or not Content-Length says so', async () => {
    const big = JSON.stringify({ email: 'member@acme.test', password: 'x', region: 'us', pad: 'a'.repeat(70_000) })
    const declared = await apiCall(base, '/api/auth/signin', { body: big, headers: { 'content-type': 'application/json' } })
    expectError(declared, 413, 'payload_too_large')
    // Chunked: no Content-Length at all; the server counts the bytes as they arrive.
    const bytes = new TextEncoder().encode(big)
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 8192) controller.enqueue(bytes.slice(i, i + 8192))
        controller.close()
      },
    })
    const res = await fetch(new URL('/api/auth/signin', base), { method: 'POST', body: stream, headers: { 'content-type': 'application/json' }, duplex: 'half' } as RequestInit)
    expect(res.status).toBe(413)
    expect((await res.json()).error.code).toBe('payload_too_large')
    // Just under the limit is read normally (and fails validation on the unknown field).
    const fits = await apiCall(base, '/api/auth/signin', { json: { email: 'member@acme.test', password: 'x', region: 'us', pad: 'a'.repeat(60_000) } })
    expectError(fits, 400, 'invalid_request')
  })

  it('an unknown route is 404 in the error shape, for any method; a wrong method is 405 with Allow', async () => {
    for (const [path, method] of [['/api/nope', 'GET'], ['/api/nope/deeper', 'POST'], ['/api', 'GET'], ['/api/me/extra', 'DELETE']] as const) {
      expectError(await apiCall(base, path, { method }), 404, 'not_found')
    }
    const get = await apiCall(base, '/api/auth/signin')
    expectError(get, 405, 'method_not_allowed')
    expect(get.headers.get('allow')).toBe('POST')
    const del = await apiCall(base, '/api/me', { method: 'DELETE' })
    expectError(del, 405, 'method_not_allowed')
    expect(del.headers.get('allow')).toBe('GET')
  })
})

describe('paths Remix or Express would answer in their own way', () => {
  it('single-fetch data URLs and undecodable paths still answer in the API error shape', async () => {
    const token = await apiSignIn(base, 'admin@acme.test')
    for (const path of ['/api/me.data', '/api/openapi.json.data', '/api/organizations/acme/api-keys.data']) {
      expectError(await apiCall(base, path, { token }), 404, 'not_found')
    }
    expectError(await apiCall(base, '/api/organizations/%ZZ', { token }), 400, 'invalid_request')
    // A trailing slash is the same endpoint; OPTIONS is a method like any other.
    expect((await apiCall(base, '/api/me/', { token })).status).toBe(200)
    expectError(await apiCall(base, '/api/me', { method: 'OPTIONS', token }), 405, 'method_not_allowed')
  })
})

describe('bearer authentication', () => {
  it('a missing, malformed or unknown token is 401 with WWW-Authenticate', async () => {
    const cases: (Record<string, string> | undefined)[] = [
      undefined,
      { authorization: 'Basic dXNlcjpwYXNz' },
      { authorization: 'Bearer' },
      { authorization: 'Bearer not-a-real-token' },
      { authorization: 'Bearer ghk_not-a-real-key' },
      { authorization: `Bearer ${'a'.repeat(500)}` },
    ]
    for (const headers of cases) {
      const res = await apiCall(base, '/api/me', { headers })
      expectError(res, 401, 'unauthorized')
      expect(res.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
  })

  it('ignores cookies: a web session cookie does not authenticate under /api, and a web token is not a bearer', async () => {
    const client = new TestClient(base)
    await signIn(client, 'member@acme.test')
    const cookie = client.cookies.get('gh_session')!
    expect(cookie).toBeTruthy()
    const withCookie = await client.get('/api/me')
    expect(withCookie.status).toBe(401)
    expect((await withCookie.json()).error.code).toBe('unauthorized')
    // A web session's token presented as a bearer is refused too: channels do not mix.
    expectError(await apiCall(base, '/api/me', { token: decodeURIComponent(cookie) }), 401, 'unauthorized')
    // And the API token is no cookie: the web does not accept it.
    const apiToken = await apiSignIn(base, 'member@acme.test')
    const web = new TestClient(base)
    web.cookies.set('gh_session', apiToken)
    expect((await web.get('/')).status).not.toBe(200)
  })

  it('a signed-out, expired or ended token is 401', async () => {
    const token = await apiSignIn(base, 'member@acme.test')
    expect((await apiCall(base, '/api/me', { token })).status).toBe(200)
    const out = await apiCall(base, '/api/auth/signout', { method: 'POST', token })
    expect(out.status).toBe(200)
    expect(out.body).toEqual({ data: { signedOut: true } })
    expectError(await apiCall(base, '/api/me', { token }), 401, 'unauthorized')
    expectError(await apiCall(base, '/api/auth/signout', { method: 'POST', token }), 401, 'unauthorized')

    const user = await findDemoUser('member@acme.test')
    const idle = await createSession({ userId: user.id, level: 'password', meta: NO_REQUEST, channel: 'api' })
    await db.update(schema.sessions).set({ idleExpiresAt: new Date(Date.now() - 1000) }).where(eq(schema.sessions.id, idle.session.id))
    expectError(await apiCall(base, '/api/me', { token: idle.token }), 401, 'unauthorized')
    const absolute = await createSession({ userId: user.id, level: 'password', meta: NO_REQUEST, channel: 'api' })
    await db.update(schema.sessions).set({ absoluteExpiresAt: new Date(Date.now() - 1000) }).where(eq(schema.sessions.id, absolute.session.id))
    expectError(await apiCall(base, '/api/me', { token: absolute.token }), 401, 'unauthorized')
  })

  it('an enrollment-only token reaches only enrollment endpoints and sign-out', async () => {
    const user = await findDemoUser('member@acme.test')
    const { token } = await createSession({ userId: user.id, level: 'enroll_only', meta: NO_REQUEST, channel: 'api' })
    expectError(await apiCall(base, '/api/me', { token }), 403, 'enrollment_required')
    const org = (await db.select().from(schema.organizations).where(eq(schema.organizations.slug, 'acme')))[0]
    expectError(await apiCall(base, `/api/organizations/${org.id}/api-keys`, { token }), 403, 'enrollment_required')
    expect((await apiCall(base, '/api/auth/signout', { method: 'POST', token })).status).toBe(200)
  })

  it('sign-out takes no body but refuses one it does not understand', async () => {
    const token = await apiSignIn(base, 'member@acme.test')
    expectError(await apiCall(base, '/api/auth/signout', { method: 'POST', token, json: { everywhere: true } }), 400, 'invalid_request')
    expectError(await apiCall(base, '/api/auth/signout', { method: 'POST', token, body: 'x', headers: { 'content-type': 'text/plain' } }), 415, 'unsupported_media_type')
    expect((await apiCall(base, '/api/me', { token })).status).toBe(200)
    expect((await apiCall(base, '/api/auth/signout', { method: 'POST', token, json: {} })).status).toBe(200)
  })
})
