/**
 * An organization's single sign-on settings over the API (decisions 075 and 080): the same domain
 * functions as the console page (app/sso/config.server.ts). The client secret is write-only: the
 * answer says whether one is stored, never what it is. Changing anything needs an owner's session
 * with a second factor in the last 5 minutes (step_up_required); an API key may read but never
 * change them (person_required), because they decide who can sign in.
 */
import { z } from 'zod'
import type { Actor } from '#app/audit/record.server.ts'
import { zod3Wording } from '#app/http/zod-wording.ts'
import { sessionAuthority, type ChangeAuthority } from '#app/policy/lowering.server.ts'
import { saveSsoConfig, setIdpTrust, ssoView, verifySsoDomain } from '#app/sso/config.server.ts'
import { idpTrustInput, ssoConfigInput, ssoConfigView } from '#app/sso/sso.schema.ts'
import type { Caller } from '../auth.server.ts'
import { defineEndpoint } from '../define.server.ts'
import { notFoundError, validationError } from '../errors.server.ts'

const actorOf = (caller: Caller): Actor =>
  caller.kind === 'api_key' ? { id: caller.user.id, label: `${caller.user.email} (API key ${caller.apiKey.prefix}…)` } : { id: caller.user.id, label: caller.user.email }
const authorityOf = (caller: Caller): ChangeAuthority => (caller.kind === 'session' ? sessionAuthority(caller.session) : { kind: 'api_key' })

export const getSsoEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/sso',
  tag: 'sso',
  summary: 'The organization’s single sign-on settings (never the client secret)',
  description: '`clientSecretSet` says whether a client secret is stored; the secret itself is never returned. `trust` lists each region’s “trust the identity provider’s MFA” setting.',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['policy:read'] },
  response: ssoConfigView,
  async handler({ org }) {
    return ssoView(org.org.id)
  },
})

export const putSsoEndpoint = defineEndpoint({
  method: 'PUT',
  path: '/api/organizations/:orgId/sso',
  tag: 'sso',
  summary: 'Set the organization’s single sign-on: issuer, client, email domains, claims, SSO required',
  description:
    'Owners only, with a session whose second factor is from the last 5 minutes (403 step_up_required); an API key gets 403 person_required. ' +
    '`clientSecret` is write-only: leave it out to keep the stored one (a first configuration needs it). ' +
    'The issuer’s discovery document is read before anything is saved: 502 idp_unavailable when it cannot be. ' +
    'A new domain starts unverified (see `domainStates` for its TXT record) and routes nothing until verified; a domain another organization verified is refused (409 sso_domain_taken). Audited as org.sso_config_changed, never with the secret.',
  auth: 'session_or_key',
  org: { role: 'owner', scopes: ['policy:write'] },
  errors: ['step_up_required', 'person_required', 'idp_unavailable', 'sso_domain_taken'],
  // Refusals are audited on their own; the settings are written in the domain's one transaction.
  transaction: false,
  body: z
    .object({
      issuer: z.string().max(500).describe('The provider’s issuer URL (https; its discovery document is at /.well-known/openid-configuration)'),
      clientId: z.string().max(500),
      clientSecret: z.string().max(1000).optional().describe('Write-only; omitted or empty: keep the stored secret'),
      domains: z.array(z.string().max(253)).max(20).describe('Email domains routed to this provider, e.g. ["acme.com"]'),
      region: z.string().max(20).describe('The region where first sign-ins create accounts'),
      emailClaim: z.string().max(64).optional().describe('The ID token claim with the email address (default email)'),
      nameClaim: z.string().max(64).optional().describe('The ID token claim with the name (default name)'),
      ssoRequired: z.boolean().optional().describe('Members with these domains must sign in through SSO (no password sign-in or reset; owners with their own factor keep a break-glass path)'),
    })
    .strict(),
  response: ssoConfigView,
  async handler({ org, caller, body, meta }) {
    const parsed = ssoConfigInput.safeParse(body, { error: zod3Wording })
    if (!parsed.success) throw validationError(parsed.error, 'body', body)
    return saveSsoConfig({ orgId: org.org.id, actor: actorOf(caller), authority: authorityOf(caller), meta }, parsed.data)
  },
})

