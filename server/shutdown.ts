/**
 * The web process's part of a graceful shutdown (decision 067): stop listening, let requests in
 * flight finish, close kept-alive connections as they fall idle, and answer /readyz with 503 so a
 * load balancer stops sending requests. Connections still busy two seconds before the deadline
 * are cut, leaving time to close PostgreSQL and Redis.
 */
import type { Server } from 'node:http'
import type { NextFunction, Request, Response } from 'express'
import onHeaders from 'on-headers'
import { logger } from '#app/observability/logger.server.ts'

const state = { draining: false }

export const isDraining = () => state.draining

/**
 * Every answer that starts once draining has begun closes its connection, requests in flight
 * included: the client's next request then goes to another process.
 */
export function closeConnectionsWhileDraining(_req: Request, res: Response, next: NextFunction) {
  onHeaders(res, () => {
    if (state.draining) res.setHeader('Connection', 'close')
  })
  next()
}

export async function drainServer(server: Server, deadline: number) {
  state.draining = true
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const idle = setInterval(() => server.closeIdleConnections(), 100)
  let timer: NodeJS.Timeout | undefined
  const cutAt = new Promise<'cut'>((resolve) => {
    timer = setTimeout(() => resolve('cut'), Math.max(0, deadline - 2000 - Date.now()))
  })
  const outcome = await Promise.race([closed.then(() => 'drained' as const), cutAt])
  clearInterval(idle)
  clearTimeout(timer)
  if (outcome === 'cut') {
    logger.warn({ component: 'web' }, 'requests still running at the shutdown deadline: closing their connections')
    server.closeAllConnections()
    await closed
  }
}
