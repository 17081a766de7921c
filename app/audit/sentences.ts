/**
 * Every audit event as one readable sentence (decision 073). The audit pages show the sentence and keep
 * the stored details as JSON under "details". Pure and browser-safe: a `Record` over the one list of
 * actions, so an action without a sentence does not compile (and its test says which).
 */
import { methodLabel } from '#app/mfa/methods.schema.ts'
import { formatDays, formatUtc } from '#app/ui/time-format.ts'
import type { AuditAction } from './actions.schema.ts'

export type AuditEventView = {
  action: string
  /** Who did it: an email, or 'cli', 'worker', 'system'. */
  actor: string
  /** The member it is about, when there is one. */
  subject?: string | null
  details?: Record<string, unknown> | null
}

type D = Record<string, unknown>
type Describe = (e: { actor: string; member: string; d: D }) => string

const str = (v: unknown) => (typeof v === 'string' ? v : v == null ? '' : String(v))
const region = (d: D) => (d.region ? ` in ${str(d.region).toUpperCase()}` : '')
const quoted = (v: unknown) => (v ? ` “${str(v)}”` : '')
const because = (d: D, reasons: Record<string, string> = {}) => {
  const r = str(d.reason)
  return r ? ` (${reasons[r] ?? r.replace(/_/g, ' ')})` : ''
}
const ticket = (d: D) => (d.ticket ? `, ticket ${str(d.ticket)}` : '')
const count = (n: unknown, one: string, many = `${one}s`) => `${Number(n ?? 0)} ${Number(n) === 1 ? one : many}`
const date = (v: unknown) => {
  const t = v ? new Date(str(v)) : null
  return t && !Number.isNaN(t.getTime()) ? formatUtc(t, 'date') : ''
}
const via = (d: D) => (d.channel === 'api' ? ' through the API' : '')

const LOGIN_FAILED: Record<string, string> = { wrong_password: 'wrong password', unknown_email: 'unknown email', policy_blocked: 'blocked by policy: no second factor set up by the deadline' }
const MODE: Record<string, string> = { disabled: 'Disabled', optional: 'Optional', required: 'Required' }
const ON_DEADLINE: Record<string, string> = { force_enrollment: 'must set up at the deadline', block: 'blocked at the deadline' }

/** "mode Optional → Required, grace period 7 days → 14 days": what changed in a region's MFA policy. */
function policyChanges(d: D): string {
  const old = (d.old ?? {}) as D
  const next = (d.new ?? {}) as D
  const parts: string[] = []
  const show: Record<string, (v: unknown) => string> = {
    mode: (v) => MODE[str(v)] ?? str(v),
    allowedMethods: (v) => (Array.isArray(v) ? v.map((m) => methodLabel(str(m))).join(', ') || 'none' : str(v)),
    gracePeriodDays: (v) => formatDays(Number(v)),
    onDeadline: (v) => ON_DEADLINE[str(v)] ?? str(v),
    rememberDeviceDays: (v) => formatDays(Number(v)),
  }
  const names: Record<string, string> = { mode: 'mode', allowedMethods: 'methods', gracePeriodDays: 'grace period', onDeadline: 'deadline', rememberDeviceDays: 'remember devices for' }
  for (const key of Object.keys(show)) {
    if (JSON.stringify(old[key]) !== JSON.stringify(next[key])) parts.push(`${names[key]} ${show[key](old[key])} → ${show[key](next[key])}`)
  }
  return parts.length ? `: ${parts.join(', ')}` : ''
}

