/**
 * The HTTP side of the error model (decision 066): the status of each catalogue code, for the web
 * pages and the JSON API alike, and the web's answer to a DomainError: its status, and its message
 * on the form field it names. Routes call `formError` instead of catching error classes one by one.
 */
import { isDomainError, type ErrorCode } from '#app/errors.ts'
import { badRequest } from './forms.server.ts'

export const HTTP_STATUS = {
  invalid_request: 400,
  not_found: 404,
  forbidden: 403,
  conflict: 409,
  link_expired: 400,
  review_required: 409,
  person_required: 403,
  step_up_required: 403,
  mfa_required: 403,
  two_person_required: 403,
  invitation_pending: 409,
  invalid_json: 400,
  invalid_code: 400,
  invalid_password: 400,
  method_unavailable: 403,
  invalid_credentials: 401,
  invalid_challenge: 401,
  region_required: 409,
  unauthorized: 401,
  insufficient_scope: 403,
  enrollment_required: 403,
  account_locked: 403,
  sign_in_blocked: 403,
  exemption_required: 403,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  rate_limited: 429,
  internal_error: 500,
  mail_unavailable: 503,
  sso_required: 403,
  sso_failed: 400,
  idp_unavailable: 502,
  sso_domain_taken: 409,
  domain_unverified: 422,
  dns_unavailable: 502,
} as const satisfies Record<ErrorCode, number>

export const httpStatus = (code: ErrorCode): number => HTTP_STATUS[code]

export type FormErrorOptions = {
  /**
   * The fields this form shows, by the domain's name (a list), or the domain's name → the form's
   * (`{ email: 'saEmail' }`). A message for another field, or for none, goes to `formKey`. Omitted:
   * every field keeps its name.
   */
  fields?: readonly string[] | Readonly<Record<string, string>>
  /** Where a message without a field of this form goes ('form'). */
  formKey?: string
  /** The non-secret values to echo back. */
  values?: Record<string, unknown>
  /** More keys for the errors object (which request a message is about). */
  extra?: Record<string, string>
}

function fieldKey(field: string | undefined, fields: FormErrorOptions['fields']): string | undefined {
  if (!field || !fields) return field
  if (Array.isArray(fields)) return fields.includes(field) ? field : undefined
  return (fields as Record<string, string>)[field]
}

/** An action's answer to a DomainError. Anything else (a redirect, a bug) is thrown on. */
export function formError(error: unknown, options: FormErrorOptions = {}) {
  if (!isDomainError(error)) throw error
  const key = fieldKey(error.field, options.fields) ?? options.formKey ?? 'form'
  return badRequest({ [key]: error.message, ...options.extra }, options.values, httpStatus(error.code))
}
