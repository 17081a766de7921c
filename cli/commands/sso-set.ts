import type { ApiData } from '#app/api/define.server.ts'
import type { putIdpTrustEndpoint } from '#app/api/endpoints/sso.server.ts'
import { UsageError, defineCommand, type Values } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, prompt, serverUrl } from './_client.ts'
import { describeSso, type SsoSettings } from './sso-get.ts'

type TrustChange = ApiData<typeof putIdpTrustEndpoint>

const str = (values: Values, name: string) => (typeof values[name] === 'string' && (values[name] as string).trim() ? (values[name] as string).trim() : undefined)
const list = (v: string | undefined) => v?.split(/[\s,]+/).map((x) => x.trim()).filter(Boolean)

export default defineCommand({
  name: 'sso set',
  group: 'client',
  summary: 'change an organization’s single sign-on settings, or a region’s trust in the provider’s MFA',
  usage: '<org> [--issuer URL] [--client-id ID] [--client-secret-stdin] [--domains a.com,b.com] [--region R] [--email-claim C] [--name-claim C] [--required | --not-required]   or   <org> --trust-region R (--trust | --no-trust) [--amr a,b] [--acr x,y]',
  description:
    'Settings not given are kept as they are. The client secret is never taken on the command line: --client-secret-stdin reads it from standard input (asked without echo on a terminal); without it the stored secret is kept. ' +
    'The server reads the issuer’s discovery document before saving (exit 1 with the reason when it cannot). ' +
    'Owners only, signed in with a second factor in the last 5 minutes: sign in again with it first. An API key may read the settings but never change them.',
  positionals: [{ name: 'org', description: 'the organization’s slug or id' }],
  options: {
    url: URL_OPTION,
    org: { type: 'string', placeholder: 'slug', description: 'the organization (or give it as the argument)' },
    issuer: { type: 'string', placeholder: 'url', description: 'the provider’s issuer URL' },
    'client-id': { type: 'string', placeholder: 'id', description: 'the client id registered at the provider' },
    'client-secret-stdin': { type: 'boolean', description: 'read a new client secret from standard input' },
    domains: { type: 'string', placeholder: 'list', description: 'email domains, comma-separated (replaces the list)' },
    region: { type: 'string', placeholder: 'code', description: 'the region where first sign-ins create accounts' },
    'email-claim': { type: 'string', placeholder: 'claim', description: 'the ID token claim with the email (default email)' },
    'name-claim': { type: 'string', placeholder: 'claim', description: 'the ID token claim with the name (default name)' },
    required: { type: 'boolean', description: 'members with these domains must sign in through SSO' },
    'not-required': { type: 'boolean', description: 'SSO is offered; passwords still work' },
    'trust-region': { type: 'string', placeholder: 'code', description: 'change this region’s trust in the provider’s MFA' },
    trust: { type: 'boolean', description: 'trust the provider’s MFA (a lowering: fresh second factor)' },
    'no-trust': { type: 'boolean', description: 'do not trust it: Gatehouse asks its own second factor' },
    amr: { type: 'string', placeholder: 'list', description: 'amr values that count as MFA (default mfa,otp,hwk,swk)' },
    acr: { type: 'string', placeholder: 'list', description: 'acr values that count as MFA' },
  },
  examples: [
    'gatehouse sso set globex --issuer https://login.globex.example --client-id gatehouse --client-secret-stdin --domains globex.example --region us < secret.txt',
    'gatehouse sso set globex --required',
    'gatehouse sso set globex --trust-region us --trust --amr mfa,otp',
  ],
  async run({ values, positionals, print }) {
    const base = serverUrl(values)
    const org = encodeURIComponent(positionalOrOption(values, positionals, 'org'))
    const trustRegion = str(values, 'trust-region')
    const configFlags = ['issuer', 'client-id', 'domains', 'region', 'email-claim', 'name-claim'].some((n) => str(values, n) !== undefined) || values.required || values['not-required'] || values['client-secret-stdin']
    if (trustRegion) {
      if (configFlags) throw new UsageError('change either the settings or one region’s trust (--trust-region), not both at once')
      if (Boolean(values.trust) === Boolean(values['no-trust'])) throw new UsageError('with --trust-region say --trust or --no-trust')
      const body = { trustIdpMfa: Boolean(values.trust), ...(str(values, 'amr') ? { idpMfaAmr: list(str(values, 'amr')) } : {}), ...(str(values, 'acr') !== undefined ? { idpMfaAcr: list(str(values, 'acr')) } : {}) }
      const result = await api<TrustChange>(base, `/api/organizations/${org}/sso/trust/${encodeURIComponent(trustRegion)}`, { method: 'PUT', body, token: currentToken() })
      print(result, [
        result.changed ? `Saved: ${trustRegion.toUpperCase()} ${body.trustIdpMfa ? 'trusts' : 'does not trust'} the provider’s MFA.` : 'Unchanged.',
        ...(result.lowered.length ? [`  Lowers: ${result.lowered.join('; ')} (${result.lowersProtectionFor} member(s) affected).`] : []),
      ])
      return
    }
    if (values.trust || values['no-trust'] || values.amr || values.acr) throw new UsageError('--trust, --no-trust, --amr and --acr need --trust-region')
    if (!configFlags) throw new UsageError('nothing to change: give --issuer, --client-id, --client-secret-stdin, --domains, --region, --email-claim, --name-claim, --required or --not-required')
    if (values.required && values['not-required']) throw new UsageError('say --required or --not-required, not both')
    const token = currentToken()
    const current = await api<SsoSettings>(base, `/api/organizations/${org}/sso`, { token })
    const secret = values['client-secret-stdin'] ? await prompt('Client secret', { secret: true }) : ''
    if (values['client-secret-stdin'] && !secret.trim()) throw new UsageError('the client secret read from standard input is empty')
    const body = {
      issuer: str(values, 'issuer') ?? current.issuer ?? '',
      clientId: str(values, 'client-id') ?? current.clientId ?? '',
      ...(secret ? { clientSecret: secret.trim() } : {}),
      domains: list(str(values, 'domains')) ?? current.domains,
      region: str(values, 'region') ?? current.region ?? '',
      emailClaim: str(values, 'email-claim') ?? current.emailClaim,
      nameClaim: str(values, 'name-claim') ?? current.nameClaim,
      ssoRequired: values.required ? true : values['not-required'] ? false : current.ssoRequired,
    }
    if (!current.configured) {
      const missing = [['issuer', '--issuer'], ['clientId', '--client-id'], ['region', '--region']].filter(([k]) => !body[k as 'issuer']).map(([, f]) => f)
      if (!body.domains.length) missing.push('--domains')
      if (!secret) missing.push('--client-secret-stdin')
      if (missing.length) throw new UsageError(`single sign-on is not set up yet: give ${missing.join(', ')}`)
    }
    const saved = await api<SsoSettings>(base, `/api/organizations/${org}/sso`, { method: 'PUT', body, token })
    print(saved, ['Saved single sign-on settings (the provider’s discovery document was read).', ...describeSso(saved)])
  },
})
