/**
 * Answers given before the request body was read (a 413 on the declared size, a 415, a 401 or
 * 404 before the body, the CSRF 403) must not leave the rest of that body in the connection:
 * the next request of a kept-alive client would be read as its tail, or wait behind it forever.
 * So after such an answer the body is read and thrown away, up to a limit; a body declared
 * larger than the limit gets `Connection: close` instead, and one that turns out larger (sent
 * in chunks) has its connection cut once the answer is out (decision 060).
 */
import type { IncomingMessage } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import { config } from '#app/config/env.server.ts'

/** The most an early answer reads and discards to keep its connection (1 MB by default). */
export const DRAIN_LIMIT_BYTES = config.api.maxBodyBytes * 16

export function finishUnreadBodies(req: Request, res: Response, next: NextFunction) {
  const declared = Number(req.headers['content-length'] ?? 0)
  // Decided before any answer starts, as a header must be: reading on would cost more than a new connection.
  if (declared > DRAIN_LIMIT_BYTES) res.setHeader('Connection', 'close')
  res.on('finish', () => {
    if (!req.complete && res.getHeader('Connection') !== 'close') drain(req)
  })
  next()
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
