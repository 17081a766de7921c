/**
 * Which parts of a change LOWER protection (decision 056). PURE: no I/O. A lowering needs an
 * owner's or admin's session with a second factor from the last 5 minutes; an API key may only
 * raise protection. The region policy console, the API and the exemption, extension and
 * retention changes all ask here, so the list of what counts as lowering is written once.
 *
 * Each field is compared on its own, whatever the mode: an allowed method added while a region
 * is Disabled still lowers what a later raise to Required would ask, so it is flagged too.
 */
import { methodLabel } from '#app/mfa/methods.schema.ts'
import type { DeadlineAction, Mode } from './effective-policy.ts'
import { MODE_LABELS } from './policy.schema.ts'

export type PolicyValues = {
  mode: Mode
  allowedMethods: readonly string[]
  gracePeriodDays: number
  onDeadline: DeadlineAction
  rememberDeviceDays: number
}

export type PolicyLowering = { field: keyof PolicyValues; description: string }

const MODE_RANK: Record<Mode, number> = { disabled: 0, optional: 1, required: 2 }
const days = (n: number) => `${n} ${n === 1 ? 'day' : 'days'}`

/** The fields of `after` that ask less than `before`, each with a plain description; [] when nothing is lowered. */
export function policyLowerings(before: PolicyValues, after: PolicyValues): PolicyLowering[] {
  const out: PolicyLowering[] = []
  if (MODE_RANK[after.mode] < MODE_RANK[before.mode]) out.push({ field: 'mode', description: `Mode ${MODE_LABELS[before.mode]} → ${MODE_LABELS[after.mode]}` })
  const added = after.allowedMethods.filter((m) => !before.allowedMethods.includes(m))
  if (added.length) {
    const names = added.map(methodLabel)
    out.push({ field: 'allowedMethods', description: `${names.join(' and ')} added to the allowed methods` })
  }
  if (after.gracePeriodDays > before.gracePeriodDays) out.push({ field: 'gracePeriodDays', description: `Grace period ${before.gracePeriodDays} → ${days(after.gracePeriodDays)}` })
  if (before.onDeadline === 'block' && after.onDeadline === 'force_enrollment') out.push({ field: 'onDeadline', description: 'At the deadline: block sign-in → force enrollment' })
  if (after.rememberDeviceDays > before.rememberDeviceDays) out.push({ field: 'rememberDeviceDays', description: `Remember device ${before.rememberDeviceDays} → ${days(after.rememberDeviceDays)}` })
  return out
}

/**
 * An exemption added, or an existing one lengthened: a later end date or none at all. `existing`
 * is the exemption stored for that account and region (null when there is none). An exemption
 * that has already lapsed exempts nobody, so replacing it is adding one.
 */
export function exemptionLowers(existing: { expiresAt: Date | null } | null | undefined, next: { expiresAt: Date | null }, now: Date): boolean {
  if (!existing || (existing.expiresAt && existing.expiresAt.getTime() <= now.getTime())) return true
  if (existing.expiresAt === null) return false
  return next.expiresAt === null || next.expiresAt.getTime() > existing.expiresAt.getTime()
}

/** A member's deadline moved later (an extension only ever lengthens, so every accepted one lowers). */
export function extensionLowers(current: Date | null, next: Date): boolean {
  return current === null || next.getTime() > current.getTime()
}

/** Audit events kept for fewer days than before. */
export function retentionLowers(beforeDays: number, afterDays: number): boolean {
  return afterDays < beforeDays
}

export type IdpTrustValues = { trustIdpMfa: boolean; idpMfaAmr: readonly string[]; idpMfaAcr: readonly string[] }

/**
 * Trusting an identity provider's MFA (decision 075): turning it on lowers protection, and so does
 * accepting more `amr` or `acr` values while it is on. Turning it off or narrowing the lists raises.
 */
export function idpTrustLowerings(before: IdpTrustValues, after: IdpTrustValues): string[] {
  if (!after.trustIdpMfa) return []
  if (!before.trustIdpMfa) return ['Trust the identity provider’s MFA: off → on']
  const out: string[] = []
  const amr = after.idpMfaAmr.filter((v) => !before.idpMfaAmr.includes(v))
  const acr = after.idpMfaAcr.filter((v) => !before.idpMfaAcr.includes(v))
  if (amr.length) out.push(`amr ${amr.join(', ')} accepted as the provider’s MFA`)
  if (acr.length) out.push(`acr ${acr.join(', ')} accepted as the provider’s MFA`)
  return out
}
