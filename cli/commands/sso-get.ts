import type { ApiData } from '#app/api/define.server.ts'
import type { getSsoEndpoint } from '#app/api/endpoints/sso.server.ts'
import { defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, positionalOrOption, serverUrl } from './_client.ts'

export type SsoSettings = ApiData<typeof getSsoEndpoint>

export const describeSso = (s: SsoSettings): string[] =>
  s.configured
    ? [
        `Issuer: ${s.issuer}`,
        `Client id: ${s.clientId}`,
        `Client secret: ${s.clientSecretSet ? 'set (never shown)' : 'not set'}`,
        `Email domains: ${s.domains.join(', ')}`,
        ...s.domainStates.map((x) =>
          x.state === 'verified'
            ? `  ${x.domain}: verified${x.verifiedAt ? ` (${x.verifiedAt})` : ''}`
            : `  ${x.domain}: NOT verified (not used for sign-in). Publish TXT ${x.txtName} "${x.txtValue}", then: gatehouse sso verify-domain ${x.domain}`,
        ),
        `Region for new members: ${s.region?.toUpperCase()}`,
        `Claims: email ← ${s.emailClaim}, name ← ${s.nameClaim}`,
        `SSO required: ${s.ssoRequired ? 'yes (no password sign-in or reset for these domains; owners with their own factor keep break-glass)' : 'no'}`,
        ...s.trust.map((t) => `Trust the provider’s MFA in ${t.region.toUpperCase()}: ${t.trustIdpMfa ? `yes (amr ${t.idpMfaAmr.join(', ')}${t.idpMfaAcr.length ? `; acr ${t.idpMfaAcr.join(', ')}` : ''})` : 'no'}`),
      ]
    : ['Single sign-on is not set up.']

export default defineCommand({
  name: 'sso get',
  group: 'client',
  summary: 'show an organization’s single sign-on settings (never the client secret)',
  usage: '<org>',
  positionals: [{ name: 'org', description: 'the organization’s slug or id' }],
  options: { url: URL_OPTION, org: { type: 'string', placeholder: 'slug', description: 'the organization (or give it as the argument)' } },
  examples: ['gatehouse sso get globex', 'GATEHOUSE_TOKEN=ghk_... gatehouse sso get globex --json'],
  async run({ values, positionals, print }) {
    const org = positionalOrOption(values, positionals, 'org')
    const data = await api<SsoSettings>(serverUrl(values), `/api/organizations/${encodeURIComponent(org)}/sso`, { token: currentToken() })
    print(data, describeSso(data))
  },
})
