/**
 * Whether an identity provider's ID token says the person passed MFA there, under a region policy
 * that trusts it (decision 075). PURE: no I/O. `amr` (RFC 8176 values) must hold one of the
 * trusted values, or `acr` must be one of the trusted list. Staff never count on it (platform roles
 * always need their own app or key), and trust counts only when every organization of the member in
 * that region that asks for a second factor is the SSO organization and trusts it: another
 * organization's policy is never lowered by this one's trust (a policy only adds protection).
 */
export const DEFAULT_TRUSTED_AMR = ['mfa', 'otp', 'hwk', 'swk'] as const

export type IdpTrust = { trustIdpMfa: boolean; idpMfaAmr: readonly string[]; idpMfaAcr: readonly string[] }

export type IdpClaims = { amr?: unknown; acr?: unknown; [claim: string]: unknown }

/** The token's own statement, read under `trust`'s lists (whether or not trust is on). */
export function idpMfaClaimed(trust: Pick<IdpTrust, 'idpMfaAmr' | 'idpMfaAcr'>, claims: IdpClaims): boolean {
  const amr = Array.isArray(claims.amr) ? claims.amr.filter((v): v is string => typeof v === 'string') : []
  if (amr.some((v) => trust.idpMfaAmr.includes(v))) return true
  return typeof claims.acr === 'string' && claims.acr.length > 0 && trust.idpMfaAcr.includes(claims.acr)
}

export type IdpMfaInput = {
  /** The SSO organization's policy in the member's region (null: it has none there). */
  trust: IdpTrust | null
  platformRole: 'none' | 'support' | 'superadmin'
  /** The member's OTHER organizations in that region whose mode asks for a second factor (optional or required). */
  otherAskingOrganizations: number
  claims: IdpClaims
}

/** True when the provider's MFA stands in for Gatehouse's second factor at this sign-in. */
export function idpMfaCounts(input: IdpMfaInput): boolean {
  if (!input.trust?.trustIdpMfa) return false
  if (input.platformRole !== 'none') return false
  if (input.otherAskingOrganizations > 0) return false
  return idpMfaClaimed(input.trust, input.claims)
}
