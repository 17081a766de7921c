/**
 * The one check every lowering of protection goes through (decision 056): a person's session with
 * a second factor from the last 5 minutes. An API key may raise protection but never lower it
 * (person_required); a session without a fresh second factor gets step_up_required. Each refusal
 * is audited with who tried it and what it would have lowered, and is raised before anything is
 * written. The domain functions call it, so the console, the API and the CLI over the API all get
 * it; the operator CLI that writes the database directly is break-glass and does not pass here.
 */
import { refuseChange, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { DomainError } from '#app/errors.ts'
import { hasFreshSecondFactor } from '#app/auth/session.server.ts'

/** Who makes a change: a person's session (with its last second factor), or an API key. */
export type ChangeAuthority = { kind: 'session'; secondFactorAt: Date | null } | { kind: 'api_key' }

export const sessionAuthority = (session: { secondFactorAt: Date | null }): ChangeAuthority => ({ kind: 'session', secondFactorAt: session.secondFactorAt })

export type LoweringAudit = { actor: Actor; attempt: string; organizationId: string; subjectId?: string | null; meta?: RequestMeta; details?: Record<string, unknown> }

/**
 * Passes when nothing is lowered or the caller may lower; otherwise records the refusal and throws
 * the DomainError. `lowered` lists what the change lowers, in words ("Grace period 7 → 30 days").
 * `record: false` throws without recording: for a re-check inside a transaction that may already
 * have written to the audit chain (a refusal record on its own connection would wait for that
 * transaction's chain lock forever); its caller checked and recorded before the transaction.
 */
export async function requireLoweringAllowed(
  authority: ChangeAuthority, lowered: string[], audit: LoweringAudit, now = new Date(), options: { record?: boolean } = {},
): Promise<void> {
  if (lowered.length === 0) return
  const what = lowered.join('; ')
  const refuse = async (error: DomainError): Promise<never> => {
    if (options.record === false) throw error
    return refuseChange(error, { ...audit, details: { ...audit.details, lowered } })
  }
  if (authority.kind === 'api_key') {
    await refuse(
      new DomainError(
        'person_required',
        `This change lowers protection (${what}). Only an owner or admin, signed in with a second factor in the last 5 minutes, can make it; an API key may only raise protection. Nothing was saved.`,
      ),
    )
  }
  if (authority.kind === 'session' && !hasFreshSecondFactor({ secondFactorAt: authority.secondFactorAt }, now.getTime())) {
    await refuse(
      new DomainError('step_up_required', `This change lowers protection (${what}): confirm it’s you with your second factor (within the last 5 minutes), then save again. Nothing was saved.`),
    )
  }
}
