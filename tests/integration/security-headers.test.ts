/**
 * The security headers on every kind of response of the real server (decision 059): pages,
 * a signed-in page showing a TOTP secret and its data request, API answers and errors, static
 * files, a 404, the CSRF refusal and the API edge refusal. The script nonce is new on every
 * request, is on every inline script of the page, and is never in a data response.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import { beforeAll, describe, expect, it, vi } from 'vitest'
import { seedDemo } from '#db/seed.ts'
import { createUser } from '#tests/factories/users.ts'
import { apiCall, apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'
import { TestClient } from '#tests/setup/http.ts'
import { signInAs } from '#tests/factories/security.ts'

let base: string
beforeAll(async () => {
  await seedDemo()
  base = (await startTestApp({ workers: false })).url
})

/** What every response carries, whatever its kind. */
function expectBaseHeaders(headers: Headers, what: string) {
  const csp = headers.get('content-security-policy') ?? ''
  for (const directive of [
    "default-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
    "script-src-attr 'none'",
    "img-src 'self' data:",
  ]) {
    expect(csp, `${what}: ${directive}`).toContain(directive)
  }
  expect(csp, what).toMatch(/(^|;)script-src 'nonce-[A-Za-z0-9+/]{22}==' 'strict-dynamic'(;|$)/)
  expect(csp, `${what}: no unsafe-inline or unsafe-eval for scripts`).not.toMatch(/script-src[^;]*unsafe/)
  expect(Object.fromEntries(['x-content-type-options', 'x-frame-options', 'referrer-policy', 'cross-origin-opener-policy', 'cross-origin-resource-policy'].map((h) => [h, headers.get(h)])), what).toEqual({
    'x-content-type-options': 'nosniff',
    'x-frame-options': 'DENY',
    'referrer-policy': 'same-origin',
    'cross-origin-opener-policy': 'same-origin',
    'cross-origin-resource-policy': 'same-origin',
  })
  const permissions = headers.get('permissions-policy') ?? ''
  for (const feature of ['camera=()', 'microphone=()', 'geolocation=()', 'payment=()', 'usb=()', 'publickey-credentials-get=(self)', 'publickey-credentials-create=(self)']) {
    expect(permissions, `${what}: ${feature}`).toContain(feature)
  }
  expect(headers.get('x-powered-by'), what).toBeNull()
  // The test server is on http://localhost: HSTS there would pin a developer's localhost to https.
  expect(headers.get('strict-transport-security'), what).toBeNull()
}

function expectNoStore(headers: Headers, what: string) {
  expect(headers.get('cache-control'), what).toBe('no-store')
}

const nonceOf = (headers: Headers) => /'nonce-([^']+)'/.exec(headers.get('content-security-policy') ?? '')?.[1]

/** Every <script> tag of the page, with the nonce it carries (or null). */
const scriptTags = (html: string) => [...html.matchAll(/<script\b[^>]*>/g)].map((m) => ({ tag: m[0], nonce: /\snonce="([^"]*)"/.exec(m[0])?.[1] ?? null }))

describe('pages', () => {
  it('the sign-in page: every header, no-store, and every inline script carries this response’s nonce', async () => {
    const res = await fetch(`${base}/login`)
    expect(res.status).toBe(200)
    expectBaseHeaders(res.headers, '/login')
    expectNoStore(res.headers, '/login')
    const nonce = nonceOf(res.headers)!
    const scripts = scriptTags(await res.text())
    expect(scripts.length).toBeGreaterThanOrEqual(2) // Remix's context and module scripts at least
    expect(scripts.filter((s) => s.nonce !== nonce), 'scripts without this nonce').toEqual([])
  })

  it('the nonce is new on every request', async () => {
    const nonces = new Set<string>()
    for (let i = 0; i < 5; i++) {
      const res = await fetch(`${base}/login`)
      const nonce = nonceOf(res.headers)!
      expect(scriptTags(await res.text()).every((s) => s.nonce === nonce)).toBe(true)
      nonces.add(nonce)
    }
    expect(nonces.size).toBe(5)
  })

  it('a signed-in page showing a TOTP secret, and its data request, are no-store; the nonce is not in the data', async () => {
    const member = await createUser({ name: 'Hedda Headers' })
    const client = new TestClient(base)
    await signInAs(client, member.id)
    const page = await client.get('/settings/security/totp')
    const html = await page.text()
    expect(page.status).toBe(200)
    expect(html).toContain('data-testid="totp-secret"')
    expectBaseHeaders(page.headers, 'TOTP page')
    expectNoStore(page.headers, 'TOTP page')
    const nonce = nonceOf(page.headers)!
    expect(scriptTags(html).filter((s) => s.nonce !== nonce)).toEqual([])

    // The client's navigations fetch the same data as a single-fetch data request.
    const data = await client.get('/settings/security/totp.data')
    const body = await data.text()
    expect(data.status).toBe(200)
    expect(body).toContain('qrDataUrl')
    expectBaseHeaders(data.headers, 'TOTP data')
    expectNoStore(data.headers, 'TOTP data')
    expect(body).not.toContain(nonceOf(data.headers)!)
    expect(body).not.toContain(nonce)
  })

  it('a page that does not exist: 404 with every header', async () => {
    const res = await fetch(`${base}/no-such-page`)
    expect(res.status).toBe(404)
    expectBaseHeaders(res.headers, '404')
    expectNoStore(res.headers, '404')
    const nonce = nonceOf(res.headers)!
    expect(scriptTags(await res.text()).filter((s) => s.nonce !== nonce)).toEqual([])
  })

  it('an error Express answers itself (a path that is not URL encoding) keeps the headers', async () => {
    const res = await fetch(`${base}/settings/%E0%A4%A`)
    expect(res.status).toBe(400)
    // Express's error page replaces the policy with its own stricter `default-src 'none'`.
    expect(res.headers.get('content-security-policy')).toMatch(/^default-src 'none'$|frame-ancestors 'none'/)
    expect(res.headers.get('x-frame-options')).toBe('DENY')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('cross-origin-opener-policy')).toBe('same-origin')
    expect(res.headers.get('permissions-policy')).toContain('camera=()')
    expectNoStore(res.headers, 'Express 400')
  })

  it('a cross-site form post: the CSRF 403 carries every header', async () => {
    const client = new TestClient(base)
    const res = await client.post('/logout', {}, { headers: { origin: 'https://evil.example', 'sec-fetch-site': 'cross-site' } })
    expect(res.status).toBe(403)
    expectBaseHeaders(res.headers, 'CSRF 403')
    expectNoStore(res.headers, 'CSRF 403')
  })
})

