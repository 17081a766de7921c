/**
 * Malformed headers and cookies through the real server, as a scanner sends them (decision 060):
 * each gets a 4xx, or is read as "signed out" where that is the honest answer (a session cookie
 * that is not one of ours); none gets a 500, and none writes anything (no session, no audit row,
 * no pending sign-in: every table is compared before and after). Requests go out over node:http
 * so that headers a browser would never send (a bad Host, Latin-1 bytes) really are sent.
 */
import { request as httpRequest } from 'node:http'
import { beforeAll, describe, expect, it } from 'vitest'
import { seedDemo } from '#db/seed.ts'
import { apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { DEMO_PASSWORD, signIn, TestClient } from '#tests/setup/http.ts'
import { snapshot } from '#tests/setup/org-sweep.ts'

let base: string
let session: string
let token: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
  const client = new TestClient(base)
  await signIn(client, 'admin@acme.test')
  session = client.cookies.get('gh_session')!
  token = await apiSignIn(base, 'member@acme.test')
})

type Answer = { status: number; location: string | undefined; setCookie: string[]; body: string }

function send(method: string, path: string, headers: Record<string, string>, body?: string): Promise<Answer> {
  const url = new URL(base)
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: url.hostname, port: url.port, method, path, headers, setHost: !('host' in headers) }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (c: string) => (text += c))
      res.on('end', () => resolve({ status: res.statusCode!, location: res.headers.location, setCookie: res.headers['set-cookie'] ?? [], body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
}

const SIGNED_OUT = { status: 302, location: '/login?redirectTo=%2Fsettings%2Fsecurity' }
const form = { 'content-type': 'application/x-www-form-urlencoded' }
const goodSignIn = `region=us&email=admin%40acme.test&password=${encodeURIComponent(DEMO_PASSWORD)}`

type Case = { name: string; method?: string; path: string; headers: Record<string, string>; body?: string; expect: { status: number; location?: string }; says?: string }

const CASES: Case[] = [
  // Cookies: a session cookie that is not exactly one of ours is no session.
  { name: 'session cookie with bad percent-encoding', path: '/settings/security', headers: { cookie: 'gh_session=%E0%A4%A' }, expect: SIGNED_OUT },
  { name: 'session cookie of 9 KB', path: '/settings/security', headers: { cookie: `gh_session=${'a'.repeat(9000)}` }, expect: SIGNED_OUT },
  { name: 'cookie header of 40 KB', path: '/settings/security', headers: { cookie: `gh_session=${'a'.repeat(40_000)}` }, expect: { status: 431 } },
  { name: 'many cookies, 12 KB in all', path: '/settings/security', headers: { cookie: Array.from({ length: 400 }, (_, i) => `c${i}=${'v'.repeat(24)}`).join('; ') }, expect: SIGNED_OUT },
  { name: 'cookie header of separators only', path: '/settings/security', headers: { cookie: ';;;=;=; ;' }, expect: SIGNED_OUT },
  { name: 'cookie name without a value', path: '/settings/security', headers: { cookie: 'gh_session' }, expect: SIGNED_OUT },
  { name: 'cookie with Latin-1 bytes', path: '/settings/security', headers: { cookie: 'gh_session=\u00e9\u00ff\u00e0' }, expect: SIGNED_OUT },
  { name: 'bad pending sign-in cookie: the verify page says the sign-in has ended', path: '/login/verify', headers: { cookie: 'gh_pending=%%%' }, expect: { status: 200 }, says: 'Your sign-in has expired or could not be found' },
  { name: 'bad pending sign-in cookie, posting a code', method: 'POST', path: '/login/verify', headers: { ...form, cookie: 'gh_pending=%%%' }, body: 'method=totp&code=123456', expect: { status: 401 } },
  { name: 'two pending sign-in cookies, posting a code', method: 'POST', path: '/login/verify', headers: { ...form, cookie: 'gh_pending=a; gh_pending=b' }, body: 'method=totp&code=123456', expect: { status: 401 } },
  // Authorization: the API answers 401 in its shape; web pages take cookies only.
  { name: 'Authorization empty', path: '/api/me', headers: { authorization: '' }, expect: { status: 401 } },
  { name: 'Authorization "Bearer" with no token', path: '/api/me', headers: { authorization: 'Bearer' }, expect: { status: 401 } },
  { name: 'Authorization "Bearer " and spaces', path: '/api/me', headers: { authorization: 'Bearer    ' }, expect: { status: 401 } },
  { name: 'Authorization Basic', path: '/api/me', headers: { authorization: 'Basic dXNlcjpwYXNz' }, expect: { status: 401 } },
  { name: 'Authorization with two tokens', path: '/api/me', headers: { authorization: 'Bearer a b' }, expect: { status: 401 } },
  { name: 'Authorization with a 10 KB token', path: '/api/me', headers: { authorization: `Bearer ${'x'.repeat(10_000)}` }, expect: { status: 401 } },
  { name: 'Authorization with Latin-1 bytes', path: '/api/me', headers: { authorization: 'Bearer \u00e9\u00e9' }, expect: { status: 401 } },
  { name: 'a bearer token on a web page is no session', path: '/settings/security', headers: { authorization: 'Bearer x' }, expect: SIGNED_OUT },
  // Origin: null (a sandboxed frame, a data: URL) is no origin; the right password does not help.
  { name: 'Origin: null on the sign-in form', method: 'POST', path: '/login', headers: { ...form, origin: 'null' }, body: goodSignIn, expect: { status: 403 } },
  { name: 'Origin: null with our own Referer', method: 'POST', path: '/login', headers: { ...form, origin: 'null', referer: '__BASE__/login' }, body: goodSignIn, expect: { status: 403 } },
  { name: 'Origin: null on sign-out (the session stays)', method: 'POST', path: '/logout', headers: { ...form, origin: 'null', cookie: '__SESSION__' }, body: '', expect: { status: 403 } },
  { name: 'Origin: null with a cross-site Referer', method: 'POST', path: '/login', headers: { ...form, origin: 'null', referer: 'https://evil.example/' }, body: goodSignIn, expect: { status: 403 } },
  { name: 'Origin: null on the forgotten-password form', method: 'POST', path: '/forgot-password', headers: { ...form, origin: 'null' }, body: 'region=us&email=admin%40acme.test', expect: { status: 403 } },
  // Content-Type that cannot be read as the form (with the right password in the body).
  { name: 'multipart without a boundary', method: 'POST', path: '/login', headers: { 'content-type': 'multipart/form-data' }, body: goodSignIn, expect: { status: 400 } },
  { name: 'multipart with a boundary that is not in the body', method: 'POST', path: '/login', headers: { 'content-type': 'multipart/form-data; boundary=zz' }, body: goodSignIn, expect: { status: 400 } },
  { name: 'Content-Type of separators', method: 'POST', path: '/login', headers: { 'content-type': ';;;' }, body: goodSignIn, expect: { status: 400 } },
  { name: 'Content-Type text/plain', method: 'POST', path: '/login', headers: { 'content-type': 'text/plain' }, body: goodSignIn, expect: { status: 400 } },
  { name: 'no Content-Type', method: 'POST', path: '/login', headers: {}, body: goodSignIn, expect: { status: 400 } },
  { name: 'API: Content-Type "/"', method: 'POST', path: '/api/auth/signin', headers: { 'content-type': '/' }, body: '{"region":"us","email":"admin@acme.test","password":"x"}', expect: { status: 415 } },
  { name: 'API: Content-Type with a broken parameter', method: 'POST', path: '/api/auth/signin', headers: { 'content-type': 'application/json; charset="' }, body: '{}', expect: { status: 400 } },
  { name: 'API: form body', method: 'POST', path: '/api/auth/signin', headers: form, body: goodSignIn, expect: { status: 415 } },
  // Host and path that do not make a URL.
  { name: 'Host with a space', path: '/login', headers: { host: 'a b' }, expect: { status: 400 } },
  { name: 'Host with an unclosed IPv6 bracket', path: '/login', headers: { host: '[::1' }, expect: { status: 400 } },
  { name: 'Host with a port out of range', path: '/login', headers: { host: 'localhost:99999' }, expect: { status: 400 } },
  { name: 'Host with a port out of range, on the API', path: '/api/me', headers: { host: 'localhost:99999', authorization: 'Bearer x' }, expect: { status: 400 } },
  { name: 'path with bad percent-encoding', path: '/orgs/%E0%A4%A', headers: {}, expect: { status: 400 } },
  { name: 'path of a lone "%"', path: '/%', headers: {}, expect: { status: 400 } },
]

describe('malformed headers: a 4xx or signed out, never a 500, nothing written', () => {
  it.each(CASES)('$name', async (c) => {
    const before = await snapshot()
    const origin: Record<string, string> = (c.method ?? 'GET') === 'POST' && !('origin' in c.headers) ? { origin: base } : {}
    // Values known only once the server runs.
    const headers = Object.fromEntries(Object.entries({ ...origin, ...c.headers }).map(([k, v]) => [k, v.replace('__BASE__', base).replace('__SESSION__', `gh_session=${session}`)]))
    const res = await send(c.method ?? 'GET', c.path, headers, c.body)
    expect({ status: res.status, ...(c.expect.location ? { location: res.location } : {}) }).toEqual(c.expect)
    if (c.says) expect(res.body).toContain(c.says)
    // No stack trace, whatever the answer.
    expect(res.body).not.toMatch(/\bat .+\.(js|ts):\d+/)
    // No new session or pending sign-in cookie (a cleared one, Max-Age=0, is fine).
    expect(res.setCookie.filter((line) => !/max-age=0/i.test(line))).toEqual([])
    expect(await snapshot()).toEqual(before)
  })
})

describe('duplicate session cookies are no session at all', () => {
  it('ours first, a planted one second: signed out', async () => {
    expect(await send('GET', '/settings/security', { cookie: `gh_session=${session}` })).toMatchObject({ status: 200 })
    expect(await send('GET', '/settings/security', { cookie: `gh_session=${session}; gh_session=planted` })).toMatchObject(SIGNED_OUT)
  })

  it('a planted one first, ours second: signed out', async () => {
    expect(await send('GET', '/settings/security', { cookie: `gh_session=planted; gh_session=${session}` })).toMatchObject(SIGNED_OUT)
  })

  it('the same cookie twice: signed out', async () => {
    expect(await send('GET', '/settings/security', { cookie: `gh_session=${session}; gh_session=${session}` })).toMatchObject(SIGNED_OUT)
  })
})

it('a well-formed request still works after all of that (the session and the token are intact)', async () => {
  expect((await send('GET', '/settings/security', { cookie: `gh_session=${session}` })).status).toBe(200)
  expect((await send('GET', '/api/me', { authorization: `Bearer ${token}` })).status).toBe(200)
})
