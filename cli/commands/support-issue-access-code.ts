import type { ApiData } from '#app/api/define.server.ts'
import type { supportIssueAccessCodeEndpoint } from '#app/api/endpoints/access-codes.server.ts'
import { defineCommand, UsageError } from '../registry.ts'
import { URL_OPTION, api, currentToken, serverUrl } from './_client.ts'

export default defineCommand({
  name: 'support issue-access-code',
  group: 'client',
  summary: 'issue a temporary access code for a member who lost a factor (support; --org for an organization admin)',
  usage: '--user <id> --reason TEXT --check ID --check ID [--ticket REF] [--hours N] [--org SLUG] | --user <id> --request <id>',
  description:
    'The code signs the member in once, straight to adding a new app or key; their other factors stay (decision 070). It is printed once: give it to the member ' +
    'directly. The member is emailed that a code was issued, with a link to freeze the account. Owners, admins and platform accounts need a second support ' +
    'person: the first call answers "pending"; once approved at /support/approvals, run it again with --request to get the code. ' +
    'Identity checks: video_id, callback, manager, email_reply, account_details (at least two). Revoke with "gatehouse support revoke-access-code".',
  options: {
    url: URL_OPTION,
    user: { type: 'string', placeholder: 'id', description: 'the member’s user id (from the support console)', required: true },
    reason: { type: 'string', placeholder: 'text', description: 'why (at least 10 characters)' },
    ticket: { type: 'string', placeholder: 'ref', description: 'the ticket reference (required for support)' },
    check: { type: 'string', placeholder: 'id', multiple: true, description: 'an identity check you did (repeat; at least two)' },
    hours: { type: 'string', placeholder: 'n', description: 'how long the code works, 1-24 hours (default 4)' },
    request: { type: 'string', placeholder: 'id', description: 'issue the code of this approved request (two-person rule)' },
    org: { type: 'string', placeholder: 'slug', description: 'as an administrator of this organization (plain members only)' },
  },
  examples: [
    'gatehouse support issue-access-code --user 5f0c... --reason "Lost phone, verified by video call" --ticket SUP-1234 --check video_id --check callback',
    'gatehouse support issue-access-code --user 5f0c... --request 9ad1... --hours 2 --json',
  ],
  async run({ values, print }) {
    const base = serverUrl(values)
    const token = currentToken()
    const user = String(values.user ?? '').trim()
    if (!user) throw new UsageError('Give the member with --user <id>.')
    let validHours: number | undefined
    if (typeof values.hours === 'string') {
      validHours = Number(values.hours)
      if (!Number.isInteger(validHours) || validHours < 1 || validHours > 24) throw new UsageError('--hours takes a whole number of hours from 1 to 24.')
    }
    const checks = [values.check ?? []].flat().map(String)
    const body = typeof values.request === 'string'
      ? { requestId: values.request.trim(), validHours }
      : { reason: typeof values.reason === 'string' ? values.reason : '', ...(typeof values.ticket === 'string' ? { ticket: values.ticket } : {}), checks, validHours }
    const path = typeof values.org === 'string' && values.org.trim()
      ? `/api/organizations/${encodeURIComponent(values.org.trim())}/members/${encodeURIComponent(user)}/access-codes`
      : `/api/support/users/${encodeURIComponent(user)}/access-codes`
    if (typeof values.org === 'string' && 'requestId' in body) throw new UsageError('--request is for support: an organization admin issues at once or not at all.')
    const answer = await api<ApiData<typeof supportIssueAccessCodeEndpoint>>(base, path, { body, token })
    if (answer.status === 'pending') {
      print({ ok: true, ...answer }, [`Waiting for a second support person (${answer.why}). Request ${answer.requestId}.`, `Once approved, run: gatehouse support issue-access-code --user ${user} --request ${answer.requestId}`])
      return
    }
    print({ ok: true, ...answer }, [
      `Temporary access code for ${answer.email} (works once, until ${answer.expiresAt}):`,
      `  ${answer.code}`,
      'It is not shown again. Give it to the member directly, never by email.',
      answer.noticeQueued ? 'The member was emailed that a code was issued.' : 'The email to the member could not be queued yet; it is sent when mail is back.',
    ])
  },
})
