/**
 * What one web request has learned about itself, for its log line and its metrics (decision 067):
 * the request id, and once known the signed-in user, the organization and the sign-in outcome.
 * The Express layer opens the context (server/observe-requests.ts); the domain notes into it at
 * the one place it learns each fact (the session load, the organization guard, the audit
 * recorder), without passing anything through the routes. Outside a request, noting does nothing.
 */
import { AsyncLocalStorage } from 'node:async_hooks'

export type RequestContext = {
  requestId: string
  userId?: string
  organizationId?: string
  /** The last `auth.login_*` outcome this request recorded (see signInOutcome in metrics). */
  signInOutcome?: string
}

// One store per process: the Remix build bundles its own copy of this module (decision 001).
const g = globalThis as unknown as { __gatehouseRequestContext?: AsyncLocalStorage<RequestContext> }
const storage = (g.__gatehouseRequestContext ??= new AsyncLocalStorage<RequestContext>())

export function runInRequestContext<T>(context: RequestContext, fn: () => T): T {
  return storage.run(context, fn)
}

export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore()
}

export function noteRequestUser(userId: string) {
  const context = storage.getStore()
  if (context) context.userId = userId
}

export function noteRequestOrganization(organizationId: string) {
  const context = storage.getStore()
  if (context) context.organizationId = organizationId
}
