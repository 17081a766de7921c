/**
 * The API's error adapter: one error shape, `{ "error": { "code", "message" } }`, with the status
 * the catalogue (app/errors.ts) gives the code. Handlers throw ApiError or DomainError; the wrapper
 * (handler.server.ts) turns whatever was thrown into the answer with `toErrorResponse`, so a thrown
 * error also rolls back the endpoint's transaction. Endpoints and the wrapper import from here, never
 * from the wrapper, so the registry has no import cycle (decision 065).
 */
import type { z } from 'zod'
import { DomainError, type ErrorCode } from '#app/errors.ts'
import { httpStatus } from '#app/http/domain-error.server.ts'

/** Every code the API answers is in the one catalogue. */
export type ApiErrorCode = ErrorCode

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: { headers?: Record<string, string>; fields?: Record<string, string>; regions?: string[] } = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

/** An API refusal with the catalogue's status for its code. */
export const apiError = (code: ApiErrorCode, message: string, extra: ApiError['extra'] = {}) => new ApiError(httpStatus(code), code, message, extra)

export const notFoundError = (message = 'There is no such resource, or you do not have access to it.') => apiError('not_found', message)

export function rateLimited(retryAfterSeconds: number, message?: string, code: ApiErrorCode = 'rate_limited') {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  return new ApiError(429, code, message ?? `Too many requests. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`, {
    headers: { 'Retry-After': String(seconds) },
  })
}

/**
 * A request body or query that failed its schema: 400 `invalid_request`, one message per field.
 * `raw` is what was parsed, so a missing field says "is required" (zod 4 issues do not carry the input).
 */
export function validationError(error: z.ZodError, where: 'body' | 'query', raw?: unknown) {
  const fields: Record<string, string> = {}
  for (const issue of error.issues.flatMap(unionBranch)) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) fields[[...issue.path, key].join('.')] ??= 'is not a known field'
      continue
    }
    const key = issue.path.length ? issue.path.join('.') : where
    const missing = issue.code === 'invalid_type' && raw !== undefined && valueAt(raw, issue.path) === undefined
    fields[key] ??= missing ? 'is required' : issue.message
  }
  const message = Object.entries(fields)
    .map(([k, v]) => `${k}: ${v}`)
    .join('; ')
  return apiError('invalid_request', `The request ${where} is not valid: ${message}.`, { fields })
}

/**
 * A value that fits none of a union's shapes (an exemption given as a name or as an object,
 * decision 071): the field errors of the shape it has, so `exemptions.0.reason` says what is wrong
 * rather than `exemptions.0` alone.
 */
function unionBranch(issue: z.core.$ZodIssue): z.core.$ZodIssue[] {
  if (issue.code !== 'invalid_union' || !('errors' in issue) || !issue.errors.length) return [issue]
  const branch = issue.errors.find((b) => !(b.length === 1 && b[0].code === 'invalid_type' && b[0].path.length === 0))
  if (!branch) return [issue]
  return branch.flatMap((i) => unionBranch({ ...i, path: [...issue.path, ...i.path] } as z.core.$ZodIssue))
}

function valueAt(raw: unknown, path: readonly PropertyKey[]): unknown {
  let node = raw
  for (const key of path) {
    if (node === null || typeof node !== 'object' || !Object.hasOwn(node, key)) return undefined
    node = (node as Record<PropertyKey, unknown>)[key]
  }
  return node
}

/** The one mapper from anything thrown under /api to the answer. */
export function toErrorResponse(e: unknown): Response {
  if (e instanceof ApiError) return errorResponse(e)
  if (e instanceof DomainError) return errorResponse(apiError(e.code, e.message, e.field ? { fields: { [e.field]: e.message } } : {}))
  // A Response thrown by a shared guard: keep its status, in our shape.
  if (e instanceof Response) {
    if (e.status === 404) return errorResponse(notFoundError())
    if (e.status >= 400 && e.status < 500) return errorResponse(new ApiError(e.status, 'forbidden', 'This request is not allowed.'))
  }
  console.error('[api] unexpected error', e)
  return errorResponse(apiError('internal_error', 'Something went wrong on our side. Try again; if it keeps happening, contact support.'))
}

/** Every API answer carries these: JSON, never cached (tokens and keys pass through here). */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  })
}

export function errorResponse(error: ApiError): Response {
  const body: { error: { code: string; message: string; fields?: Record<string, string>; regions?: string[] } } = { error: { code: error.code, message: error.message } }
  if (error.extra.fields) body.error.fields = error.extra.fields
  if (error.extra.regions) body.error.regions = error.extra.regions
  const headers = { ...error.extra.headers }
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="gatehouse"'
  return jsonResponse(body, error.status, headers)
}
