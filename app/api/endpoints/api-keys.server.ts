/** Organization API keys over the API: list, issue, revoke (owners and admins, with a session). */
import { z } from 'zod'
import { isDomainError } from '#app/errors.ts'
import { API_SCOPES, issueApiKey, listApiKeys, revokeApiKey } from '#app/orgs/api-keys.server.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { apiError, notFoundError } from '../errors.server.ts'
import { dateTime } from './views.server.ts'

const apiKeySchema = z.object({
  id: z.string().uuid(),
  name: z.string(),
  prefix: z.string().describe('The first characters of the key, to recognise it'),
  scopes: z.array(z.enum(API_SCOPES)),
  serviceAccount: z.object({ id: z.string().uuid(), email: z.string() }),
  createdAt: dateTime,
  lastUsedAt: dateTime.nullable(),
  revokedAt: dateTime.nullable(),
})

type KeyRow = Awaited<ReturnType<typeof listApiKeys>>[number]
const keyView = (k: KeyRow) => ({
  ...k,
  scopes: k.scopes as (typeof API_SCOPES)[number][],
  createdAt: iso(k.createdAt)!,
  lastUsedAt: iso(k.lastUsedAt),
  revokedAt: iso(k.revokedAt),
})

export const listApiKeysEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/api-keys',
  tag: 'api-keys',
  summary: 'List the organization’s API keys (never the keys themselves)',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  response: z.object({ apiKeys: z.array(apiKeySchema) }),
  async handler({ org, tx }) {
    return { apiKeys: (await listApiKeys(org.scope, tx)).map(keyView) }
  },
})

export const issueApiKeyEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/api-keys',
  tag: 'api-keys',
  summary: 'Issue an API key to one of the organization’s service accounts; the key is shown once',
  description: 'A key with a write scope (policy:write) needs a second factor on the calling session within the last 5 minutes (403 step_up_required otherwise).',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  errors: ['step_up_required'],
  body: z
    .object({
      serviceAccountId: z.string().uuid('is not a service account id'),
      name: z.string().trim().min(1, 'Name the key').max(100, 'is too long'),
      scopes: z.array(z.enum(API_SCOPES)).min(1, 'Choose at least one scope').max(API_SCOPES.length),
    })
    .strict(),
  status: 201,
  response: z.object({ key: z.string().describe('The API key. It is shown only this once.'), apiKey: apiKeySchema }),
  async handler({ org, caller, body, meta, tx }) {
    if (caller.kind !== 'session') throw apiError('forbidden', 'Only a member’s session can issue keys.')
    try {
      const issued = await issueApiKey(
        { org: org.org, scope: org.scope, issuer: { user: caller.user, session: caller.session }, serviceAccountId: body.serviceAccountId, name: body.name, scopes: body.scopes, meta },
        tx,
      )
      const k = issued.apiKey
      return {
        key: issued.key,
        apiKey: keyView({ id: k.id, name: k.name, prefix: k.prefix, scopes: k.scopes, serviceAccount: { id: issued.serviceAccount.id, email: issued.serviceAccount.email }, createdAt: k.createdAt, lastUsedAt: k.lastUsedAt, revokedAt: k.revokedAt }),
      }
    } catch (e) {
      if (isDomainError(e) && e.code === 'step_up_required') throw apiError('step_up_required', e.message)
      if (isDomainError(e) && e.field === 'serviceAccountId') {
        throw apiError('invalid_request', `The request body is not valid: serviceAccountId: ${e.message}`, { fields: { serviceAccountId: e.message } })
      }
      throw e
    }
  },
})

export const revokeApiKeyEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/organizations/:orgId/api-keys/:keyId',
  tag: 'api-keys',
  summary: 'Revoke an API key; it stops working at once',
  auth: 'session',
  org: { role: 'admin', scopes: [] },
  params: z.object({ keyId: z.string().uuid() }),
  response: z.object({ revoked: z.literal(true) }),
  async handler({ org, caller, params, meta, tx }) {
    const row = await revokeApiKey({ scope: org.scope, keyId: params.keyId, actor: caller.user, meta }, tx)
    if (!row) throw notFoundError('There is no live API key with that id in this organization.')
    return { revoked: true as const }
  },
})
