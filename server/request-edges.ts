/**
 * The edges of a request that no route should have to think about (decision 060), as one
 * Express middleware ahead of everything else:
 *
 * - A request whose Host or path cannot be made into a URL is refused with a 400 here; further
 *   in, building the URL for Remix would throw and answer 500 (with a stack trace outside
 *   production).
 * - Answers given before the request body was read (a 413 on the declared size, a 415, a 401 or
 *   404 before the body, the CSRF 403) must not leave the rest of that body in the connection:
 *   the next request of a kept-alive client would wait behind it forever. So after such an
 *   answer the body is read and thrown away, up to a limit; a body declared larger than the
 *   limit gets `Connection: close` instead, and one that turns out larger (sent in chunks) has
 *   its connection cut once the answer is out.
 */
import type { IncomingMessage } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import { config } from '#app/config/env.server.ts'

/** The most an early answer reads and discards to keep its connection (1 MB by default). */
export const DRAIN_LIMIT_BYTES = config.api.maxBodyBytes * 16

export function requestEdges(req: Request, res: Response, next: NextFunction) {
  finishUnreadBody(req, res)
  const problem = malformed(req)
  if (!problem) return next()
  res.status(400).set('Cache-Control', 'no-store')
  if (req.path === '/api' || req.path.startsWith('/api/')) res.json({ error: { code: 'invalid_request', message: problem } })
  else res.type('text/plain').send(`Bad request: ${problem}`)
}

/** What is wrong with the request line or Host, in words for the client; null when nothing. */
function malformed(req: Request): string | null {
  // The URL exactly as @remix-run/express builds it (createRemixRequest).
  const portOf = (host: string | undefined) => Number.parseInt(host?.split(':')[1] ?? '', 10)
  const forwardedPort = portOf(req.get('x-forwarded-host'))
  const hostPort = portOf(req.get('host'))
  const port = Number.isSafeInteger(forwardedPort) ? forwardedPort : Number.isSafeInteger(hostPort) ? hostPort : ''
  let url: URL
  try {
    url = new URL(`${req.protocol}://${req.hostname}${port ? `:${port}` : ''}${req.originalUrl}`)
  } catch {
    return 'the Host header is not a host name.'
  }
  try {
    decodeURIComponent(url.pathname)
  } catch {
    return 'the request path is not valid URL encoding.'
  }
  return null
}

function finishUnreadBody(req: IncomingMessage, res: Response) {
  const declared = Number(req.headers['content-length'] ?? 0)
  // Decided before any answer starts, as a header must be: reading on would cost more than a new connection.
  if (declared > DRAIN_LIMIT_BYTES) res.setHeader('Connection', 'close')
  res.on('finish', () => {
    if (!req.complete && res.getHeader('Connection') !== 'close') drain(req)
  })
}

function drain(req: IncomingMessage) {
  if (req.destroyed) return
  // Whoever was reading (Remix's body stream) has given up: stop buffering for them.
  req.removeAllListeners('data')
  let discarded = 0
  req.on('data', (chunk: Buffer) => {
    discarded += chunk.byteLength
    if (discarded > DRAIN_LIMIT_BYTES) req.socket.destroy()
  })
  req.resume()
}