const SENTENCES: Record<AuditAction, Describe> = {
  'auth.login_success': ({ member, d }) => `${member} signed in with a password${via(d)}.`,
  'auth.login_failed': ({ actor, d }) => `A sign-in as ${actor} failed${region(d)}${because(d, LOGIN_FAILED)}.`,
  'auth.login_success_2fa': ({ member, d }) => `${member} signed in with two-factor authentication${d.method ? ` (${methodLabel(str(d.method)).toLowerCase()})` : ''}${via(d)}.`,
  'auth.login_success_backup_code': ({ member, d }) => `${member} signed in with a recovery code${via(d)}.`,
  'auth.mfa_failed': ({ member, d }) => `${member} gave a wrong second factor${d.method ? ` (${methodLabel(str(d.method)).toLowerCase()})` : ''}${because(d)}.`,
  'auth.locked': ({ member, d }) => `${member} was locked out after too many failed attempts${d.lockedForSeconds ? ` for ${Math.round(Number(d.lockedForSeconds) / 60)} minutes` : ''}.`,
  'auth.logout': ({ member, d }) => `${member} signed out${via(d)}.`,
  'auth.password_reset': ({ member, d }) => `${member} reset their password${d.sessionsEnded ? `; ${count(d.sessionsEnded, 'other session')} ended` : ''}.`,
  'auth.password_reset_requested': ({ member }) => `A password reset link was requested for ${member}.`,
  'auth.totp_enabled': ({ member }) => `${member} set up an authenticator app.`,
  'auth.totp_disabled': ({ member, d }) => `${member} removed their authenticator app${d.reason === 'mfa_off' ? ' (two-factor authentication turned off)' : ''}.`,
  'auth.totp_replaced': ({ member }) => `${member} replaced their authenticator app.`,
  'auth.totp_replay_refused': ({ member }) => `An authenticator code of ${member} that had already been used was refused.`,
  'auth.webauthn_added': ({ member, d }) => `${member} added the security key${quoted(d.label)}.`,
  'auth.webauthn_removed': ({ member, d }) => `${member} removed the security key${quoted(d.label)}${d.reason === 'mfa_off' ? ' (two-factor authentication turned off)' : ''}.`,
  'auth.webauthn_renamed': ({ member, d }) => `${member} renamed the security key${quoted(d.old)} to${quoted(d.new)}.`,
  'auth.webauthn_counter_regressed': ({ member, d }) => `The security key${quoted(d.label)} of ${member} answered with an old counter: it may have been cloned, and the sign-in was refused.`,
  'auth.recovery_codes_generated': ({ member, d }) => `${member} got ${count(d.count, 'new recovery code')}${d.reason === 'regenerated' ? ' (replacing the old ones)' : ''}.`,
  'auth.trusted_device_added': ({ member, d }) => `${member} chose to remember a device${quoted(d.label)}${d.days ? ` for ${formatDays(Number(d.days))}` : ''}.`,
  'auth.trusted_device_revoked': ({ member, d }) => (d.all ? `${member} forgot all remembered devices (${count(d.count, 'device')}).` : `${member} forgot the remembered device${quoted(d.label)}.`),
  'auth.temporary_access_issued': ({ actor, member, d }) => `${actor} issued a temporary access code for ${member}${because(d)}${ticket(d)}.`,
  'auth.temporary_access_used': ({ member }) => `${member} signed in with a temporary access code.`,
  'auth.temporary_access_revoked': ({ actor, member }) => `${actor} revoked the temporary access code of ${member}.`,
  'auth.login_success_passkey': ({ member }) => `${member} signed in with a passkey.`,
  'org.sso_config_changed': ({ actor }) => `${actor} changed the single sign-on settings.`,
  'auth.sso_failed': ({ actor, d }) => `A single sign-on by ${actor} failed${d.reason ? `: ${str(d.reason).replace(/_/g, ' ')}` : ''}.`,
  'org.sso_member_created': ({ member }) => `${member} joined through single sign-on (account created).`,
  'auth.sso_linked': ({ member }) => `${member} linked their account to single sign-on.`,
  'auth.sso_link_refused': ({ member }) => `Linking ${member} to single sign-on was refused.`,
  'auth.sso_break_glass': ({ actor }) => `${actor} used the break-glass password sign-in where single sign-on is required (their own second factor is still asked).`,
  'org.sso_domain_verified': ({ actor, d }) => `${actor} verified the single sign-on domain ${str(d.domain)} by its DNS TXT record.`,
  'org.sso_domain_claim_dropped': ({ d }) => `The unverified single sign-on domain ${str(d.domain)} was dropped: another organization proved it owns it.`,
  'auth.sso_step_up': ({ member }) => `${member} confirmed it was them at the identity provider.`,
  'auth.mfa_reset_by_support': ({ actor, member, d }) => `Support (${actor}) reset the two-factor authentication of ${member}${because(d)}${ticket(d)}.`,
  'auth.mfa_reset_by_org_admin': ({ actor, member, d }) => `${actor} reset the two-factor authentication of ${member}${because(d)}${ticket(d)}.`,
  'auth.totp_disabled_by_admin': ({ actor, member, d }) => `An operator (${actor}) reset the two-factor authentication of ${member}${because(d)}${ticket(d)}.`,
  'auth.account_frozen': ({ member }) => `${member} froze their account from a security notice.`,
  'auth.session_restricted': ({ member, d }) => `A session of ${member} was limited to setting up two-factor authentication${because(d)}.`,
  'auth.session_ended': ({ member, d }) => `A session of ${member} was ended${because(d, { step_up_attempts: 'too many wrong codes when confirming' })}.`,
  'auth.session_revoked': ({ member, d }) =>
    d.reason === 'signed_out' ? `${member} signed out one of their sessions${d.current ? ' (this one)' : ''}.` : `${count(d.count ?? 1, 'session')} of ${member} ended${because(d)}.`,
  'support.unlock': ({ actor, member, d }) => `${actor} unlocked ${member}${because(d)}.`,
  'support.approval_requested': ({ actor, member, d }) => `${actor} asked a second support person to approve: ${str(d.requestAction).replace(/_/g, ' ') || 'a change'} of ${member}${because(d)}${ticket(d)}.`,
  'support.approval_granted': ({ actor, member, d }) => `${actor} approved ${str(d.requestAction).replace(/_/g, ' ') || 'the request'} of ${member}.`,
  'support.approval_refused': ({ actor, member, d }) => `${actor} refused ${str(d.requestAction).replace(/_/g, ' ') || 'the request'} of ${member}${d.note ? ` (${str(d.note)})` : ''}.`,
  'support.approval_expired': ({ member, d }) => `A request to ${str(d.requestAction).replace(/_/g, ' ') || 'change'} ${member} expired without an answer.`,
  'support.queue_action': ({ actor, d }) => `${actor} used the queue dashboard: ${str(d.method)} ${str(d.path)}.`,
  'org.policy_changed': ({ actor, d }) => `${actor} changed the MFA policy${region(d)}${policyChanges(d)}.`,
  'org.exemption_added': ({ actor, member, d }) => `${actor} exempted ${member}${region(d)}${d.expiresAt ? ` until ${date(d.expiresAt)}` : ''}${because(d)}.`,
  'org.exemption_removed': ({ actor, member, d }) => `${actor} removed the exemption of ${member}${region(d)}.`,
  'org.exemption_expired': ({ member, d }) => `The exemption of ${member}${region(d)} ended.`,
  'org.deadline_extended': ({ actor, member, d }) => `${actor} extended the deadline of ${member}${region(d)} to ${date(d.deadline)}${because(d)}.`,
  'org.member_invited': ({ actor, d }) => `${actor} invited ${str(d.email)} as ${str(d.role) || 'member'}${region(d)}.`,
  'org.member_removed': ({ actor, member, d }) => `${actor} removed ${member}${d.role ? ` (${str(d.role)})` : ''} from the organization.`,
  'org.role_changed': ({ actor, member, d }) => `${actor} changed the role of ${member} from ${str(d.old)} to ${str(d.new)}.`,
  'org.api_key_issued': ({ actor, d }) => `${actor} issued the API key${quoted(d.name)}${Array.isArray(d.scopes) ? ` with ${d.scopes.join(', ')}` : ''}.`,
  'org.api_key_revoked': ({ actor, d }) => `${actor} revoked the API key${quoted(d.name)}.`,
  'org.audit_retention_changed': ({ actor, d }) => `${actor} set audit retention to ${formatDays(Number(d.new))}${d.old ? ` (was ${formatDays(Number(d.old))})` : ''}.`,
  'org.invitation_accepted': ({ member, d }) => `${member} accepted the invitation${d.role ? ` as ${str(d.role)}` : ''}.`,
  'org.invitation_declined': ({ member, d }) => `${member} declined the invitation.`,
  'org.invitation_cancelled': ({ actor, d }) => `${actor} cancelled the invitation of ${str(d.email)}.`,
  'org.service_account_created': ({ actor, d, member }) => `${actor} created the service account ${member}${region(d)}.`,
  'policy.grace_expired': ({ member, d }) => `The grace period of ${member}${region(d)} ended${d.deadline ? ` on ${date(d.deadline)}` : ''} without an allowed second factor.`,
  'platform.role_changed': ({ actor, member, d }) => `${actor} changed the platform role of ${member} from ${str(d.from) || 'none'} to ${str(d.to) || 'none'}.`,
  'platform.members_repaired': ({ actor, d }) => `${actor} repaired the members list of ${str(d.drifted)} membership${d.drifted === 1 ? '' : 's'} that had drifted from their factors and policy.`,
  'security.change_refused': ({ actor, d }) => `A change by ${actor} was refused${d.attempt ? ` (${str(d.attempt)})` : ''}: ${REFUSALS[str(d.code)] ?? str(d.code).replace(/_/g, ' ')}.`,
}

const REFUSALS: Record<string, string> = {
  person_required: 'only a person may lower protection, not an API key',
  step_up_required: 'it needs a fresh second factor',
  mfa_required: 'it needs a session with two-factor authentication',
  two_person_required: 'it needs a second support person',
  forbidden: 'not allowed for this role',
}

export const describedActions = () => Object.keys(SENTENCES)

/** One event in words; an action this build does not know (from a newer version) reads as its name. */
export function describeAuditEvent(event: AuditEventView): string {
  const describe = (SENTENCES as Record<string, Describe>)[event.action]
  if (!describe) return event.action
  const details = event.details ?? {}
  const member = event.subject ?? (typeof details.email === 'string' ? details.email : 'a member')
  return describe({ actor: event.actor, member, d: details })
}
