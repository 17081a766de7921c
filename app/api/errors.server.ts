/**
 * The API's one error shape: `{ "error": { "code", "message" } }` with the matching status.
 * Handlers throw ApiError; the wrapper (handler.server.ts) turns it into the response, so a
 * thrown error also rolls back the endpoint's transaction.
 */
import type { DomainError, ErrorCode } from '#app/errors.ts'
import { httpStatus } from '#app/http/domain-error.server.ts'

export type ApiErrorCode =
  | 'invalid_json'
  | 'invalid_request'
  | 'invalid_credentials'
  | 'unauthorized'
  | 'forbidden'
  | 'insufficient_scope'
  | 'enrollment_required'
  | 'step_up_required'
  | 'not_found'
  | 'method_not_allowed'
  | 'payload_too_large'
  | 'unsupported_media_type'
  | 'rate_limited'
  | 'account_locked'
  | 'sign_in_blocked'
  | 'invalid_challenge'
  | 'invalid_code'
  | 'invalid_password'
  | 'method_unavailable'
  | 'conflict'
  | 'exemption_required'
  | 'mail_unavailable'
  | 'internal_error'
  | ErrorCode

/** A domain error as the API answers it: the catalogue's status, its code, its message. */
export const fromDomainError = (e: DomainError) => new ApiError(httpStatus(e.code), e.code, e.message, e.field ? { fields: { [e.field]: e.message } } : {})

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    readonly extra: { headers?: Record<string, string>; fields?: Record<string, string> } = {},
  ) {
    super(message)
    this.name = 'ApiError'
  }
}

export const notFoundError = (message = 'There is no such resource, or you do not have access to it.') => new ApiError(404, 'not_found', message)

export function rateLimited(retryAfterSeconds: number, message?: string, code: ApiErrorCode = 'rate_limited') {
  const seconds = Math.max(1, Math.ceil(retryAfterSeconds))
  return new ApiError(429, code, message ?? `Too many requests. Try again in ${seconds} second${seconds === 1 ? '' : 's'}.`, {
    headers: { 'Retry-After': String(seconds) },
  })
}

/** Every API answer carries these: JSON, never cached (tokens and keys pass through here). */
export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store', ...headers },
  })
}

export function errorResponse(error: ApiError): Response {
  const body: { error: { code: string; message: string; fields?: Record<string, string> } } = { error: { code: error.code, message: error.message } }
  if (error.extra.fields) body.error.fields = error.extra.fields
  const headers = { ...error.extra.headers }
  if (error.status === 401) headers['WWW-Authenticate'] = 'Bearer realm="gatehouse"'
  return jsonResponse(body, error.status, headers)
}
