/**
 * Answers given before the request body is read leave the connection usable: a kept-alive
 * client's next request on the same socket gets its own answer (decision 060). Each case sends
 * the refused request and then a GET over one keep-alive socket; the GET must be answered (within
 * 5 s, else the test fails with "no answer"), on the same socket unless the refusal said
 * `Connection: close`. Without the drain the GET waits behind the unread body forever.
 */
import { Agent, request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import { afterEach, beforeAll, describe, expect, it } from 'vitest'
import { seedDemo } from '#db/seed.ts'
import { DRAIN_LIMIT_BYTES } from '#server/request-edges.ts'
import { apiSignIn } from '#tests/setup/api.ts'
import { startTestApp } from '#tests/setup/app.ts'

let base: URL
let agent: Agent
beforeAll(async () => {
  await seedDemo()
  base = new URL((await startTestApp({ workers: false })).url)
})
afterEach(() => agent?.destroy())

type Answer = { status: number; body: string; reused: boolean; connection: string | undefined }

/** One request over the keep-alive agent (one socket at most); gives up after 5 s. */
function send(method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | Readable): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: base.hostname, port: base.port, method, path, agent, headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode!, body: Buffer.concat(chunks).toString(), reused: req.reusedSocket, connection: res.headers.connection }))
      res.on('error', reject)
    })
    req.setTimeout(5000, () => req.destroy(new Error(`no answer to ${method} ${path} within 5 s`)))
    // The server may answer, and close, before it has read all of a large body: that is its right.
    req.on('error', (e: NodeJS.ErrnoException) => (e.code === 'EPIPE' || e.code === 'ECONNRESET' ? undefined : reject(e)))
    if (body instanceof Readable) body.pipe(req)
    else req.end(body)
  })
}

/** The refused request, then a page on the same connection. */
async function refusedThenNext(method: string, path: string, headers: Record<string, string>, body: Buffer | Readable) {
  agent = new Agent({ keepAlive: true, maxSockets: 1 })
  expect((await send('GET', '/login')).status).toBe(200)
  const refused = await send(method, path, headers, body)
  const next = await send('GET', '/login')
  return { refused, next }
}

const json = { 'content-type': 'application/json' }
const big = Buffer.alloc(200_000, 'x')

/** A body sent in chunks, without Content-Length, so the size is known only by reading it. */
function chunked(bytes: number) {
  return Readable.from((function* () {
    for (let sent = 0; sent < bytes; sent += 16_384) yield Buffer.alloc(16_384, 'x')
  })())
}

describe('after an early answer, the next request on a kept-alive connection is answered', () => {
  it('413 on the declared size (Content-Length over the API limit)', async () => {
    const { refused, next } = await refusedThenNext('POST', '/api/auth/signin', json, big)
    expect(refused.status).toBe(413)
    expect(JSON.parse(refused.body).error.code).toBe('payload_too_large')
    expect(next.status).toBe(200)
    expect(next.reused).toBe(true)
  })

  it('413 found while reading a chunked body', async () => {
    const { refused, next } = await refusedThenNext('POST', '/api/auth/signin', json, chunked(200_000))
    expect(refused.status).toBe(413)
    expect(next.status).toBe(200)
    expect(next.reused).toBe(true)
  })

  it('401 given before the body is read (no bearer token)', async () => {
    const { refused, next } = await refusedThenNext('POST', '/api/auth/signout', json, big)
    expect(refused.status).toBe(401)
    expect(next.status).toBe(200)
    expect(next.reused).toBe(true)
  })

  it('415 on a body that is not JSON', async () => {
    const token = await apiSignIn(base.origin, 'member@acme.test')
    const { refused, next } = await refusedThenNext('POST', '/api/auth/signout', { 'content-type': 'text/plain', authorization: `Bearer ${token}` }, Buffer.alloc(60_000, 'x'))
    expect(refused.status).toBe(415)
    expect(next.status).toBe(200)
    expect(next.reused).toBe(true)
  })

  it('403 from the cross-site check on a web form post', async () => {
    const { refused, next } = await refusedThenNext('POST', '/login', { 'content-type': 'application/x-www-form-urlencoded', origin: 'https://evil.example' }, big)
    expect(refused.status).toBe(403)
    expect(next.status).toBe(200)
    expect(next.reused).toBe(true)
  })

  it('a body declared larger than the server will drain: Connection: close, and the next request goes on a new connection', async () => {
    const huge = Buffer.alloc(DRAIN_LIMIT_BYTES + 1, 'x')
    const { refused, next } = await refusedThenNext('POST', '/api/auth/signin', json, huge)
    expect(refused.status).toBe(413)
    expect(refused.connection).toBe('close')
    expect(next.status).toBe(200)
    expect(next.reused).toBe(false)
  })
})

it("Node's fetch (keep-alive by default) goes on after a 413", async () => {
  const refused = await fetch(new URL('/api/auth/signin', base), { method: 'POST', headers: json, body: big })
  expect(refused.status).toBe(413)
  await refused.text()
  for (let i = 0; i < 3; i++) {
    const res = await fetch(new URL('/login', base), { signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(200)
    await res.text()
  }
})
