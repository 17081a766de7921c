/**
 * The effective MFA policy of one member in their region, and what sign-in must do about it.
 * PURE: plain data in, a decision out, no I/O. Sign-in, the API, the members table and the
 * workers all decide through here (or through SQL that mirrors `orgStatus`, tested against it).
 *
 * Rules (DESIGN.md "Policy, in one paragraph" and "Details that are settled"):
 * - strictest mode wins (required > optional > disabled); allowed methods intersect;
 *   the earliest deadline and the shortest remember-device period apply;
 * - an exempt service account is not asked by the organization that exempted it;
 * - the deadline is computed: max(required_since, joined_at) + grace days, or the member's
 *   extension when that is later (an extension only ever lengthens: decision 025);
 * - email code is a factor every member has wherever it is allowed;
 * - a factor the policy does not allow does not satisfy it; recovery codes never count;
 * - platform staff always need an app or a key; no membership in the region means optional.
 * At the deadline, `block` beats `force_enrollment` (docs/decisions/021-block-beats-force-enrollment.md).
 */

export type Method = 'email' | 'totp' | 'webauthn'
export type Mode = 'disabled' | 'optional' | 'required'
export type DeadlineAction = 'force_enrollment' | 'block'
export type ComplianceStatus = 'compliant' | 'in_grace' | 'overdue' | 'exempt'

export const ALL_METHODS: readonly Method[] = ['email', 'totp', 'webauthn']
export const STRONG_METHODS: readonly Method[] = ['totp', 'webauthn']
export const DEFAULT_POLICY = { mode: 'optional' as Mode, allowedMethods: [...ALL_METHODS], gracePeriodDays: 7, onDeadline: 'force_enrollment' as DeadlineAction, rememberDeviceDays: 14 }
const DAY_MS = 86_400_000
const RANK: Record<Mode, number> = { disabled: 0, optional: 1, required: 2 }

/** One membership of the member in their region, with that organization's policy for the region. */
export type MembershipPolicy = {
  organizationId: string
  organizationName: string
  joinedAt: Date
  mode: Mode
  allowedMethods: readonly string[]
  gracePeriodDays: number
  onDeadline: DeadlineAction
  rememberDeviceDays: number
  requiredSince: Date | null
  /** Owners and admins of the organization, to tell a blocked member whom to contact. */
  contacts?: string[]
}

export type PolicyInput = {
  user: { kind: 'human' | 'service'; platformRole: 'none' | 'support' | 'superadmin' }
  memberships: MembershipPolicy[]
  /** Exemptions of this member in their region (lapsed ones are ignored here, by `expiresAt`). */
  exemptions: { organizationId: string; expiresAt: Date | null }[]
  extensions: { organizationId: string; deadline: Date }[]
  /** Enrolled factors: 'totp' (confirmed), 'webauthn'. Anything else (recovery codes, email) is ignored. */
  enrolled: readonly string[]
  now: Date
}

export type SignInStep =
  | { kind: 'none' }
  | { kind: 'second_factor'; methods: Method[] }
  | { kind: 'grace_prompt'; deadline: Date; organizations: string[]; methods: Method[] }
  | { kind: 'enroll_only'; allowedMethods: Method[]; proveEmailFirst: boolean }
  | { kind: 'blocked'; organizations: string[]; contacts: string[] }

export type PolicyDecision = {
  mode: Mode
  allowedMethods: Method[]
  rememberDeviceDays: number
  /** Earliest deadline among the organizations that require a factor the member lacks; null when none. */
  deadline: Date | null
  /** What happens at `deadline` (block beats force_enrollment among the organizations due then). */
  deadlineAction: DeadlineAction | null
  status: ComplianceStatus
  /** Does the member hold a factor that satisfies the effective policy? */
  hasAllowedFactor: boolean
  /** Organizations whose requirement the member does not meet yet. */
  pendingOrganizations: string[]
  signIn: SignInStep
}

const asMethods = (list: readonly string[]) => ALL_METHODS.filter((m) => list.includes(m))
const intersect = (a: readonly Method[], b: readonly string[]) => a.filter((m) => b.includes(m))

