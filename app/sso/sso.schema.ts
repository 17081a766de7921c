/**
 * Single sign-on settings as the console, the API and the CLI take them (decision 075). No
 * `.server`: the browser bundle may load it. Bad input gets field errors (a 400), never a 500.
 */
import { z } from 'zod'

const DOMAIN = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/
const CLAIM = /^[A-Za-z_][A-Za-z0-9_.:-]{0,63}$/

export const domainList = z
  .union([z.string(), z.array(z.string())])
  .transform((v) => [v].flat().flatMap((s) => s.split(/[\s,]+/)).map((d) => d.trim().toLowerCase().replace(/^@/, '')).filter(Boolean))
  .pipe(z.array(z.string().regex(DOMAIN, 'Enter domains like acme.com, separated by spaces or commas.')).min(1, 'Enter at least one email domain.').max(20, 'At most 20 domains.'))
  .transform((list) => [...new Set(list)].sort())

/** The settings an owner saves. An empty client secret keeps the stored one (it is never shown again). */
export const ssoConfigInput = z.object({
  issuer: z
    .string()
    .trim()
    .min(1, 'Enter the issuer URL.')
    .max(500)
    .refine((v) => URL.canParse(v) && ['https:', 'http:'].includes(new URL(v).protocol), 'Enter the issuer URL, e.g. https://login.acme.com.'),
  clientId: z.string().trim().min(1, 'Enter the client id.').max(500),
  clientSecret: z.string().max(1000, 'That secret is too long.').optional().default(''),
  domains: domainList,
  region: z.string().trim().min(1, 'Choose the region new members join.').max(20),
  emailClaim: z.string().trim().regex(CLAIM, 'A claim name, e.g. email.').optional().default('email'),
  nameClaim: z.string().trim().regex(CLAIM, 'A claim name, e.g. name.').optional().default('name'),
  ssoRequired: z
    .union([z.boolean(), z.literal('on'), z.literal('true'), z.literal('false'), z.literal('')])
    .optional()
    .transform((v) => v === true || v === 'on' || v === 'true'),
})
export type SsoConfigInput = z.infer<typeof ssoConfigInput>

const valueList = z
  .union([z.string(), z.array(z.string())])
  .optional()
  .transform((v) => (v === undefined ? [] : [v].flat().flatMap((s) => s.split(/[\s,]+/)).map((x) => x.trim()).filter(Boolean)))
  .pipe(z.array(z.string().max(200).regex(/^[\x21-\x7e]+$/, 'Values without spaces.')).max(20))
  .transform((list) => [...new Set(list)])

/** One region's "trust the identity provider's MFA" setting. */
export const idpTrustInput = z.object({
  region: z.string().trim().min(1).max(20),
  trustIdpMfa: z
    .union([z.boolean(), z.literal('on'), z.literal('true'), z.literal('false'), z.literal('')])
    .optional()
    .transform((v) => v === true || v === 'on' || v === 'true'),
  idpMfaAmr: valueList,
  idpMfaAcr: valueList,
})
export type IdpTrustInput = z.infer<typeof idpTrustInput>

/** What the API and the console show of the settings: never the secret, only whether one is stored. */
export const ssoConfigView = z.object({
  configured: z.boolean(),
  issuer: z.string().nullable(),
  clientId: z.string().nullable(),
  clientSecretSet: z.boolean(),
  domains: z.array(z.string()),
  /** Each domain's DNS proof (decision 080): only verified domains route /login and allow new accounts. */
  domainStates: z.array(
    z.object({
      domain: z.string(),
      state: z.enum(['verified', 'unverified']),
      verifiedAt: z.string().nullable(),
      txtName: z.string().describe('Where to publish the TXT record: _gatehouse-challenge.<domain>'),
      txtValue: z.string().describe('The TXT record’s value: gatehouse-domain-verification=<token>'),
    }),
  ),
  region: z.string().nullable(),
  emailClaim: z.string(),
  nameClaim: z.string(),
  ssoRequired: z.boolean(),
  trust: z.array(z.object({ region: z.string(), trustIdpMfa: z.boolean(), idpMfaAmr: z.array(z.string()), idpMfaAcr: z.array(z.string()) })),
})
export type SsoConfigView = z.infer<typeof ssoConfigView>

/** The console page's two forms, told apart by `intent`: the settings, and one region's trust. */
export const ssoPageForm = z.discriminatedUnion('intent', [
  ssoConfigInput.extend({ intent: z.literal('save') }),
  idpTrustInput.extend({ intent: z.literal('trust') }),
  z.object({ intent: z.literal('verify'), domain: z.string().trim().min(1).max(253) }),
])
