/**
 * The password rules, in one place (decision 073): the schema every form that sets a password parses
 * with (reset, invite), the CLI's check, and the rules every such form shows before it is submitted.
 * Browser-safe: no hashing here (that is password.server.ts).
 */
import { z } from 'zod'

export const PASSWORD_MIN_LENGTH = 12
export const PASSWORD_MAX_LENGTH = 256

export const PASSWORD_TOO_SHORT = `Use at least ${PASSWORD_MIN_LENGTH} characters`
export const PASSWORD_TOO_LONG = 'That password is too long'

/** The rules as a member reads them, each with its check, so a form can show which are met. */
export const PASSWORD_RULES: { text: string; met: (password: string) => boolean }[] = [
  { text: `At least ${PASSWORD_MIN_LENGTH} characters`, met: (p) => p.length >= PASSWORD_MIN_LENGTH },
  { text: `At most ${PASSWORD_MAX_LENGTH} characters`, met: (p) => p.length <= PASSWORD_MAX_LENGTH },
]
/** Said with the rules: what is not a rule. */
export const PASSWORD_ADVICE = 'Any characters, spaces included: a few unrelated words make a good password.'

/** A new password as every form parses it. */
export const newPassword = z.string().min(PASSWORD_MIN_LENGTH, PASSWORD_TOO_SHORT).max(PASSWORD_MAX_LENGTH, PASSWORD_TOO_LONG)

/** The first rule a password breaks, as the forms say it; null when it keeps them all. */
export function passwordProblem(password: string): string | null {
  const parsed = newPassword.safeParse(password)
  return parsed.success ? null : parsed.error.issues[0].message
}
