/**
 * THE list of API endpoints. The route wrapper serves only what is here, the OpenAPI document is
 * generated from it, and the tests sweep it (every organization-scoped entry gets the
 * cross-organization test automatically).
 *
 * To add an endpoint: define it with `defineEndpoint` in endpoints/<area>.server.ts, add it to
 * ENDPOINTS below, and (for a new path) add a two-line route module under app/routes/api.*.ts.
 */
import { z } from 'zod'
import { defineEndpoint, type AnyEndpoint } from './define.server.ts'
import { buildOpenApiDocument } from './openapi.server.ts'
import { signInEndpoint, signOutEndpoint } from './endpoints/auth.server.ts'
import { meEndpoint } from './endpoints/me.server.ts'
import { organizationEndpoint } from './endpoints/organizations.server.ts'
import { issueApiKeyEndpoint, listApiKeysEndpoint, revokeApiKeyEndpoint } from './endpoints/api-keys.server.ts'

const openApiEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/openapi.json',
  tag: 'meta',
  summary: 'This API’s OpenAPI 3.1 document',
  auth: 'none',
  unwrapped: true,
  response: z.record(z.unknown()),
  async handler() {
    return buildOpenApiDocument(ENDPOINTS)
  },
})

export const ENDPOINTS: readonly AnyEndpoint[] = [
  signInEndpoint,
  signOutEndpoint,
  meEndpoint,
  organizationEndpoint,
  listApiKeysEndpoint,
  issueApiKeyEndpoint,
  revokeApiKeyEndpoint,
  openApiEndpoint,
]

/** Organization-scoped endpoints: the cross-organization sweep covers each of these. */
export const orgScopedEndpoints = () => ENDPOINTS.filter((e) => e.org)