/**
 * Deadline of one membership under one organization's policy (null unless required): the computed
 * max(required_since, joined_at) + grace days, or the member's extension when that is LATER. An
 * extension never shortens a deadline, so a stale one (granted in an earlier Required period, or
 * before a longer grace period) cannot make a member overdue early. Mirrored in SQL by
 * `deadlineExpr` / `joinedDeadline` (member-status.server.ts): keep the two in step.
 */
export function membershipDeadline(p: Pick<MembershipPolicy, 'mode' | 'requiredSince' | 'joinedAt' | 'gracePeriodDays'>, extension?: Date | null): Date | null {
  if (p.mode !== 'required') return null
  const start = Math.max((p.requiredSince ?? p.joinedAt).getTime(), p.joinedAt.getTime())
  const computed = new Date(start + p.gracePeriodDays * DAY_MS)
  return extension && extension.getTime() > computed.getTime() ? extension : computed
}

/** Does an enrolled set satisfy an allowed set? Email counts wherever allowed (every member has it). */
export function satisfies(allowed: readonly string[], enrolled: readonly string[]): boolean {
  const methods = asMethods(allowed)
  if (methods.includes('email')) return true
  return methods.some((m) => m !== 'email' && enrolled.includes(m))
}

const isLive = (e: { expiresAt: Date | null }, now: Date) => e.expiresAt === null || e.expiresAt.getTime() > now.getTime()

export function effectivePolicy(input: PolicyInput): PolicyDecision {
  const { user, now } = input
  const enrolled = intersect(STRONG_METHODS, input.enrolled)
  const isStaff = user.platformRole !== 'none'
  const exemptOrgs = new Set(
    user.kind === 'service' ? input.exemptions.filter((e) => isLive(e, now)).map((e) => e.organizationId) : [],
  )
  const counted = input.memberships.filter((m) => !exemptOrgs.has(m.organizationId))
  const allExempt = input.memberships.length > 0 && counted.length === 0

  // Combine: strictest mode, intersected methods (over the organizations that ask anything).
  let mode: Mode = input.memberships.length === 0 ? DEFAULT_POLICY.mode : 'disabled'
  for (const m of counted) if (RANK[m.mode] > RANK[mode]) mode = m.mode
  const asking = counted.filter((m) => m.mode !== 'disabled')
  let allowed: Method[] = [...ALL_METHODS]
  for (const m of asking) allowed = intersect(allowed, m.allowedMethods)
  if (allowed.length === 0) {
    // Organizations that allow disjoint sets: nothing could satisfy all of them. Accept an app or a
    // key that any of them allows rather than lock the member out (decision 020).
    const union = new Set(asking.flatMap((m) => asMethods(m.allowedMethods)))
    allowed = STRONG_METHODS.filter((m) => union.has(m))
    if (allowed.length === 0) allowed = [...STRONG_METHODS]
  }
  const rememberDeviceDays = asking.length ? Math.min(...asking.map((m) => m.rememberDeviceDays)) : DEFAULT_POLICY.rememberDeviceDays
  if (input.memberships.length === 0) allowed = [...ALL_METHODS]

  if (isStaff) return staffDecision(allowed, enrolled, rememberDeviceDays)

  if (allExempt) {
    return { mode, allowedMethods: allowed, rememberDeviceDays, deadline: null, deadlineAction: null, status: 'exempt', hasAllowedFactor: satisfies(allowed, enrolled), pendingOrganizations: [], signIn: { kind: 'none' } }
  }

  const offered = (): Method[] => [...intersect(allowed, enrolled), ...(allowed.includes('email') ? (['email'] as Method[]) : [])]
  const hasAllowedFactor = satisfies(allowed, enrolled)
  const base = { mode, allowedMethods: allowed, rememberDeviceDays, hasAllowedFactor }

  if (mode === 'disabled') {
    return { ...base, deadline: null, deadlineAction: null, status: 'compliant', pendingOrganizations: [], signIn: { kind: 'none' } }
  }
  if (mode === 'optional') {
    // Asked only when the member enrolled an allowed app or key; email alone is not "having 2FA".
    const strong = intersect(allowed, enrolled)
    return { ...base, deadline: null, deadlineAction: null, status: 'compliant', pendingOrganizations: [], signIn: strong.length ? { kind: 'second_factor', methods: offered() } : { kind: 'none' } }
  }

  // Required by at least one organization.
  if (hasAllowedFactor) {
    return { ...base, deadline: null, deadlineAction: null, status: 'compliant', pendingOrganizations: [], signIn: { kind: 'second_factor', methods: offered() } }
  }
  const due = counted
    .filter((m) => m.mode === 'required')
    .map((m) => ({ m, deadline: membershipDeadline(m, input.extensions.find((e) => e.organizationId === m.organizationId)?.deadline)! }))
    .sort((a, b) => a.deadline.getTime() - b.deadline.getTime())
  const deadline = due[0].deadline
  const atEarliest = due.filter((d) => d.deadline.getTime() === deadline.getTime())
  const overdue = due.filter((d) => d.deadline.getTime() <= now.getTime())
  const pendingOrganizations = due.map((d) => d.m.organizationName)
  if (overdue.length === 0) {
    return {
      ...base, deadline, deadlineAction: atEarliest.some((d) => d.m.onDeadline === 'block') ? 'block' : 'force_enrollment',
      status: 'in_grace', pendingOrganizations,
      signIn: { kind: 'grace_prompt', deadline, organizations: pendingOrganizations, methods: offered() },
    }
  }
  const blocking = overdue.filter((d) => d.m.onDeadline === 'block')
  if (blocking.length) {
    return {
      ...base, deadline, deadlineAction: 'block', status: 'overdue', pendingOrganizations,
      signIn: { kind: 'blocked', organizations: blocking.map((d) => d.m.organizationName), contacts: [...new Set(blocking.flatMap((d) => d.m.contacts ?? []))] },
    }
  }
  return {
    ...base, deadline, deadlineAction: 'force_enrollment', status: 'overdue', pendingOrganizations,
    // Email is not allowed here (or the member would be compliant): prove the mailbox first.
    signIn: { kind: 'enroll_only', allowedMethods: allowed.filter((m) => m !== 'email'), proveEmailFirst: !allowed.includes('email') },
  }
}

