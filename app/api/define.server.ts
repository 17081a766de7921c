/**
 * What an API endpoint declares. The registry (registry.server.ts) lists every endpoint once;
 * the route wrapper, the OpenAPI document and the tests (including the cross-organization sweep)
 * all read from it, so an endpoint cannot be served without being documented and swept.
 */
import type { z } from 'zod'
import type { RequestMeta } from '#app/audit/record.server.ts'
import type { Tx } from '#db/client.ts'
import type { ApiScope } from '#app/orgs/api-keys.server.ts'
import type { OrgRole, OrgScope, Organization } from '#app/orgs/scope.server.ts'
import type { ErrorCode } from '#app/errors.ts'
import type { Caller } from './auth.server.ts'

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE'

/**
 * - 'none': no token needed (sign-in, the OpenAPI document)
 * - 'session': an API session token only (a member acting for themselves)
 * - 'session_or_key': a session token or an organization API key
 * - 'optional_session': a session token when one is sent, none otherwise (POST /api/auth/2fa/verify
 *   finishes a sign-in without a token, or confirms an app set-up with one)
 */
export type AuthMode = 'none' | 'session' | 'session_or_key' | 'optional_session'

/**
 * An organization-scoped endpoint: its path has `:orgId` (an id or a slug). A session caller
 * needs at least `role` there; an API key must belong to that organization and hold every one
 * of `scopes`. Anyone else gets 404, as if the organization did not exist.
 */
export type OrgRequirement = { role: OrgRole; scopes: ApiScope[] }

export type OrgAccess = { org: Organization; scope: OrgScope; role: OrgRole | null }

type AnyObject = z.ZodObject

export type EndpointContext<B, Q, P, A extends AuthMode, O extends OrgRequirement | undefined> = {
  request: Request
  meta: RequestMeta
  /** The transaction the handler runs in (the database itself when `transaction: false`). */
  tx: Tx
  body: B
  query: Q
  params: P
  caller: A extends 'none' | 'optional_session' ? Caller | null : Caller
  org: O extends OrgRequirement ? OrgAccess : undefined
  /**
   * optional_session only: a bearer token that is not a live session, with the 401 it got (the
   * verify endpoint reads it as a challengeId, decision 071); null otherwise.
   */
  bearer: { token: string; refusal: unknown } | null
}

export type Endpoint<
  B extends AnyObject | undefined = AnyObject | undefined,
  Q extends AnyObject | undefined = AnyObject | undefined,
  P extends AnyObject | undefined = AnyObject | undefined,
  R extends z.ZodTypeAny = z.ZodTypeAny,
  A extends AuthMode = AuthMode,
  O extends OrgRequirement | undefined = OrgRequirement | undefined,
> = {
  method: HttpMethod
  /** Express-style path, e.g. `/api/organizations/:orgId/api-keys/:keyId`. */
  path: `/api/${string}`
  summary: string
  description?: string
  tag: string
  auth: A
  /** Reachable with an enrollment-only session (enrollment endpoints and sign-out). */
  enrollmentAllowed?: boolean
  org?: O
  /** Path parameters other than `orgId`; a value that fails it answers 404. */
  params?: P
  /** Query string, parsed strictly. */
  query?: Q
  /** JSON body; declare it `.strict()` so unknown fields are refused. */
  body?: B
  /** The schema of `data` in the success answer `{ data }`. */
  response: R
  /** Answer the handler's result as the whole body instead of `{ data }` (the OpenAPI document). */
  unwrapped?: boolean
  /**
   * Error codes (from the catalogue, app/errors.ts) the handler may answer beyond the wrapper's own;
   * the OpenAPI document lists both under each status (decision 065).
   */
  errors?: ErrorCode[]
  /** Success status (200 unless said). */
  status?: number
  /**
   * Run the handler in one transaction (default), so an error leaves nothing written. Turn off
   * only when a failure must itself be recorded (sign-in counts failed passwords).
   */
  transaction?: boolean
  handler: (
    ctx: EndpointContext<
      B extends AnyObject ? z.infer<B> : undefined,
      Q extends AnyObject ? z.infer<Q> : undefined,
      P extends AnyObject ? z.infer<P> : Record<string, never>,
      A,
      O
    >,
  ) => Promise<z.input<R>>
}

/** Identity function that keeps the endpoint's types; use it for every registry entry. */
export function defineEndpoint<
  B extends AnyObject | undefined = undefined,
  Q extends AnyObject | undefined = undefined,
  P extends AnyObject | undefined = undefined,
  R extends z.ZodTypeAny = z.ZodTypeAny,
  A extends AuthMode = AuthMode,
  O extends OrgRequirement | undefined = undefined,
>(endpoint: Endpoint<B, Q, P, R, A, O>): Endpoint<B, Q, P, R, A, O> {
  return endpoint
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyEndpoint = Endpoint<any, any, any, any, any, any>

export const iso = (d: Date | null | undefined) => (d ? d.toISOString() : null)

/**
 * What an endpoint answers in `data`, from its response schema: the CLI's client verbs type their
 * answers with this (`ApiData<typeof statusEndpoint>`, a type-only import), never by hand (decision 065).
 */
export type ApiData<E extends { response: z.ZodType }> = z.infer<E['response']>
