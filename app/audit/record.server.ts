import type { DomainError } from '#app/errors.ts'
import { db, schema, sql as pg, type SqlTx, type Tx } from '#db/client.ts'
import { observeAuditEvent } from '#app/observability/metrics.server.ts'

export const AUDIT_ACTIONS = [
  'auth.login_success', 'auth.login_failed', 'auth.login_success_2fa', 'auth.login_success_backup_code',
  'auth.mfa_failed', 'auth.locked', 'auth.logout', 'auth.password_reset', 'auth.password_reset_requested',
  'auth.totp_enabled', 'auth.totp_disabled', 'auth.totp_replaced', 'auth.totp_replay_refused', 'auth.webauthn_added',
  'auth.webauthn_removed', 'auth.webauthn_counter_regressed', 'auth.recovery_codes_generated',
  'auth.trusted_device_added', 'auth.trusted_device_revoked', 'auth.mfa_reset_by_support',
  'auth.mfa_reset_by_org_admin', 'auth.totp_disabled_by_admin', 'auth.account_frozen',
  // A live session changed by the server (decision 026): held to enrollment, or ended (policy block, too many step-up codes).
  'auth.session_restricted', 'auth.session_ended',
  // Sessions the member signed out from the sessions list, or ended by a factor, password or reset change (decision 061).
  'auth.session_revoked',
  'support.unlock', 'support.approval_requested', 'support.approval_granted', 'support.approval_refused',
  'support.approval_expired', 'org.policy_changed', 'org.exemption_added', 'org.exemption_removed',
  'org.exemption_expired', 'org.deadline_extended', 'org.member_invited', 'org.member_removed',
  'org.role_changed', 'org.api_key_issued', 'org.api_key_revoked', 'policy.grace_expired',
  // Operator CLI (grant-support).
  'platform.role_changed',
  'org.audit_retention_changed',
  // Joining needs the account's consent (decision 055); organizations create their service accounts.
  'org.invitation_accepted', 'org.invitation_declined', 'org.invitation_cancelled', 'org.service_account_created',
  // A change refused because of who asked or how (details.code: person_required, step_up_required,
  // mfa_required, two_person_required, forbidden; details.attempt names what was tried).
  'security.change_refused',
  // A change made through the queue dashboard (retry, remove, clean...; decision 067): details.method and details.path.
  'support.queue_action',
  // Single sign-on (decision 075): settings changed; a sign-in or step-up at the provider that failed
  // its checks (details.reason, never a secret); an account created at a first SSO sign-in; a provider
  // identity linked to an existing account after its holder proved it, or a link refused; a step-up
  // done by re-authenticating at the provider. SSO sign-ins are auth.login_success* with details.method 'sso' or 'idp'.
  'org.sso_config_changed', 'auth.sso_failed', 'org.sso_member_created', 'auth.sso_linked', 'auth.sso_link_refused', 'auth.sso_step_up',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]

/** Who did it: a signed-in user, or a system actor ('cli', 'worker', 'system'). */
export type Actor = { id: string | null; label: string }
export type RequestMeta = { ip: string | null; userAgent: string | null }

export const systemActor = (label: 'cli' | 'worker' | 'system'): Actor => ({ id: null, label })
export const NO_REQUEST: RequestMeta = { ip: null, userAgent: null }

export type AuditInput = {
  action: AuditAction
  actor: Actor
  subjectId?: string | null
  /** Set for organization events (their own chain); member security events go in a platform chain (`platformChain`). */
  organizationId?: string | null
  meta?: RequestMeta
  details?: Record<string, unknown>
}

/**
 * Appends one event. Sequence and hash chain are set by the database trigger, which serialises
 * writers per chain; pass the transaction when the event belongs with a change.
 */
export async function recordAudit(input: AuditInput, tx: Tx = db) {
  observeAuditEvent(input.action) // sign-in outcomes are counted here (decision 067)
  await tx.insert(schema.auditEvents).values(auditRow(input))
}

