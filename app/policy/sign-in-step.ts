/**
 * Pure readings of the policy's sign-in step (`PolicyDecision.signIn`, from effective-policy.ts):
 * the grace prompt, the refusal a blocked member reads, and what a live password-level session
 * becomes. No I/O, so the sign-in decision (app/sign-in/decide.ts) and the live-session check
 * (app/auth/live-session.server.ts) share them without a database (decision 063).
 */
import type { PolicyDecision } from './effective-policy.ts'

export type GracePrompt = { deadline: string; organizations: string[]; allowedMethods: string[]; daysLeft: number }

/** What `/login/grace` (and the API's `grace`) shows a member in grace, or null when not in grace. */
export function gracePromptFrom(decision: PolicyDecision, now = new Date()): GracePrompt | null {
  if (decision.signIn.kind !== 'grace_prompt') return null
  const deadline = decision.signIn.deadline
  return {
    deadline: deadline.toISOString(),
    organizations: decision.signIn.organizations,
    allowedMethods: decision.allowedMethods.filter((m) => m !== 'email'),
    daysLeft: Math.max(0, Math.ceil((deadline.getTime() - now.getTime()) / 86_400_000)),
  }
}

/** The refusal shown to a blocked member: which organization and whom to contact. */
export function blockedMessage(decision: PolicyDecision): string | null {
  if (decision.signIn.kind !== 'blocked') return null
  const orgs = decision.signIn.organizations.join(' and ') || 'Your organization'
  const who = decision.signIn.contacts.length ? decision.signIn.contacts.join(', ') : 'your organization administrator'
  return `${orgs} requires two-factor authentication and your deadline to set it up has passed, so sign-in is blocked. Contact ${who} to get access again.`
}

export const BLOCKED_FALLBACK = 'Sign-in is blocked by your organization. Contact your administrator.'

/** What a password-level session becomes under the policy now (decision 026). */
export type PasswordSessionVerdict = { kind: 'continue' } | { kind: 'enroll_only' } | { kind: 'blocked'; message: string }

export function passwordSessionVerdict(decision: PolicyDecision): PasswordSessionVerdict {
  if (decision.signIn.kind === 'blocked') return { kind: 'blocked', message: blockedMessage(decision) ?? BLOCKED_FALLBACK }
  // Held to enrollment (with or without proving a factor first, a reset member too): enrollment only.
  if (decision.signIn.kind === 'enroll_only') return { kind: 'enroll_only' }
  // 'none', 'grace_prompt' or a second factor the member holds: the password was proven when this
  // session began and the policy is satisfied (or still in grace); the next sign-in asks for the
  // factor. Step-up still needs a fresh second factor on this session (decision 026).
  return { kind: 'continue' }
}
