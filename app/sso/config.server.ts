/**
 * An organization's single sign-on settings (decision 075): the OpenID Connect client (issuer,
 * client id, the client secret encrypted at rest like TOTP secrets), its email domains (one
 * organization per domain), the claim mapping, "SSO required", and each region's "trust the
 * identity provider's MFA". The console, the API and the CLI over the API call these functions.
 *
 * Every change needs a person's session with a fresh second factor (the one lowering check,
 * app/policy/lowering.server.ts): SSO settings decide who can sign in, so changing them is treated
 * like a lowering whatever it does. Trusting the provider's MFA is a lowering in its own right.
 */
import { randomBytes } from 'node:crypto'
import { promises as dns } from 'node:dns'
import { and, eq, inArray, isNotNull, isNull, ne, notInArray, sql } from 'drizzle-orm'
import { recordAudit, refuseChange, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { encryptSecret, readSecret, type SecretBinding } from '#app/auth/crypto.server.ts'
import { config as appConfig } from '#app/config/env.server.ts'
import { DomainError } from '#app/errors.ts'
import { idpTrustLowerings } from '#app/policy/lowering.ts'
import { requireLoweringAllowed, type ChangeAuthority } from '#app/policy/lowering.server.ts'
import { isExempt } from '#app/policy/member-status.server.ts'
import { db, schema, sql as pg } from '#db/client.ts'
import { checkIssuer, SsoError } from './oidc.server.ts'
import type { IdpTrustInput, SsoConfigInput, SsoConfigView } from './sso.schema.ts'

export type SsoConfig = typeof schema.ssoConfigs.$inferSelect
const c = schema.ssoConfigs
const d = schema.ssoDomains

/** What an organization's client secret is encrypted to (its column and organization): here and in key rotation. */
export const secretBinding = (orgId: string): SecretBinding => ({ column: 'sso_configs.client_secret_ciphertext', userId: orgId })

/** Where and what an owner publishes to prove a domain (decision 080). */
export const TXT_PREFIX = '_gatehouse-challenge.'
export const TXT_VALUE_PREFIX = 'gatehouse-domain-verification='
export const txtRecordOf = (domain: string, token: string) => ({ name: `${TXT_PREFIX}${domain}`, value: `${TXT_VALUE_PREFIX}${token}` })
/** Random per claim (not a secret: it is published in DNS). */
const newVerificationToken = () => randomBytes(20).toString('hex')

/**
 * The organization's settings with the client secret opened (null when it does not open: logged,
 * never shown). `domains` are all its claims; `verifiedDomains` the ones proven by DNS, the only
 * ones that route /login and allow just-in-time accounts.
 */
export async function loadSsoConfig(orgId: string): Promise<(SsoConfig & { clientSecret: string | null; domains: string[]; verifiedDomains: string[] }) | null> {
  const [row] = await db.select().from(c).where(eq(c.organizationId, orgId))
  if (!row) return null
  const domains = await db.select({ domain: d.domain, verifiedAt: d.verifiedAt }).from(d).where(eq(d.organizationId, orgId))
  return {
    ...row,
    clientSecret: readSecret(row.clientSecretCiphertext, row.keyId, secretBinding(orgId)),
    domains: domains.map((x) => x.domain).sort(),
    verifiedDomains: domains.filter((x) => x.verifiedAt).map((x) => x.domain).sort(),
  }
}

export type SsoRoute = { orgId: string; orgName: string; orgSlug: string; domain: string; ssoRequired: boolean; region: string }

/**
 * The organization an address's domain is routed to (a verified domain only), as one scalar SQL
 * subquery returning the route as JSON or null: `findSsoForEmail` runs it alone, and the password
 * step's one query (app/sign-in/load.server.ts) embeds it, so the two cannot drift.
 */
export function ssoRouteOf(email: string) {
  const domain = email.trim().toLowerCase().split('@')[1] ?? ''
  return pg`(select json_build_object('orgId', d.organization_id, 'orgName', o.name, 'orgSlug', o.slug, 'domain', d.domain, 'ssoRequired', c.sso_required, 'region', c.region)
    from sso_domains d join sso_configs c on c.organization_id = d.organization_id join organizations o on o.id = d.organization_id
    where d.domain = ${domain} and d.verified_at is not null)`
}

/** The organization whose SSO an address's domain is routed to (a verified domain only), or null. */
export async function findSsoForEmail(email: string): Promise<SsoRoute | null> {
  if (!email.includes('@')) return null
  const [row] = await pg<{ route: SsoRoute | null }[]>`select ${ssoRouteOf(email)} as route`
  return row?.route ?? null
}

/** The settings as the console and the API show them: never the secret. */
export async function ssoView(orgId: string): Promise<SsoConfigView> {
  const cfg = await loadSsoConfig(orgId)
  const trust = await db
    .select({ region: schema.regionPolicies.region, trustIdpMfa: schema.regionPolicies.trustIdpMfa, idpMfaAmr: schema.regionPolicies.idpMfaAmr, idpMfaAcr: schema.regionPolicies.idpMfaAcr })
    .from(schema.regionPolicies)
    .where(eq(schema.regionPolicies.organizationId, orgId))
    .orderBy(schema.regionPolicies.region)
  const claims = cfg ? await db.select().from(d).where(eq(d.organizationId, orgId)).orderBy(d.domain) : []
  return {
    configured: Boolean(cfg),
    issuer: cfg?.issuer ?? null,
    clientId: cfg?.clientId ?? null,
    clientSecretSet: Boolean(cfg),
    domains: cfg?.domains ?? [],
    domainStates: claims.map((x) => {
      const txt = txtRecordOf(x.domain, x.verificationToken)
      return { domain: x.domain, state: x.verifiedAt ? ('verified' as const) : ('unverified' as const), verifiedAt: x.verifiedAt?.toISOString() ?? null, txtName: txt.name, txtValue: txt.value }
    }),
    region: cfg?.region ?? null,
    emailClaim: cfg?.emailClaim ?? 'email',
    nameClaim: cfg?.nameClaim ?? 'name',
    ssoRequired: cfg?.ssoRequired ?? false,
    trust,
  }
}

export type SsoChange = { orgId: string; actor: Actor; authority: ChangeAuthority; meta?: RequestMeta; now?: Date }

/**
 * Saves the settings. The secret is kept when none is given on an existing configuration (a new
 * one needs it). Domains taken by another organization are refused (sso_domain_taken, nothing
 * written). Audited as org.sso_config_changed with what changed, never the secret.
 */
export async function saveSsoConfig(change: SsoChange, input: SsoConfigInput, options: { checkIssuer?: boolean } = {}): Promise<SsoConfigView> {
  const audit = { actor: change.actor, attempt: 'org.sso_config_changed', organizationId: change.orgId, meta: change.meta }
  await requireLoweringAllowed(change.authority, ['Single sign-on settings'], audit, change.now)
  if (!appConfig.regions.some((r) => r.code === input.region)) throw new DomainError('invalid_request', 'Choose one of the regions.', 'region')
  const [regionPolicy] = await db.select({ region: schema.regionPolicies.region }).from(schema.regionPolicies)
    .where(and(eq(schema.regionPolicies.organizationId, change.orgId), eq(schema.regionPolicies.region, input.region)))
  if (!regionPolicy) throw new DomainError('invalid_request', 'The organization does not operate in that region.', 'region')
  // A domain another organization verified is its own; unverified claims elsewhere do not block (decision 080).
  const taken = await db.select({ domain: d.domain }).from(d).where(and(inArray(d.domain, input.domains), ne(d.organizationId, change.orgId), isNotNull(d.verifiedAt)))
  if (taken.length) throw new DomainError('sso_domain_taken', `${taken.map((t) => t.domain).join(', ')} already ${taken.length === 1 ? 'belongs' : 'belong'} to another organization’s single sign-on.`, 'domains')
  // Without proof of the domain (decision 080), an organization may not claim a domain whose
  // addresses already hold accounts outside it: SSO required would lock those people out of their
  // passwords, and the provider would be offered to them.
  const oldDomains = new Set((await db.select({ domain: d.domain }).from(d).where(eq(d.organizationId, change.orgId))).map((x) => x.domain))
  const added = input.domains.filter((x) => !oldDomains.has(x))
  if (added.length) {
    const outside = await pg<{ domain: string }[]>`
      select distinct lower(split_part(u.email, '@', 2)) as domain from users u
      where lower(split_part(u.email, '@', 2)) = any(${added})
        and not exists (select 1 from memberships m where m.user_id = u.id and m.organization_id = ${change.orgId})`
    if (outside.length) {
      const list = outside.map((o) => o.domain).sort().join(', ')
      await refuseChange(
        new DomainError('sso_domain_taken', `${list}: people outside this organization already sign in to Gatehouse with addresses at ${outside.length === 1 ? 'this domain' : 'these domains'}. Ask Gatehouse support to verify that your organization owns ${outside.length === 1 ? 'it' : 'them'}. Nothing was saved.`, 'domains'),
        { ...audit, details: { reason: 'domain_has_outside_accounts', domains: outside.map((o) => o.domain) } },
      )
    }
  }
  const stored = await loadSsoConfig(change.orgId)
  if (!stored && !input.clientSecret) throw new DomainError('invalid_request', 'Enter the client secret.', 'clientSecret')
  if (options.checkIssuer !== false) {
    // The provider's discovery document must be readable before anything is saved (decision 080).
    try {
      await checkIssuer(input.issuer, input.clientId, input.clientSecret || stored?.clientSecret || '')
    } catch (e) {
      if (e instanceof SsoError) await refuseChange(e, { ...audit, details: { reason: e.reason, issuer: input.issuer } })
      throw e
    }
  }
  await db.transaction(async (tx) => {
    const [old] = await tx.select().from(c).where(eq(c.organizationId, change.orgId)).for('update')
    if (!old && !input.clientSecret) throw new DomainError('invalid_request', 'Enter the client secret.', 'clientSecret')
    const secret = input.clientSecret ? encryptSecret(input.clientSecret, secretBinding(change.orgId)) : { ciphertext: old!.clientSecretCiphertext, keyId: old!.keyId }
    const values = {
      region: input.region, issuer: input.issuer, clientId: input.clientId, clientSecretCiphertext: secret.ciphertext, keyId: secret.keyId,
      emailClaim: input.emailClaim, nameClaim: input.nameClaim, ssoRequired: input.ssoRequired, updatedBy: change.actor.id, updatedAt: change.now ?? new Date(),
    }
    await tx.insert(c).values({ organizationId: change.orgId, ...values }).onConflictDoUpdate({ target: c.organizationId, set: values })
    const oldDomains = (await tx.select({ domain: d.domain }).from(d).where(eq(d.organizationId, change.orgId))).map((x) => x.domain).sort()
    // Kept domains keep their token and verification; removed ones go; added ones start unverified with a new token.
    await tx.delete(d).where(and(eq(d.organizationId, change.orgId), notInArray(d.domain, input.domains)))
    const addedNow = input.domains.filter((x) => !oldDomains.includes(x))
    if (addedNow.length) {
      await tx.insert(d).values(addedNow.map((domain) => ({ domain, organizationId: change.orgId, verificationToken: newVerificationToken() }))).onConflictDoNothing()
    }
    const shown = (r: Partial<SsoConfig> | undefined, domains: string[]) =>
      r ? { issuer: r.issuer, clientId: r.clientId, region: r.region, emailClaim: r.emailClaim, nameClaim: r.nameClaim, ssoRequired: r.ssoRequired, domains } : null
    await recordAudit(
      {
        action: 'org.sso_config_changed', actor: change.actor, organizationId: change.orgId, meta: change.meta,
        details: { old: shown(old, oldDomains), new: shown(values, input.domains), clientSecretChanged: Boolean(input.clientSecret) },
      },
      tx,
    )
  })
  return ssoView(change.orgId)
}

/** Members of the organization in a region who are not exempt: whom trusting the provider's MFA affects. */
export async function idpTrustImpact(orgId: string, region: string, now = new Date()): Promise<number> {
  const [row] = await pg<{ n: number }[]>`
    select count(*) filter (where not ${isExempt(now)})::int as n
    from memberships m join users u on u.id = m.user_id
    where m.organization_id = ${orgId} and u.region = ${region}`
  return row?.n ?? 0
}

export type IdpTrustChange = { changed: boolean; lowered: string[]; lowersProtectionFor: number }

/**
 * Sets one region's "trust the identity provider's MFA". Turning it on, or trusting more amr/acr
 * values, lowers protection: a person's fresh second factor, audited refusal otherwise, and the
 * answer says how many members it affects. Recorded as org.policy_changed (it is a region policy setting).
 */
export async function setIdpTrust(change: SsoChange, input: IdpTrustInput): Promise<IdpTrustChange | null> {
  const rp = schema.regionPolicies
  const where = and(eq(rp.organizationId, change.orgId), eq(rp.region, input.region))
  const [current] = await db.select().from(rp).where(where)
  if (!current) return null
  const next = { trustIdpMfa: input.trustIdpMfa, idpMfaAmr: input.idpMfaAmr.length ? input.idpMfaAmr : current.idpMfaAmr, idpMfaAcr: input.idpMfaAcr }
  const before = { trustIdpMfa: current.trustIdpMfa, idpMfaAmr: current.idpMfaAmr, idpMfaAcr: current.idpMfaAcr }
  if (JSON.stringify(before) === JSON.stringify(next)) return { changed: false, lowered: [], lowersProtectionFor: 0 }
  const lowered = idpTrustLowerings(before, next)
  const affected = lowered.length ? await idpTrustImpact(change.orgId, input.region, change.now) : 0
  await requireLoweringAllowed(change.authority, lowered, {
    actor: change.actor, attempt: 'org.policy_changed', organizationId: change.orgId, meta: change.meta, details: { region: input.region, lowersProtectionFor: affected },
  }, change.now)
  await db.transaction(async (tx) => {
    await tx.update(rp).set({ ...next, updatedBy: change.actor.id, updatedAt: sql`now()` }).where(where)
    await recordAudit({ action: 'org.policy_changed', actor: change.actor, organizationId: change.orgId, meta: change.meta, details: { region: input.region, old: before, new: next, lowered, lowersProtectionFor: affected } }, tx)
  })
  return { changed: true, lowered, lowersProtectionFor: affected }
}

/** The TXT strings published at a name (each record's chunks joined); [] when the name has none. */
async function lookupTxt(name: string): Promise<string[]> {
  const resolver = new dns.Resolver({ timeout: 3000, tries: 2 })
  if (appConfig.dnsServers.length) resolver.setServers(appConfig.dnsServers)
  try {
    return (await resolver.resolveTxt(name)).map((chunks) => chunks.join(''))
  } catch (e) {
    const code = (e as { code?: string }).code
    if (code === dns.NOTFOUND || code === dns.NODATA) return []
    throw new DnsLookupError(code ?? 'unknown')
  }
}

class DnsLookupError extends Error {
  constructor(readonly dnsCode: string) {
    super(`DNS lookup failed: ${dnsCode}`)
  }
}

export type DomainVerification = { domain: string; verified: boolean; alreadyVerified: boolean; droppedClaims: number }

/**
 * Proves an organization's claim of a domain by its DNS TXT record `_gatehouse-challenge.<domain>`
 * = `gatehouse-domain-verification=<token>` (decision 080). Same authority as changing the
 * settings (an owner with a fresh second factor). Found: verified_at is set, other organizations'
 * unverified claims of the domain are dropped (each audited in its organization), and
 * org.sso_domain_verified is recorded. Not found (422 domain_unverified) or a DNS failure
 * (502 dns_unavailable): nothing written, security.change_refused with the reason.
 */
export async function verifySsoDomain(change: SsoChange, rawDomain: string): Promise<DomainVerification> {
  const domain = rawDomain.trim().toLowerCase().replace(/^@/, '')
  const audit = { actor: change.actor, attempt: 'org.sso_domain_verified', organizationId: change.orgId, meta: change.meta }
  await requireLoweringAllowed(change.authority, ['Single sign-on domain verification'], audit, change.now)
  const [claim] = await db.select().from(d).where(and(eq(d.organizationId, change.orgId), eq(d.domain, domain)))
  if (!claim) throw new DomainError('not_found', `${domain || 'That domain'} is not one of this organization’s single sign-on domains. Add it in the settings first.`, 'domain')
  if (claim.verifiedAt) return { domain, verified: true, alreadyVerified: true, droppedClaims: 0 }
  const [owner] = await db.select({ organizationId: d.organizationId }).from(d).where(and(eq(d.domain, domain), isNotNull(d.verifiedAt)))
  if (owner) {
    await refuseChange(new DomainError('sso_domain_taken', `${domain} is already verified by another organization’s single sign-on.`, 'domain'), { ...audit, details: { reason: 'verified_by_another_organization', domain } })
  }
  const txt = txtRecordOf(domain, claim.verificationToken)
  let found: string[]
  try {
    found = await lookupTxt(txt.name)
  } catch (e) {
    if (!(e instanceof DnsLookupError)) throw e
    return refuseChange(
      new DomainError('dns_unavailable', `The DNS lookup of ${txt.name} failed (${e.dnsCode}). Nothing was changed; try again in a moment.`, 'domain'),
      { ...audit, details: { reason: `dns_error: ${e.dnsCode}`, domain } },
    )
  }
  if (!found.includes(txt.value)) {
    const reason = found.some((v) => v.startsWith(TXT_VALUE_PREFIX)) ? 'txt_record_mismatch' : 'txt_record_missing'
    await refuseChange(
      new DomainError(
        'domain_unverified',
        reason === 'txt_record_mismatch'
          ? `${txt.name} has a Gatehouse TXT record, but not this organization’s token. Publish TXT "${txt.value}" and try again (DNS changes can take a while to appear). Nothing was changed.`
          : `No TXT record "${txt.value}" was found at ${txt.name}. Publish it and try again (DNS changes can take a while to appear). Nothing was changed.`,
        'domain',
      ),
      { ...audit, details: { reason, domain } },
    )
  }
  const dropped = await db.transaction(async (tx) => {
    let updated: { domain: string }[]
    try {
      updated = await tx.transaction(async (sp) =>
        sp.update(d).set({ verifiedAt: change.now ?? new Date() }).where(and(eq(d.organizationId, change.orgId), eq(d.domain, domain), isNull(d.verifiedAt))).returning({ domain: d.domain }),
      )
    } catch (e) {
      if ((e as { code?: string }).code === '23505' || (e as { cause?: { code?: string } }).cause?.code === '23505') {
        throw new DomainError('sso_domain_taken', `${domain} was verified by another organization meanwhile.`, 'domain')
      }
      throw e
    }
    if (!updated.length) throw new DomainError('conflict', `${domain} changed meanwhile (removed or verified); reload and try again.`, 'domain')
    // The first organization to prove the domain wins: other organizations' unverified claims of it go.
    const others = await tx.delete(d).where(and(eq(d.domain, domain), ne(d.organizationId, change.orgId))).returning({ organizationId: d.organizationId })
    for (const o of others) {
      await recordAudit({ action: 'org.sso_domain_claim_dropped', actor: change.actor, organizationId: o.organizationId, meta: change.meta, details: { domain, reason: 'verified_by_another_organization' } }, tx)
    }
    await recordAudit({ action: 'org.sso_domain_verified', actor: change.actor, organizationId: change.orgId, meta: change.meta, details: { domain, record: txt.name, droppedClaims: others.length } }, tx)
    return others.length
  })
  return { domain, verified: true, alreadyVerified: false, droppedClaims: dropped }
}