describe('API', () => {
  it('an answer, an error and an edge refusal: every header, no-store', async () => {
    const member = await createUser({ name: 'Ada Api' })
    const token = await apiSignIn(base, member.email)
    const me = await apiCall(base, '/api/me', { token })
    expect(me.status).toBe(200)
    expectBaseHeaders(me.headers, 'API answer')
    expectNoStore(me.headers, 'API answer')

    const unauthenticated = await apiCall(base, '/api/me')
    expect(unauthenticated.status).toBe(401)
    expectBaseHeaders(unauthenticated.headers, 'API 401')
    expectNoStore(unauthenticated.headers, 'API 401')

    const refused = await apiCall(base, '/api/me.data', { token })
    expect(refused.status).toBe(404)
    expectBaseHeaders(refused.headers, 'API edge refusal')
    expectNoStore(refused.headers, 'API edge refusal')
  })
})

describe('static files', () => {
  it('the stylesheet and a build asset carry every header and keep their own caching', async () => {
    const css = await fetch(`${base}/styles.css`)
    expect(css.status).toBe(200)
    expectBaseHeaders(css.headers, 'styles.css')
    expect(css.headers.get('cache-control')).toBe('public, max-age=3600')

    const html = await (await fetch(`${base}/login`)).text()
    const asset = /<link rel="modulepreload" href="(\/build\/[^"]+\.js)"/.exec(html)![1]
    const js = await fetch(`${base}${asset}`)
    expect(js.status).toBe(200)
    expectBaseHeaders(js.headers, asset)
    expect(js.headers.get('cache-control')).toBe('public, max-age=31536000, immutable')
  })

  it('a missing static file falls through to the 404 page with every header', async () => {
    const res = await fetch(`${base}/build/no-such-file.js`)
    expect(res.status).toBe(404)
    expectBaseHeaders(res.headers, 'missing asset')
    expectNoStore(res.headers, 'missing asset')
  })
})

describe('on an https origin', () => {
  it('HSTS with includeSubDomains, on pages and static files alike', async () => {
    // The same app, built from a configuration whose APP_ORIGIN is https (as behind a TLS proxy).
    const build = (await import(pathToFileURL(`${process.cwd()}/build/index.js`).href)) as ServerBuild
    const httpOrigin = process.env.APP_ORIGIN
    process.env.APP_ORIGIN = httpOrigin!.replace('http://', 'https://')
    vi.resetModules()
    const { createApp } = await import('#server/create-app.ts')
    process.env.APP_ORIGIN = httpOrigin
    const server = createServer(createApp(build))
    await new Promise<void>((resolve) => server.listen(0, 'localhost', resolve))
    try {
      const url = `http://localhost:${(server.address() as AddressInfo).port}`
      for (const path of ['/login', '/styles.css', '/no-such-page']) {
        const res = await fetch(`${url}${path}`)
        expect(res.headers.get('strict-transport-security'), path).toBe('max-age=31536000; includeSubDomains')
        expect(res.headers.get('content-security-policy'), path).toContain('upgrade-insecure-requests')
      }
    } finally {
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  })
})
