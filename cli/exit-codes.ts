/**
 * The CLI's side of the error model (decision 066): the exit code of each catalogue code, for a
 * DomainError that reaches main.ts from an operator verb. Its message is printed as it is.
 */
import type { ErrorCode } from '#app/errors.ts'
import { EXIT } from './registry.ts'

export const EXIT_CODE = {
  invalid_request: EXIT.failure,
  not_found: EXIT.notFound,
  forbidden: EXIT.failure,
  conflict: EXIT.failure,
  link_expired: EXIT.failure,
  review_required: EXIT.failure,
  person_required: EXIT.failure,
  step_up_required: EXIT.failure,
  mfa_required: EXIT.failure,
  two_person_required: EXIT.failure,
  invitation_pending: EXIT.failure,
} as const satisfies Record<ErrorCode, number>
