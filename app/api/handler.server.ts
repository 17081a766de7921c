/**
 * The wrapper every /api request goes through, from the one catch-all route (app/routes/api.$.ts).
 * In order: route and method (404, 405), the
 * per-address limit (429), the bearer token (401), the per-token limit (429), enrollment-only
 * sessions (403), the organization (404 for anyone outside it, 403 for a too-low role or a
 * missing key scope, 403 mfa_required for a change from a session that never passed a second
 * factor), key-versus-session (403), path parameters (404), query (400), content type (415), body size (413),
 * JSON (400) and its schema (400); then the handler, in a transaction, and `{ data }`.
 * Bad input never reaches a 500, and a failed request writes nothing.
 */
import { z } from 'zod'
import { config } from '#app/config/env.server.ts'
import { requestMeta } from '#app/http/request.server.ts'
import { findMembership, orgScope, roleAtLeast } from '#app/orgs/scope.server.ts'
import { isUuid } from '#app/auth/verification.server.ts'
import { db } from '#db/client.ts'
import { authenticate, callerTokenId, readBearer, requireKeyAllowedByPolicy, type Caller } from './auth.server.ts'
import type { AnyEndpoint, OrgAccess } from './define.server.ts'
import { DomainError } from '#app/errors.ts'
import { refuseChange } from '#app/audit/record.server.ts'
import { sessionPassedSecondFactor } from '#app/auth/session.server.ts'
import { ApiError, apiError, jsonResponse, notFoundError, toErrorResponse, validationError } from './errors.server.ts'
import { limitAddress, limitToken } from './rate-limit.server.ts'
import { matchEndpoints } from './match.ts'
import { zod3Wording } from '#app/http/zod-wording.ts'
import { ENDPOINTS } from './registry.server.ts'
import { noteRequestOrganization, noteRequestUser } from '#app/observability/request-context.server.ts'

type RouteArgs = { request: Request; context?: { ip?: string | null } }

/** The catch-all route's loader and action: the request's path is matched against the registry. */
export async function handleApi(args: RouteArgs): Promise<Response> {
  try {
    const match = matchEndpoints(ENDPOINTS, new URL(args.request.url).pathname)
    if (!match) throw apiError('not_found', 'There is no such API endpoint. The list is at /api/openapi.json.')
    return await dispatch(match.path, match.candidates, match.params, args)
  } catch (e) {
    return toErrorResponse(e)
  }
}

async function dispatch(path: string, candidates: AnyEndpoint[], params: Record<string, string>, { request, context }: RouteArgs): Promise<Response> {
  const method = request.method === 'HEAD' ? 'GET' : request.method.toUpperCase()
  const endpoint = candidates.find((e) => e.method === method)
  if (!endpoint) {
    const allow = candidates.map((e) => e.method).join(', ')
    throw apiError('method_not_allowed', `${path} answers ${allow}, not ${request.method}.`, { headers: { Allow: allow } })
  }
  const meta = requestMeta(request, context)
  await limitAddress(meta.ip)

  const tokenSent = request.headers.has('authorization')
  // optional_session: a bearer token that is no session is handed to the handler as `bearer`
  // (POST /api/auth/2fa/verify reads it as a pending sign-in's challengeId; decision 071), with the
  // refusal it got here, for the handler to answer when it is not that either.
  let bearer = null as { token: string; refusal: unknown } | null
  const caller =
    endpoint.auth === 'none' || (endpoint.auth === 'optional_session' && !tokenSent)
      ? null
      : await authenticate(request, meta).catch((e: unknown) => {
          const token = endpoint.auth === 'optional_session' && e instanceof ApiError && e.code === 'unauthorized' ? readBearer(request) : null
          if (!token) throw e
          bearer = { token, refusal: e }
          return null
        })
  // Right after authentication, so no later refusal lets a token go unmetered.
  if (caller) await limitToken(callerTokenId(caller))
  // A key's log line names its service account and organization, as a session's names its member.
  if (caller?.kind === 'api_key') {
    noteRequestUser(caller.user.id)
    noteRequestOrganization(caller.org.id)
  }
  // A key acts as its service account: the organization's MFA policy must not ask that account
  // for a second factor (a key cannot give one), unless an admin exempted it (decision 047).
  if (caller?.kind === 'api_key') await requireKeyAllowedByPolicy(caller)
  if (caller?.kind === 'session' && caller.session.level === 'enroll_only' && !endpoint.enrollmentAllowed) {
    throw apiError('enrollment_required', 'This token may only set up a second factor (or sign out). Finish enrollment, then sign in again.')
  }
  const org = endpoint.org ? await resolveOrg(endpoint, caller!, params.orgId) : undefined
  if (org) noteRequestOrganization(org.org.id)
  // Owners and admins change nothing in an organization with a session that never passed a second
  // factor (decision 056); reading stays open. The one place the API checks it.
  if (org && method !== 'GET' && caller?.kind === 'session' && !sessionPassedSecondFactor(caller.session)) {
    await refuseChange(
      new DomainError('mfa_required', 'Owners and admins change nothing in an organization without a second factor: sign in with your second factor (set one up first if you have none), then retry.'),
      { actor: { id: caller.user.id, label: caller.user.email }, attempt: `${method} ${path}`, organizationId: org.org.id, meta },
    )
  }
  if (caller?.kind === 'api_key' && endpoint.auth !== 'session_or_key') {
    throw apiError('forbidden', 'API keys cannot use this endpoint; it needs a member’s session token.')
  }

  const { orgId: _orgId, ...otherParams } = params
  const parsedParams = endpoint.params ? endpoint.params.safeParse(otherParams) : { success: true as const, data: {} }
  if (!parsedParams.success) throw notFoundError()

  const query = endpoint.query ? parseOrThrow(endpoint.query, Object.fromEntries(new URL(request.url).searchParams), 'query') : undefined
  const body = method === 'GET' ? undefined : await readBody(request, endpoint)

  const run = (tx: typeof db) =>
    endpoint.handler({ request, meta, tx, body, query, params: parsedParams.data, caller, org, bearer } as Parameters<AnyEndpoint['handler']>[0])
  const data = endpoint.transaction === false ? await run(db) : await db.transaction((tx) => run(tx as unknown as typeof db))
  // Outside production the answer is checked against its documented schema: drift fails tests.
  if (!config.isProduction) endpoint.response.parse(data)
  return jsonResponse(endpoint.unwrapped ? data : { data }, endpoint.status ?? 200)
}

