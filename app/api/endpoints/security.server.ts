/**
 * An organization's security settings, members and audit log over the API (owners and admins with
 * a session, or API keys with the scope). Validation, impact, audit and notification runs are the
 * console's own (app/policy/region-policy.server.ts, exemptions.server.ts, through
 * security-change.server.ts); the lists are the console's queries (members, audit).
 */
import { z } from 'zod'
import type { Actor } from '#app/audit/record.server.ts'
import { auditQuery, listOrgAudit } from '#app/audit/query.server.ts'
import { listMembers, memberQuery, STATUSES } from '#app/orgs/members.server.ts'
import { orgRoleSchema } from '#app/orgs/members.schema.ts'
import { listOrgRegions } from '#app/orgs/organizations.server.ts'
import { isDomainError } from '#app/errors.ts'
import { exemptionInput, listExemptions, serviceAccountsByName } from '#app/policy/exemptions.server.ts'
import { sessionAuthority } from '#app/policy/lowering.server.ts'
import { DEADLINE_ACTIONS, POLICY_MODES, policyValues } from '#app/policy/policy.schema.ts'
import { POLICY_METHODS } from '#app/mfa/methods.schema.ts'
import { policyFields, regionPolicyInput, type PolicyImpact, type RegionPolicy, type RegionPolicyInput } from '#app/policy/region-policy.server.ts'
import { applySecurityChange, type SecurityChange } from '#app/policy/security-change.server.ts'
import type { Caller } from '../auth.server.ts'
import { defineEndpoint, iso, type OrgAccess } from '../define.server.ts'
import { ApiError, notFoundError, validationError } from '../errors.server.ts'
import { zod3Wording } from '#app/http/zod-wording.ts'
import { dateTime } from './views.server.ts'

const regionSchema = policyValues.extend({ region: z.string(), requiredSince: dateTime.nullable(), updatedAt: dateTime })
const exemptionSchema = z.object({ id: z.string().uuid(), userId: z.string().uuid(), email: z.string().optional(), region: z.string(), reason: z.string(), expiresAt: dateTime.nullable() })
const impactSchema = z.object({
  members: z.number().int(),
  exempt: z.number().int(),
  withoutAllowedFactor: z.number().int().describe('Non-exempt members who would hold no allowed factor'),
  overdueAtOnce: z.number().int().describe('Of those, how many are past their deadline at once'),
  earliestDeadline: dateTime.nullable(),
  becomesRequired: z.boolean(),
  becomesDisabled: z.boolean(),
  emailOnlyWarning: z.boolean(),
  lowered: z.array(z.string()).describe('What the change lowers, in words (a lowering needs an owner or admin with a second factor in the last 5 minutes; never an API key)'),
  lowersProtectionFor: z.number().int().describe('Non-exempt members in the region whose protection the change lowers (0 when it lowers nothing)'),
  summary: z.string(),
})
const changeResponse = z.object({
  regions: z.array(z.object({ region: z.string(), changed: z.boolean(), policy: regionSchema, impact: impactSchema, notificationRunId: z.string().uuid().nullable() })),
  exemptions: z.array(exemptionSchema),
})

const regionView = (p: RegionPolicy) => ({
  region: p.region,
  ...policyFields(p),
  allowedMethods: p.allowedMethods as (typeof POLICY_METHODS)[number][],
  requiredSince: iso(p.requiredSince),
  updatedAt: iso(p.updatedAt)!,
})
const impactView = ({ region: _region, ...i }: PolicyImpact) => ({ ...i, earliestDeadline: iso(i.earliestDeadline) })

function actorOf(caller: Caller): Actor {
  return caller.kind === 'api_key' ? { id: caller.user.id, label: `${caller.user.email} (API key ${caller.apiKey.prefix}…)` } : { id: caller.user.id, label: caller.user.email }
}

/** The console's validation of one region's proposal; its messages as field errors. */
function validPolicy(raw: unknown, prefix = ''): RegionPolicyInput {
  const parsed = regionPolicyInput.safeParse(raw, { error: zod3Wording })
  if (parsed.success) return parsed.data
  if (!prefix) throw validationError(parsed.error, 'body', raw)
  throw validationError(new z.ZodError(parsed.error.issues.map((i) => ({ ...i, path: [prefix, ...i.path] }))), 'body', { [prefix]: raw })
}

