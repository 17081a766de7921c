/**
 * THE list of API endpoints. The route wrapper serves only what is here, the OpenAPI document is
 * generated from it, and the tests sweep it (every organization-scoped entry gets the
 * cross-organization test automatically).
 *
 * To add an endpoint: define it with `defineEndpoint` in endpoints/<area>.server.ts, add it to
 * ENDPOINTS below. The one catch-all route (app/routes/api.$.ts) serves it (decision 065).
 */
import { z } from 'zod'
import { defineEndpoint, type AnyEndpoint } from './define.server.ts'
import { buildOpenApiDocument } from './openapi.server.ts'
import { passkeyOptionsEndpoint, passkeyVerifyEndpoint, signInEndpoint, signOutEndpoint } from './endpoints/auth.server.ts'
import { meEndpoint } from './endpoints/me.server.ts'
import { endSessionEndpoint, listSessionsEndpoint } from './endpoints/sessions.server.ts'
import {
  acceptInvitationEndpoint, cancelInvitationEndpoint, createServiceAccountEndpoint, declineInvitationEndpoint, inviteEndpoint, listMyInvitationsEndpoint, listOrgInvitationsEndpoint,
} from './endpoints/invitations.server.ts'
import { organizationEndpoint } from './endpoints/organizations.server.ts'
import { issueApiKeyEndpoint, listApiKeysEndpoint, revokeApiKeyEndpoint } from './endpoints/api-keys.server.ts'
import {
  disableEndpoint, emailCodeEndpoint, listCredentialsEndpoint, regenerateCodesEndpoint, removeCredentialEndpoint, setupEndpoint, statusEndpoint, verifyEndpoint,
} from './endpoints/two-factor.server.ts'
import { orgIssueAccessCodeEndpoint, orgRevokeAccessCodeEndpoint, supportIssueAccessCodeEndpoint, supportRevokeAccessCodeEndpoint } from './endpoints/access-codes.server.ts'
import { getSsoEndpoint, putIdpTrustEndpoint, putSsoEndpoint, verifySsoDomainEndpoint } from './endpoints/sso.server.ts'
import { getSecurityEndpoint, listAuditEndpoint, listMembersEndpoint, putRegionEndpoint, setSecurityEndpoint } from './endpoints/security.server.ts'

const openApiEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/openapi.json',
  tag: 'meta',
  summary: 'This API’s OpenAPI 3.1 document',
  auth: 'none',
  unwrapped: true,
  response: z.record(z.string(), z.unknown()),
  async handler() {
    return buildOpenApiDocument(ENDPOINTS)
  },
})

export const ENDPOINTS: readonly AnyEndpoint[] = [
  signInEndpoint,
  passkeyOptionsEndpoint,
  passkeyVerifyEndpoint,
  signOutEndpoint,
  listSessionsEndpoint,
  endSessionEndpoint,
  meEndpoint,
  listMyInvitationsEndpoint,
  acceptInvitationEndpoint,
  declineInvitationEndpoint,
  organizationEndpoint,
  createServiceAccountEndpoint,
  listOrgInvitationsEndpoint,
  inviteEndpoint,
  cancelInvitationEndpoint,
  listApiKeysEndpoint,
  issueApiKeyEndpoint,
  revokeApiKeyEndpoint,
  verifyEndpoint,
  emailCodeEndpoint,
  setupEndpoint,
  statusEndpoint,
  disableEndpoint,
  regenerateCodesEndpoint,
  listCredentialsEndpoint,
  removeCredentialEndpoint,
  getSecurityEndpoint,
  setSecurityEndpoint,
  putRegionEndpoint,
  getSsoEndpoint,
  putSsoEndpoint,
  putIdpTrustEndpoint,
  verifySsoDomainEndpoint,
  listMembersEndpoint,
  listAuditEndpoint,
  orgIssueAccessCodeEndpoint,
  orgRevokeAccessCodeEndpoint,
  supportIssueAccessCodeEndpoint,
  supportRevokeAccessCodeEndpoint,
  openApiEndpoint,
]

/**
 * Mistakes that would weaken every later endpoint stop the server at start-up instead: a path with
 * `:orgId` but no organization requirement (it would skip the scoping), an undeclared path
 * parameter, a body that accepts unknown fields, a duplicate.
 */
export function registryProblems(endpoints: readonly AnyEndpoint[]): string[] {
  const problems: string[] = []
  const seen = new Set<string>()
  for (const e of endpoints) {
    const name = `${e.method} ${e.path}`
    if (seen.has(name)) problems.push(`${name}: registered twice`)
    seen.add(name)
    const names = [...e.path.matchAll(/:(\w+)/g)].map((m) => m[1])
    if (names.includes('orgId') !== !!e.org) problems.push(`${name}: a path with :orgId needs \`org\`, and \`org\` needs :orgId in the path`)
    if (e.org && (e.auth === 'none' || e.auth === 'optional_session')) problems.push(`${name}: an organization-scoped endpoint needs a token`)
    const declared = Object.keys(e.params?.shape ?? {})
    for (const p of names.filter((n) => n !== 'orgId')) if (!declared.includes(p)) problems.push(`${name}: path parameter :${p} is not in \`params\``)
    for (const p of declared) if (!names.includes(p)) problems.push(`${name}: \`params\` has ${p}, which is not in the path`)
    if (e.body && e.body._zod.def.catchall?._zod.def.type !== 'never') problems.push(`${name}: declare the body with .strict() so unknown fields are refused`)
    if (e.body && e.method === 'GET') problems.push(`${name}: GET takes no body`)
  }
  return problems
}

{
  const problems = registryProblems(ENDPOINTS)
  if (problems.length) throw new Error(`API registry:\n  - ${problems.join('\n  - ')}`)
}

/** Organization-scoped endpoints: the cross-organization sweep covers each of these. */
export const orgScopedEndpoints = () => ENDPOINTS.filter((e) => e.org)
