/** Every audit action name, one list for the whole product: add to it, never rename. */
export const AUDIT_ACTIONS = [
  'auth.login_success', 'auth.login_failed', 'auth.login_success_2fa', 'auth.login_success_backup_code',
  // A passkey: the password and the second factor in one step (decision 069).
  'auth.login_success_passkey',
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
  // Temporary access codes (decision 070): issued by support or an organization admin, used at a sign-in, revoked before use.
  'auth.temporary_access_issued', 'auth.temporary_access_used', 'auth.temporary_access_revoked',
  // Single sign-on (decision 075): configuration, failures, accounts created or linked, step-up
  // done by re-authenticating at the provider. SSO sign-ins are auth.login_success* with details.method 'sso' or 'idp'.
  'org.sso_config_changed', 'auth.sso_failed', 'org.sso_member_created', 'auth.sso_linked', 'auth.sso_link_refused', 'auth.sso_step_up',
  // A password accepted where the domain requires SSO: an owner's or staff's break-glass, its own factor still asked (decision 080).
  'auth.sso_break_glass',
  // DNS TXT proof of an SSO domain (decision 080): verified, and other organizations' unverified claims of it dropped.
  'org.sso_domain_verified', 'org.sso_domain_claim_dropped',
  // Operator CLI (grant-support; verify-members repairing the members read model, decision 076).
  'platform.role_changed', 'platform.members_repaired',
  'org.audit_retention_changed',
  // Joining needs the account's consent (decision 055); organizations create their service accounts.
  'org.invitation_accepted', 'org.invitation_declined', 'org.invitation_cancelled', 'org.service_account_created',
  // A change refused because of who asked or how (details.code: person_required, step_up_required,
  // mfa_required, two_person_required, forbidden; details.attempt names what was tried).
  'security.change_refused',
  // A change made through the queue dashboard (retry, remove, clean...; decision 067): details.method and details.path.
  'support.queue_action',
  // A member renamed one of their security keys (decision 073): details.keyId, details.old, details.new.
  'auth.webauthn_renamed',
] as const
export type AuditAction = (typeof AUDIT_ACTIONS)[number]