async function save(org: OrgAccess, caller: Caller, change: Omit<SecurityChange, 'scope' | 'actor' | 'authority'>) {
  try {
    const result = await applySecurityChange({
      ...change,
      scope: org.scope,
      actor: actorOf(caller),
      // A lowering is refused with person_required (API key) or step_up_required (decision 056).
      authority: caller.kind === 'session' ? sessionAuthority(caller.session) : { kind: 'api_key' },
    })
    return {
      regions: result.regions.map((r) => ({ region: r.region, changed: r.changed, policy: regionView(r.policy), impact: impactView(r.impact), notificationRunId: r.notificationRunId })),
      exemptions: result.exemptions.map((e) => ({ ...e, expiresAt: iso(e.expiresAt) })),
    }
  } catch (e) {
    if (isDomainError(e) && e.field) {
      if (e.code === 'not_found' && e.field === 'region') throw notFoundError(e.message)
      throw new ApiError(400, 'invalid_request', `The request body is not valid: ${e.field}: ${e.message}`, { fields: { [e.field]: e.message } })
    }
    throw e
  }
}

export const getSecurityEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/security',
  tag: 'security',
  summary: 'Every region’s MFA policy and the exemptions',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['policy:read'] },
  response: z.object({ regions: z.array(regionSchema), exemptions: z.array(exemptionSchema) }),
  async handler({ org }) {
    const [regions, exemptions] = await Promise.all([listOrgRegions(org.scope), listExemptions(org.scope)])
    return {
      regions: regions.map(regionView),
      exemptions: exemptions.map((e) => ({ id: e.id, userId: e.userId, email: e.email, region: e.region, reason: e.reason, expiresAt: iso(e.expiresAt) })),
    }
  },
})

const exemptionBody = z
  .object({
    userId: z.string().uuid('is not a user id'),
    reason: exemptionInput.shape.reason,
    expiresAt: exemptionInput.shape.expiresAt.describe('A date (2026-12-31, to the end of that day UTC) or a date-time; none: until removed'),
  })
  .strict()

/** The reason recorded for an exemption named by a bare string (002's shape carries none). */
const NAMED_EXEMPTION_REASON = 'Named in the exemptions list of POST /api/organizations/{orgId}/security'

export const setSecurityEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/organizations/:orgId/security',
  tag: 'security',
  summary: 'Require (or make optional) a second factor, in one region or all, and add exemptions',
  description:
    '`require2FA: true` sets Required, `false` sets Optional; `gracePeriodDays` changes the grace period; other settings are kept. ' +
    'Without `region` every region of the organization changes. `exemptions` are added (or replace the same account’s exemption) in the named region, or in the service account’s own region. ' +
    'An exemption is `{userId, reason, expiresAt?}`, or (as reference page 002 writes it) a service account’s email or the part before @, with no end date; names that are not service accounts of this organization get 400 listing them, and nothing changes. ' +
    'Same validation, impact and audit as the console; all or nothing. The answer has each region’s impact. ' +
    'Lowering protection (Optional from Required, a longer grace period, an exemption added or lengthened) needs an owner or admin whose session passed a second factor within the last 5 minutes (403 step_up_required); API keys may only raise protection (403 person_required).',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['policy:write'] },
  // A lowering: a person's fresh second factor (decision 056).
  errors: ['step_up_required', 'person_required'],
  transaction: false,
  body: z
    .object({
      require2FA: z.boolean(),
      gracePeriodDays: z.number().int('Whole days only.').optional(),
      exemptions: z
        .array(z.union([z.string().trim().min(1, 'is empty').max(320, 'is too long').describe('A service account of this organization: its email, or the part before @ (reference page 002)'), exemptionBody]))
        .max(100, 'At most 100 exemptions at once')
        .optional(),
      region: z.string().min(1).max(20).optional(),
    })
    .strict(),
  response: changeResponse,
  async handler({ org, caller, body, meta }) {
    const all = await listOrgRegions(org.scope)
    const targets = body.region ? all.filter((r) => r.region === body.region) : all
    if (body.region && targets.length === 0) throw notFoundError(`This organization does not operate in region ${body.region.toUpperCase()}.`)
    const regions = targets.map((r) => ({
      region: r.region,
      proposed: validPolicy({ ...policyFields(r), mode: body.require2FA ? 'required' : 'optional', gracePeriodDays: body.gracePeriodDays ?? r.gracePeriodDays }),
    }))
    // Names as reference page 002 writes them ("service-account-ci"): resolved first, all or none (decision 071).
    const named = (body.exemptions ?? []).flatMap((e, i) => (typeof e === 'string' ? [{ name: e, i }] : []))
    const { ids, refused } = named.length ? await serviceAccountsByName(org.scope, named.map((n) => n.name), body.region) : { ids: new Map<string, string>(), refused: [] }
    if (refused.length) {
      const fields = Object.fromEntries(refused.map((r) => [`exemptions.${named.find((n) => n.name === r.name)!.i}`, r.why]))
      throw new ApiError(400, 'invalid_request', `Not service accounts of this organization: ${refused.map((r) => `"${r.name}"`).join(', ')}. Name each by its email or the part before @; nothing was changed.`, { fields })
    }
    const exemptions = (body.exemptions ?? []).map((e) =>
      typeof e === 'string' ? { userId: ids.get(e)!, reason: NAMED_EXEMPTION_REASON, expiresAt: null, region: body.region } : { ...e, region: body.region },
    )
    return save(org, caller, { regions, exemptions, meta })
  },
})

