/**
 * BullMQ's dashboard (bull-board) at /support/queues (decision 067): support staff and superadmins
 * at the MFA level with a second factor in the last five minutes, exactly as the support pages and
 * step-up decide it; everyone else gets what those guards answer (404, or a redirect to sign in or
 * to confirm it is them). Every request under the path is guarded, the dashboard's own API and
 * static files included; its changes (retry, remove, clean) ride on the session cookie, so they
 * pass the CSRF origin check before they get here, and each is audited (support.queue_action).
 *
 * The dashboard's page loads its own script files, which the nonce-only CSP refuses, so under this
 * path alone scripts from this origin are allowed (queueDashboardCsp in security-headers.ts).
 */
import { createBullBoard } from '@bull-board/api'
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter'
import { ExpressAdapter } from '@bull-board/express'
import type { NextFunction, Request, RequestHandler, Response } from 'express'
import { recordAudit } from '#app/audit/record.server.ts'
import { requireSupport } from '#app/auth/guards.server.ts'
import { config } from '#app/config/env.server.ts'
import { getQueue, QUEUE } from '#app/jobs/queues.server.ts'
import { requireStepUp } from '#app/mfa/factors.server.ts'
import { isDomainError } from '#app/errors.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { stepUpLocation } from '#app/http/resume.server.ts'
import { logger } from '#app/observability/logger.server.ts'
import { noteRequestUser } from '#app/observability/request-context.server.ts'
import { queueDashboardCsp } from './security-headers.ts'

export const QUEUE_DASHBOARD_PATH = '/support/queues'

export function queueDashboard(): RequestHandler[] {
  const adapter = new ExpressAdapter().setBasePath(QUEUE_DASHBOARD_PATH)
  createBullBoard({
    queues: Object.values(QUEUE).map((name) => new BullMQAdapter(getQueue(name))),
    serverAdapter: adapter,
    options: { uiConfig: { boardTitle: 'Gatehouse queues' } },
  })
  return [requireFreshSupport, queueDashboardCsp, adapter.getRouter() as RequestHandler]
}

/** The support guard and step-up, run on a Fetch Request made from the Express one. */
async function requireFreshSupport(req: Request, res: Response, next: NextFunction) {
  const headers = new Headers()
  for (const name of ['cookie', 'user-agent']) {
    const value = req.get(name)
    if (value) headers.set(name, value)
  }
  const request = new Request(new URL(req.originalUrl, config.appOrigin), { headers })
  try {
    const { user, session } = await requireSupport(request)
    noteRequestUser(user.id)
    await requireStepUp(user.id, session).catch((e: unknown) => {
      throw isDomainError(e) && e.code === 'step_up_required' ? redirectTo(stepUpLocation(QUEUE_DASHBOARD_PATH)) : e
    })
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.once('finish', () => {
        const details = { method: req.method, path: req.originalUrl.split('?')[0], status: res.statusCode }
        recordAudit({ action: 'support.queue_action', actor: { id: user.id, label: user.email }, meta: { ip: req.ip ?? null, userAgent: req.get('user-agent') ?? null }, details }).catch(
          (e: unknown) => logger.error({ error: (e as Error).message, ...details }, 'queue dashboard action not audited'),
        )
      })
    }
  } catch (thrown) {
    if (!(thrown instanceof Response)) return next(thrown)
    res.status(thrown.status)
    thrown.headers.forEach((value, name) => {
      if (name === 'location' || name === 'set-cookie') res.append(name, value)
    })
    res.type('text/plain').send(thrown.status === 404 ? 'Not found' : '')
    return
  }
  next()
}
