/**
 * The bench's load generator: a form POST over a keep-alive node:http agent. The load runs in the
 * bench's own process, beside the server, so its CPU counts against the server's: fetch (undici,
 * WHATWG streams) cost about 0.5 ms of main-thread time per request, more than some of the server's
 * own steps. A lean client measures the server, as a load tool on another machine would.
 */
import { Agent, request } from 'node:http'

const agent = new Agent({ keepAlive: true, maxSockets: 64 })

export type Answer = { status: number; location: string | null; cookies: string[]; body: string }

/** POSTs `form` (urlencoded) with `headers`; resolves with the status, Location, Set-Cookie pairs and body. */
export function postForm(url: string, form: Record<string, string>, headers: Record<string, string> = {}): Promise<Answer> {
  const body = new URLSearchParams(form).toString()
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', agent, headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(body), ...headers } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({
        status: res.statusCode ?? 0,
        location: (res.headers.location as string | undefined) ?? null,
        cookies: (res.headers['set-cookie'] ?? []).map((c) => c.split(';')[0]),
        body: Buffer.concat(chunks).toString('utf8'),
      }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}
