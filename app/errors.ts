/**
 * The one catalogue of domain error codes (decision 066). The domain throws `DomainError` with a
 * code from this list and a message written for the person who hit it; it never says how an
 * adapter answers. Each adapter maps the code once: the web and the JSON API to an HTTP status
 * (app/http/domain-error.server.ts), the CLI to an exit code (cli/exit-codes.ts). A refusal is
 * thrown; a result type is kept only where the caller branches on an expected outcome.
 */
export const ERROR_CODES = {
  /** The input breaks a rule; `field`, when set, names the input to fix. */
  invalid_request: 'The request is not valid as given.',
  /** No such thing here, or not one the caller may know exists. */
  not_found: 'There is no such thing here.',
  forbidden: 'This person may not do this.',
  /** Someone else changed or decided it meanwhile. */
  conflict: 'It changed or was already done meanwhile.',
  /** A one-time link (invitation, freeze) was used, cancelled or has expired. */
  link_expired: 'The link has expired or was already used.',
  /** A policy change is saved only from a recent review, by this admin, of exactly these values. */
  review_required: 'Review the change (again) before saving it.',
  /** A change that lowers protection came from an API key: a person must make it (decision 056). */
  person_required: 'A person must make this change.',
  /** The action needs a second factor on this session within the last 5 minutes. */
  step_up_required: 'Confirm your second factor first.',
  /** Owners and admins change nothing with a password-only session: set up or use a second factor first. */
  mfa_required: 'Set up or use a second factor first.',
  /** A second support person must approve this; nothing was done yet. */
  two_person_required: 'A second support person must approve this.',
  /** The account must accept the invitation itself, signed in; nothing was joined. */
  invitation_pending: 'The invitation waits for its holder.',
  // Refusals the JSON API answers from its own checks (authentication, scoping, the request's shape,
  // limits) or from a sign-in or factor step (decision 065).
  invalid_json: 'The body is not valid JSON.',
  invalid_code: 'The code is wrong or has expired.',
  invalid_password: 'The password does not meet the rules.',
  method_unavailable: 'This second-factor method is not available here.',
  invalid_credentials: 'The email or password is wrong.',
  invalid_challenge: 'The sign-in challenge is unknown or has expired.',
  /** A sign-in without a region matched accounts in several regions: send one of them (decision 071). */
  region_required: 'Say which region to sign in to.',
  unauthorized: 'A valid bearer token is needed.',
  insufficient_scope: "The token's scopes do not allow this.",
  enrollment_required: 'Set up a second factor before anything else.',
  account_locked: 'The account is locked.',
  sign_in_blocked: 'Sign-in is blocked until a second factor is set up with help.',
  exemption_required: 'Only an exempt service account may do this.',
  method_not_allowed: 'The path does not take this HTTP method.',
  payload_too_large: 'The body is too large.',
  unsupported_media_type: 'The body must be JSON.',
  rate_limited: 'Too many attempts: wait and try again.',
  internal_error: 'Something went wrong on our side.',
  mail_unavailable: 'Mail cannot be queued right now.',
  // Single sign-on (decision 075).
  /** This address signs in through its organization's SSO: no password sign-in or reset. */
  sso_required: 'Sign in through your organization’s single sign-on.',
  /** The identity provider's answer failed a check (state, nonce, issuer, audience, expiry, PKCE, claims). */
  sso_failed: 'The single sign-on answer did not pass its checks.',
  /** The identity provider cannot be reached, or its discovery document cannot be read. */
  idp_unavailable: 'The identity provider cannot be reached right now.',
  /** An email domain is already routed to another organization's SSO. */
  sso_domain_taken: 'That domain belongs to another organization.',
  /** The domain's DNS TXT record with its verification token was not found (decision 080). */
  domain_unverified: 'The domain’s DNS record was not found.',
  /** The DNS servers did not answer the lookup of a domain's TXT record. */
  dns_unavailable: 'DNS cannot be read right now.',
} as const

export type ErrorCode = keyof typeof ERROR_CODES

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** The form field the message belongs to, when there is one. */
    readonly field?: string,
  ) {
    super(message)
    this.name = 'DomainError'
  }
}

export const isDomainError = (e: unknown): e is DomainError => e instanceof DomainError