/**
 * One event as an `insert` for a data-modifying CTE, so that it commits in the same statement as
 * the change it records (a sign-in's session, decision 068). The chain trigger numbers it as usual.
 */
export function auditInsert(input: AuditInput) {
  observeAuditEvent(input.action)
  const r = auditRow(input)
  return pg`insert into audit_events (chain, organization_id, actor_id, actor_label, subject_id, action, ip, user_agent, details)
    values (${r.chain}, ${r.organizationId}, ${r.actorId}, ${r.actorLabel}, ${r.subjectId}, ${r.action}, ${r.ip}, ${r.userAgent}, ${JSON.stringify(r.details)}::jsonb)`
}

/** How many chains a member's security events are spread over (decision 068); audit_prune knows them by name. */
export const PLATFORM_CHAIN_COUNT = 8
/** Every chain that holds member security events: 'platform' (events about no member) and 'platform:0'… */
export const PLATFORM_CHAINS = ['platform', ...Array.from({ length: PLATFORM_CHAIN_COUNT }, (_, i) => `platform:${i}`)]
export const isPlatformChain = (chain: string) => PLATFORM_CHAINS.includes(chain)

/**
 * A member's security events go to one of several platform chains, picked by their user id, so
 * that sign-ins of different members do not wait for one chain's lock (decision 068); one member's
 * events stay in order on one chain. Events about no member stay on 'platform'.
 */
export function platformChain(subjectId: string | null | undefined): string {
  if (!subjectId) return 'platform'
  let h = 0
  for (let i = 0; i < subjectId.length; i++) h = (h * 31 + subjectId.charCodeAt(i)) >>> 0
  return `platform:${h % PLATFORM_CHAIN_COUNT}`
}

function auditRow(input: AuditInput) {
  return {
    chain: input.organizationId ?? platformChain(input.subjectId),
    organizationId: input.organizationId ?? null,
    actorId: input.actor.id,
    actorLabel: input.actor.label,
    subjectId: input.subjectId ?? null,
    action: input.action,
    ip: input.meta?.ip ?? null,
    userAgent: input.meta?.userAgent?.slice(0, 512) ?? null,
    details: input.details ?? {},
  }
}

/**
 * Appends a batch of events in one statement (the sweeps), inside the caller's raw-SQL transaction.
 * The chain trigger numbers and hashes each row as it is inserted, so rows go in the order given,
 * grouped by chain: every writer then takes the per-chain locks (decision 003) in the same order,
 * and two batches over the same chains cannot deadlock. Returns how many were written.
 */
export async function recordMany(inputs: AuditInput[], tx: SqlTx = pg): Promise<number> {
  if (!inputs.length) return 0
  const rows = inputs.map(auditRow).sort((a, b) => (a.chain < b.chain ? -1 : a.chain > b.chain ? 1 : 0))
  // One parameter whatever the batch size; the ordinality keeps the order given.
  const written = await tx`
    insert into audit_events (chain, organization_id, actor_id, actor_label, subject_id, action, ip, user_agent, details)
    select e->>'chain', (e->>'organizationId')::uuid, (e->>'actorId')::uuid, e->>'actorLabel', (e->>'subjectId')::uuid,
      e->>'action', e->>'ip', e->>'userAgent', e->'details'
    from jsonb_array_elements(${JSON.stringify(rows)}::jsonb) with ordinality as r(e, n)
    order by r.n`
  return written.count
}

/**
 * Refuses a change and records who tried it (`security.change_refused`), then throws the error.
 * The event is written on its own connection, NOT in the caller's transaction, so it stays when
 * the caller's transaction rolls back: call it where nothing has been written yet.
 */
export async function refuseChange(
  error: DomainError,
  audit: { actor: Actor; attempt: string; organizationId?: string | null; subjectId?: string | null; meta?: RequestMeta; details?: Record<string, unknown> },
): Promise<never> {
  await recordAudit({
    action: 'security.change_refused', actor: audit.actor, organizationId: audit.organizationId, subjectId: audit.subjectId, meta: audit.meta,
    details: { code: error.code, attempt: audit.attempt, ...audit.details },
  })
  throw error
}
