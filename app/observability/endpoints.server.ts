/**
 * The operator's endpoints (decision 067), answered before Remix by the web process and by the
 * workers' small server alike:
 *
 * - `/healthz`: the process is up and serving (no dependency checked: a database outage must not
 *   get every process restarted).
 * - `/readyz`: PostgreSQL and Redis answer, 503 otherwise, and 503 once the process is shutting
 *   down, so a load balancer stops sending it requests.
 * - `/metrics`: Prometheus's text format, only to a TCP peer inside METRICS_ALLOW (default
 *   loopback); 404 for anyone else, as if it did not exist. The peer is the socket's address,
 *   never X-Forwarded-For: a proxy in front must not make every client a scraper.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { config } from '#app/config/env.server.ts'
import { addressMatcher } from './address-ranges.ts'
import { checkReadiness } from './health.server.ts'
import { renderMetrics } from './metrics.server.ts'

const mayScrape = addressMatcher(config.metricsAllow)

export type OpsOptions = {
  /** True once the process has begun shutting down. */
  draining: () => boolean
}

/**
 * Answers /healthz, /readyz and /metrics (GET or HEAD); returns false for anything else, which
 * the caller then handles (Express: next()).
 */
export function opsEndpoints(options: OpsOptions) {
  return (req: IncomingMessage, res: ServerResponse): boolean => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false
    const path = (req.url ?? '').split('?')[0]
    if (path === '/healthz') {
      answer(res, 200, 'application/json', JSON.stringify({ status: 'ok' }))
      return true
    }
    if (path === '/readyz') {
      void (async () => {
        if (options.draining()) return answer(res, 503, 'application/json', JSON.stringify({ ready: false, draining: true }))
        const readiness = await checkReadiness()
        answer(res, readiness.ready ? 200 : 503, 'application/json', JSON.stringify(readiness))
      })()
      return true
    }
    if (path === '/metrics') {
      if (!mayScrape(req.socket.remoteAddress)) {
        answer(res, 404, 'text/plain; charset=utf-8', 'Not found')
        return true
      }
      void renderMetrics().then(
        (m) => answer(res, 200, m.contentType, m.body),
        () => answer(res, 500, 'text/plain; charset=utf-8', 'metrics unavailable'),
      )
      return true
    }
    return false
  }
}

function answer(res: ServerResponse, status: number, contentType: string, body: string) {
  res.statusCode = status
  res.setHeader('Content-Type', contentType)
  res.setHeader('Cache-Control', 'no-store')
  res.end(res.req?.method === 'HEAD' ? undefined : body)
}
