import { defineCommand, UsageError } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'support revoke-access-code',
  group: 'client',
  summary: 'revoke a member’s temporary access code before it is used (support; --org for an organization admin)',
  usage: '--user <id> [--org SLUG]',
  options: {
    url: URL_OPTION,
    user: { type: 'string', placeholder: 'id', description: 'the member’s user id', required: true },
    org: { type: 'string', placeholder: 'slug', description: 'as an administrator of this organization' },
  },
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const user = String(values.user ?? '').trim()
    if (!user) throw new UsageError('Give the member with --user <id>.')
    const path = typeof values.org === 'string' && values.org.trim()
      ? `/api/organizations/${encodeURIComponent(values.org.trim())}/members/${encodeURIComponent(user)}/access-codes`
      : `/api/support/users/${encodeURIComponent(user)}/access-codes`
    await api(base, path, { method: 'DELETE', token })
    print({ ok: true, revoked: true, user }, 'The temporary access code was revoked: it no longer works.')
  },
})