export const putRegionEndpoint = defineEndpoint({
  method: 'PUT',
  path: '/api/organizations/:orgId/security/regions/:region',
  tag: 'security',
  summary: 'Replace one region’s whole MFA policy',
  description:
    'A change that lowers protection (a mode down, an allowed method added, a longer grace period, block → force_enrollment, more remember-device days) needs an owner or admin whose session passed a second factor within the last 5 minutes (403 step_up_required); API keys may only raise protection (403 person_required). The answer has the impact.',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['policy:write'] },
  // A lowering: a person's fresh second factor (decision 056).
  errors: ['step_up_required', 'person_required'],
  transaction: false,
  params: z.object({ region: z.string().regex(/^[a-z0-9-]{1,20}$/) }),
  body: z
    .object({
      mode: z.enum(POLICY_MODES),
      allowedMethods: z.array(z.enum(POLICY_METHODS)).max(3),
      gracePeriodDays: z.number().int('Whole days only.'),
      onDeadline: z.enum(DEADLINE_ACTIONS),
      rememberDeviceDays: z.number().int('Whole days only.'),
    })
    .strict(),
  response: changeResponse,
  async handler({ org, caller, body, params, meta }) {
    return save(org, caller, { regions: [{ region: params.region, proposed: validPolicy(body) }], exemptions: [], meta })
  },
})

export const listMembersEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/members',
  tag: 'organizations',
  summary: 'Members with their factors and status under this organization’s policy, filtered and paginated like the console',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['members:read'] },
  query: memberQuery.strict(),
  response: z.object({
    members: z.array(
      z.object({
        userId: z.string().uuid(),
        name: z.string(),
        email: z.string(),
        region: z.string(),
        role: orgRoleSchema,
        kind: z.enum(['human', 'service']),
        factors: z.array(z.string()),
        status: z.enum(STATUSES),
        deadline: dateTime.nullable(),
        lastSignInAt: dateTime.nullable(),
        joinedAt: dateTime,
      }),
    ),
    /** Deprecated with the `page` query parameter: page through with `next`/`prev` (`after`/`before`). */
    page: z.number().int(),
    pageSize: z.number().int(),
    /** Matching members, exact up to 10,000: past that it is 10000 with `totalExact` false ("10,000+"). */
    total: z.number().int(),
    totalExact: z.boolean(),
    /** Cursor for the next page (`?after=`), null on the last page. */
    next: z.string().nullable(),
    /** Cursor for the previous page (`?before=`), null on the first page. */
    prev: z.string().nullable(),
  }),
  async handler({ org, query }) {
    const { rows, total, totalExact, next, prev, query: q } = await listMembers(org.scope, query)
    return {
      members: rows.map((r) => ({ userId: r.userId, name: r.name, email: r.email, region: r.region, role: r.role, kind: r.kind, factors: r.factors, status: r.status, deadline: iso(r.deadline), lastSignInAt: iso(r.lastSignInAt), joinedAt: iso(r.joinedAt)! })),
      page: q.page,
      pageSize: q.pageSize,
      total,
      totalExact,
      next,
      prev,
    }
  },
})

export const listAuditEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/organizations/:orgId/audit',
  tag: 'organizations',
  summary: 'The organization’s audit log and its members’ security events, newest first, 50 a page',
  auth: 'session_or_key',
  org: { role: 'admin', scopes: ['audit:read'] },
  query: auditQuery.strict(),
  response: z.object({
    events: z.array(
      z.object({
        id: z.number().int(),
        createdAt: dateTime,
        action: z.string(),
        actor: z.string(),
        subjectEmail: z.string().nullable(),
        ip: z.string().nullable(),
        details: z.record(z.string(), z.unknown()),
        scope: z.string(),
      }),
    ),
    page: z.number().int(),
    pageSize: z.number().int(),
    total: z.number().int(),
  }),
  async handler({ org, query }) {
    const { events, total, pageSize } = await listOrgAudit(org.scope, query)
    return { events: events.map((e) => ({ ...e, createdAt: iso(e.createdAt)!, details: (e.details ?? {}) as Record<string, unknown> })), page: query.page, pageSize, total }
  },
})
