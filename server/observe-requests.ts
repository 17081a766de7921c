/**
 * Every request's log line and sign-in timing (decision 067), as the first middleware:
 *
 * - The request id: the caller's `X-Request-ID` when it is a plausible id (a load balancer's),
 *   a fresh UUID otherwise; answered in `X-Request-ID` and on the log line.
 * - One JSON line per request (pino-http) when its answer is sent, with the user and the
 *   organization the domain noted on the way (request-context.server.ts); secrets redacted by
 *   the logger, token segments masked in the URL. Probes and static files are not logged.
 * - The sign-in latency histogram, for the requests that are a sign-in step, labelled with the
 *   outcome the audit recorder noted.
 */
import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { pinoHttp } from 'pino-http'
import { logger, redactUrl } from '#app/observability/logger.server.ts'
import { metrics } from '#app/observability/metrics.server.ts'
import { runInRequestContext, type RequestContext } from '#app/observability/request-context.server.ts'

const REQUEST_ID = /^[\w.:@/+=-]{1,128}$/

/** The POST paths that are a step of signing in, web and API. */
const SIGN_IN_STEPS: [RegExp, 'password' | 'second_factor'][] = [
  [/^\/login\/?$/, 'password'],
  [/^\/api\/auth\/signin\/?$/, 'password'],
  [/^\/login\/verify\/?$/, 'second_factor'],
  [/^\/login\/email\/[^/]+\/?$/, 'second_factor'],
  [/^\/api\/auth\/2fa\/verify\/?$/, 'second_factor'],
]

/** Requests not worth a line each: probes, scrapes, static files. */
const QUIET = /^\/(healthz|readyz|metrics|build\/|favicon\.ico|support\/queues\/static\/)/

function pick(headers: Record<string, unknown>, names: string[]) {
  return Object.fromEntries(names.filter((n) => headers[n] !== undefined).map((n) => [n, headers[n]]))
}

function contextOf(res: ServerResponse): RequestContext | undefined {
  return (res as Response).locals?.requestContext as RequestContext | undefined
}

const logRequests = pinoHttp({
  logger,
  genReqId: (req: IncomingMessage) => (req as Request).requestContext?.requestId ?? randomUUID(),
  autoLogging: { ignore: (req) => QUIET.test(req.url ?? '') },
  customLogLevel: (_req, res, err) => (err || res.statusCode >= 500 ? 'error' : 'info'),
  customProps: (req, res) => {
    const context = contextOf(res)
    return { clientIp: (req as Request).ip, userId: context?.userId, organizationId: context?.organizationId }
  },
  // A few headers worth reading; the secret ones stay listed so that their redaction shows.
  serializers: {
    req: (req: { id: unknown; method: string; url?: string; headers: Record<string, unknown>; remoteAddress?: string }) => ({
      id: req.id,
      method: req.method,
      url: redactUrl(req.url),
      headers: pick(req.headers, ['host', 'user-agent', 'referer', 'origin', 'content-type', 'content-length', 'x-forwarded-for', 'authorization', 'cookie']),
      remoteAddress: req.remoteAddress,
    }),
    res: (res: { statusCode: number; headers: Record<string, unknown> }) => ({
      statusCode: res.statusCode,
      headers: pick(res.headers ?? {}, ['location', 'content-type', 'content-length', 'set-cookie']),
    }),
  },
})

declare module 'express-serve-static-core' {
  interface Request {
    requestContext?: RequestContext
  }
}

export function observeRequests(): RequestHandler[] {
  return [
    (req: Request, res: Response, next: NextFunction) => {
      const offered = req.get('x-request-id')
      const context: RequestContext = { requestId: offered && REQUEST_ID.test(offered) ? offered : randomUUID() }
      req.requestContext = context
      res.locals.requestContext = context
      res.setHeader('X-Request-ID', context.requestId)
      timeSignIn(req, res, context)
      runInRequestContext(context, next)
    },
    logRequests,
  ]
}

function timeSignIn(req: Request, res: Response, context: RequestContext) {
  if (req.method !== 'POST') return
  const step = SIGN_IN_STEPS.find(([path]) => path.test(req.path))?.[1]
  if (!step) return
  const end = metrics.signInDuration.startTimer({ step })
  res.once('finish', () => {
    end({ outcome: context.signInOutcome ?? (res.statusCode === 429 ? 'throttled' : 'other') })
  })
}