export const putIdpTrustEndpoint = defineEndpoint({
  method: 'PUT',
  path: '/api/organizations/:orgId/sso/trust/:region',
  tag: 'sso',
  summary: 'Whether a region trusts the identity provider’s MFA (amr / acr values)',
  description:
    'Turning trust on, or trusting more amr/acr values, lowers protection: an owner whose session passed a second factor within the last 5 minutes (403 step_up_required); an API key gets 403 person_required. ' +
    'The answer says what it lowered and how many non-exempt members it affects.',
  auth: 'session_or_key',
  org: { role: 'owner', scopes: ['policy:write'] },
  errors: ['step_up_required', 'person_required'],
  transaction: false,
  params: z.object({ region: z.string().regex(/^[a-z0-9-]{1,20}$/) }),
  body: z
    .object({
      trustIdpMfa: z.boolean(),
      idpMfaAmr: z.array(z.string().max(200)).max(20).optional().describe('amr values that count as MFA (default mfa, otp, hwk, swk; omitted: keep)'),
      idpMfaAcr: z.array(z.string().max(200)).max(20).optional().describe('acr values that count as MFA (omitted: none)'),
    })
    .strict(),
  response: z.object({
    changed: z.boolean(),
    lowered: z.array(z.string()),
    lowersProtectionFor: z.number().int().describe('Non-exempt members in the region the change affects (0 when it lowers nothing)'),
    settings: ssoConfigView,
  }),
  async handler({ org, caller, body, params, meta }) {
    const parsed = idpTrustInput.safeParse({ ...body, region: params.region }, { error: zod3Wording })
    if (!parsed.success) throw validationError(parsed.error, 'body', body)
    const result = await setIdpTrust({ orgId: org.org.id, actor: actorOf(caller), authority: authorityOf(caller), meta }, parsed.data)
    if (!result) throw notFoundError(`This organization does not operate in region ${params.region.toUpperCase()}.`)
    return { ...result, settings: await ssoView(org.org.id) }
  },
})

export const verifySsoDomainEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/sso/domains/:domain/verify',
  tag: 'sso',
  summary: 'Verify one of the organization’s SSO email domains by its DNS TXT record',
  description:
    'Looks up the TXT record `_gatehouse-challenge.<domain>` and expects `gatehouse-domain-verification=<token>` (the token is in `domainStates` of GET /sso). ' +
    'Found: the domain is verified (it then routes sign-in and allows new accounts), other organizations’ unverified claims of it are dropped, audited as org.sso_domain_verified. ' +
    'Not found: 422 domain_unverified; DNS not answering: 502 dns_unavailable; nothing written either way. ' +
    'Owners only, with a second factor in the last 5 minutes (403 step_up_required); an API key gets 403 person_required.',
  auth: 'session_or_key',
  org: { role: 'owner', scopes: ['policy:write'] },
  errors: ['step_up_required', 'person_required', 'domain_unverified', 'dns_unavailable', 'sso_domain_taken', 'not_found', 'conflict'],
  transaction: false,
  params: z.object({ domain: z.string().min(1).max(253) }),
  response: z.object({
    domain: z.string(),
    verified: z.boolean(),
    alreadyVerified: z.boolean(),
    droppedClaims: z.number().int().describe('Other organizations’ unverified claims of the domain that were dropped'),
    settings: ssoConfigView,
  }),
  async handler({ org, caller, params, meta }) {
    const result = await verifySsoDomain({ orgId: org.org.id, actor: actorOf(caller), authority: authorityOf(caller), meta }, params.domain)
    return { ...result, settings: await ssoView(org.org.id) }
  },
})