function staffDecision(allowed: Method[], enrolled: Method[], rememberDeviceDays: number): PolicyDecision {
  // Staff: an app or a key, whatever any organization says; no grace period.
  const strongAllowed = intersect(STRONG_METHODS, allowed).length ? intersect(STRONG_METHODS, allowed) : [...STRONG_METHODS]
  const have = intersect(strongAllowed, enrolled)
  return {
    mode: 'required', allowedMethods: strongAllowed, rememberDeviceDays, deadline: null, deadlineAction: have.length ? null : 'force_enrollment',
    status: have.length ? 'compliant' : 'overdue', hasAllowedFactor: have.length > 0, pendingOrganizations: [],
    signIn: have.length ? { kind: 'second_factor', methods: have } : { kind: 'enroll_only', allowedMethods: strongAllowed, proveEmailFirst: true },
  }
}

/**
 * Status of one member under ONE organization's policy alone (the members table, the overview
 * chart and the sweep). Mirrored in SQL by app/policy/member-status.server.ts.
 */
export function orgStatus(input: {
  kind: 'human' | 'service'
  policy: Pick<MembershipPolicy, 'mode' | 'allowedMethods' | 'requiredSince' | 'joinedAt' | 'gracePeriodDays'>
  exemption?: { expiresAt: Date | null } | null
  extension?: Date | null
  enrolled: readonly string[]
  now: Date
}): { status: ComplianceStatus; deadline: Date | null } {
  if (input.kind === 'service' && input.exemption && isLive(input.exemption, input.now)) return { status: 'exempt', deadline: null }
  if (input.policy.mode !== 'required' || satisfies(input.policy.allowedMethods, input.enrolled)) return { status: 'compliant', deadline: null }
  const deadline = membershipDeadline(input.policy, input.extension)!
  return { status: deadline.getTime() > input.now.getTime() ? 'in_grace' : 'overdue', deadline }
}
