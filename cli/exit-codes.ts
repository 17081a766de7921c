/**
 * The CLI's side of the error model (decision 066): the exit code of each catalogue code, for a
 * DomainError that reaches main.ts from an operator verb. Its message is printed as it is.
 */
import type { ErrorCode } from '#app/errors.ts'
import { EXIT } from './registry.ts'

/** Codes with an exit code of their own; every other refusal exits with EXIT.failure. */
const EXIT_CODE: Partial<Record<ErrorCode, number>> = {
  not_found: EXIT.notFound,
}

export const exitCodeOf = (code: ErrorCode): number => EXIT_CODE[code] ?? EXIT.failure
