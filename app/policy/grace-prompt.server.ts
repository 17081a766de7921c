/**
 * What the sign-in flow shows after the password for a member in grace (`/login/grace`) or
 * blocked. The lead wires these into the sign-in flow; they only read the decision.
 */
import type { PolicyDecision } from './effective-policy.ts'
import { loadSignInDecision } from './enforcement.server.ts'

export type GracePrompt = { deadline: string; organizations: string[]; allowedMethods: string[]; daysLeft: number }

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

/** The grace prompt for a user right now, or null when they are not in grace. */
export async function loadGracePrompt(userId: string, now = new Date()): Promise<GracePrompt | null> {
  return gracePromptFrom(await loadSignInDecision(userId, now), now)
}

/** The refusal shown to a blocked member: which organization and whom to contact. */
export function blockedMessage(decision: PolicyDecision): string | null {
  if (decision.signIn.kind !== 'blocked') return null
  const orgs = decision.signIn.organizations.join(' and ') || 'Your organization'
  const who = decision.signIn.contacts.length ? decision.signIn.contacts.join(', ') : 'your organization administrator'
  return `${orgs} requires two-factor authentication and your deadline to set it up has passed, so sign-in is blocked. Contact ${who} to get access again.`
}
