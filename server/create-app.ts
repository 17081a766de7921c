/**
 * The Express app around the Remix handler: the request log and id, security headers, the
 * operator's endpoints (/healthz, /readyz, /metrics), static assets, the CSRF origin check, the
 * queue dashboard, and the client address for rate limits and audit. Used by server.ts and the tests.
 */
import { createRequestHandler } from '@remix-run/express'
import type { ServerBuild } from '@remix-run/node'
import compression from 'compression'
import express from 'express'
import { config } from '#app/config/env.server.ts'
import { csrfRefusal } from '#app/http/csrf.server.ts'
import { apiEdgeRefusal } from '#app/api/edge.server.ts'
import { installQueueDepths } from '#app/observability/jobs.server.ts'
import { opsEndpoints } from '#app/observability/endpoints.server.ts'
import { observeRequests } from './observe-requests.ts'
import { QUEUE_DASHBOARD_PATH, queueDashboard } from './queue-dashboard.ts'
import { requestEdges } from './request-edges.ts'
import { cspNonce, securityHeaders } from './security-headers.ts'
import { closeConnectionsWhileDraining, isDraining } from './shutdown.ts'

export function createApp(build: ServerBuild, options: { publicDir?: string } = {}) {
  const app = express()
  app.disable('x-powered-by')
  app.set('trust proxy', config.trustProxy)
  // The request id and log line come first, so every answer has both (decision 067).
  app.use(observeRequests())
  app.use(closeConnectionsWhileDraining)
  // Then: static files, errors and every early refusal carry the headers too (decision 059).
  app.use(securityHeaders({ https: config.secureCookies }))
  app.use(requestEdges)
  // Probes and scrapes, before anything that could fail on a database or Redis outage.
  installQueueDepths()
  const ops = opsEndpoints({ draining: isDraining })
  app.use((req, res, next) => {
    if (!ops(req, res)) next()
  })
  app.use(compression())
  const publicDir = options.publicDir ?? 'public'
  app.use('/build', express.static(`${publicDir}/build`, { immutable: true, maxAge: '1y' }))
  app.use(express.static(publicDir, { maxAge: '1h' }))

  app.use((req, res, next) => {
    const refusal = csrfRefusal(req.method, req.path, {
      origin: req.get('origin'),
      referer: req.get('referer'),
      secFetchSite: req.get('sec-fetch-site'),
    })
    if (refusal) {
      res.status(403).type('text/plain').send(`Forbidden: ${refusal}. Reload the page and try again.`)
      return
    }
    const apiRefusal = apiEdgeRefusal(req.originalUrl.split('?')[0])
    if (apiRefusal) {
      res.status(apiRefusal.status).set('Cache-Control', 'no-store').json(apiRefusal.body)
      return
    }
    next()
  })

  app.use(QUEUE_DASHBOARD_PATH, queueDashboard())
  app.all('*', createRequestHandler({ build, mode: config.env, getLoadContext: (req, res) => ({ ip: req.ip ?? null, cspNonce: cspNonce(res) }) }))
  // An error no handler answered goes on the request's log line (Express then answers 500).
  app.use((err: unknown, _req: express.Request, res: express.Response, next: express.NextFunction) => {
    res.err = err instanceof Error ? err : new Error(String(err))
    next(err)
  })
  return app
}
