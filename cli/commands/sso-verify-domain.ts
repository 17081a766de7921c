import type { ApiData } from '#app/api/define.server.ts'
import type { verifySsoDomainEndpoint } from '#app/api/endpoints/sso.server.ts'
import { UsageError, defineCommand } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

type Verification = ApiData<typeof verifySsoDomainEndpoint>

export default defineCommand({
  name: 'sso verify-domain',
  group: 'client',
  summary: 'verify one of an organization’s single sign-on domains by its DNS TXT record',
  usage: '<domain> --org <org>',
  description:
    'The server looks up the TXT record _gatehouse-challenge.<domain> and expects gatehouse-domain-verification=<token> (`gatehouse sso get` shows it). ' +
    'Until a domain is verified it does not route sign-in to the provider. Exit 1 with the reason when the record is not found or DNS does not answer; nothing is changed then. ' +
    'Owners only, signed in with a second factor in the last 5 minutes.',
  positionals: [{ name: 'domain', description: 'the email domain, e.g. acme.com' }],
  options: {
    url: URL_OPTION,
    org: { type: 'string', placeholder: 'slug', description: 'the organization’s slug or id' },
  },
  examples: ['gatehouse sso verify-domain acme.com --org acme'],
  async run({ values, positionals, print }) {
    const domain = positionals[0]?.trim().toLowerCase()
    const org = typeof values.org === 'string' ? values.org.trim() : ''
    if (!domain) throw new UsageError('Give the domain to verify, e.g. gatehouse sso verify-domain acme.com --org acme.')
    if (!org) throw new UsageError('Give the organization with --org.')
    const data = await api<Verification>(serverUrl(values), `/api/organizations/${encodeURIComponent(org)}/sso/domains/${encodeURIComponent(domain)}/verify`, { method: 'POST', token: currentToken() })
    print(data, [
      data.alreadyVerified ? `${data.domain} was already verified.` : `${data.domain} verified: its addresses now sign in through single sign-on.`,
      ...(data.droppedClaims ? [`${data.droppedClaims} other organization(s)’ unverified claim(s) of it were dropped.`] : []),
    ])
  },
})