async function resolveOrg(endpoint: AnyEndpoint, caller: Caller, ref: string | undefined): Promise<OrgAccess> {
  const requirement = endpoint.org!
  if (!ref || ref.length > 100) throw notFoundError()
  if (caller.kind === 'api_key') {
    const matches = isUuid(ref) ? caller.org.id === ref : caller.org.slug === ref
    if (!matches) throw notFoundError()
    const missing = requirement.scopes.filter((s: string) => !caller.scopes.includes(s as never))
    if (missing.length) throw apiError('insufficient_scope', `This API key lacks the scope${missing.length > 1 ? 's' : ''} ${missing.join(', ')}.`)
    return { org: caller.org, scope: orgScope(caller.org), role: null }
  }
  const found = await findMembership(caller.user.id, isUuid(ref) ? { id: ref } : { slug: ref })
  if (!found) throw notFoundError()
  if (!roleAtLeast(found.membership.role, requirement.role)) {
    throw apiError('forbidden', `Only ${requirement.role === 'owner' ? 'owners' : 'owners and admins'} of this organization can do this.`)
  }
  return { org: found.org, scope: orgScope(found.org), role: found.membership.role }
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json$/

async function readBody(request: Request, endpoint: AnyEndpoint): Promise<unknown> {
  const schema: z.ZodTypeAny = endpoint.body ?? z.object({}).strict()
  const contentType = (request.headers.get('content-type') ?? '').split(';')[0].trim().toLowerCase()
  const notJson = () => apiError('unsupported_media_type', 'Send the request body as JSON with Content-Type: application/json.')
  // A declared type that is not JSON is refused before reading a byte (decision 060).
  if (contentType && !JSON_TYPE.test(contentType)) throw notJson()
  const text = await readLimitedText(request)
  // An endpoint without a body accepts an empty request; any body at all must be JSON.
  if (!endpoint.body && text.trim() === '' && !contentType) return undefined
  if (!contentType) throw notJson()
  let raw: unknown
  if (text.trim() === '') raw = endpoint.body ? undefined : {}
  else {
    try {
      raw = JSON.parse(text)
    } catch {
      throw apiError('invalid_json', 'The request body is not valid JSON.')
    }
  }
  if (raw === undefined) throw apiError('invalid_request', 'This endpoint needs a JSON object in the request body.')
  const parsed = parseOrThrow(schema, raw, 'body')
  return endpoint.body ? parsed : undefined
}

/** Reads the body, counting bytes as they arrive: Content-Length is a hint, not a promise. */
async function readLimitedText(request: Request): Promise<string> {
  const limit = config.api.maxBodyBytes
  const tooLarge = () => apiError('payload_too_large', `The request body is larger than ${Math.floor(limit / 1024)} KB.`)
  const declared = Number(request.headers.get('content-length') ?? '0')
  if (declared > limit) throw tooLarge()
  if (!request.body) return ''
  const reader = request.body.getReader()
  const chunks: Uint8Array[] = []
  let total = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    total += value.byteLength
    // The rest of the body is left unread: the server drains it or closes the connection
    // once this answer is out (decision 060).
    if (total > limit) throw tooLarge()
    chunks.push(value)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(Buffer.concat(chunks))
  } catch {
    throw apiError('invalid_json', 'The request body is not valid UTF-8 JSON.')
  }
}

function parseOrThrow(schema: z.ZodTypeAny, raw: unknown, where: 'body' | 'query') {
  const parsed = schema.safeParse(raw, { error: zod3Wording })
  if (parsed.success) return parsed.data
  throw validationError(parsed.error, where, raw)
}
