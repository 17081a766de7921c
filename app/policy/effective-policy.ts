/**
 * The effective MFA policy of one member in their region, and what sign-in must do about it.
 * PURE: plain data in, a decision out, no I/O. Sign-in, the API, the members table and the
 * workers all decide through here (or through SQL that mirrors `orgStatus`, tested against it).
 *
 * A policy only ever ADDS protection (decision 054; the property test beside this file holds it):
 * - the strictest mode wins; Disabled asks nothing only when every organization is Disabled;
 * - the member's own enrolled app or key is asked wherever any organization is Optional or
 *   Required: no organization's allowed-methods list lowers that;
 * - compliance is judged per organization (under Required, a factor that organization allows); at
 *   sign-in the accepted methods are the member's enrolled factors that EVERY Required organization
 *   allows; when there is none the member is non-compliant, and the earliest deadline and the
 *   strictest expiry action apply (`block` beats `force_enrollment`, decision 021);
 * - the email code is offered only where every organization that asks for a second factor allows
 *   it, and never to platform staff, who always need an app or a key;
 * - an exempt service account is not asked by the organization that exempted it;
 * - the deadline is computed: max(required_since, joined_at) + grace days, or the member's
 *   extension when that is later (an extension only ever lengthens: decision 025);
 * - recovery codes never count; no membership in the region means optional with every method.
 */
import { POLICY_METHODS, type PolicyMethod } from '#app/mfa/methods.schema.ts'
import type { DeadlineAction, Mode } from './policy.schema.ts'

export type Method = PolicyMethod
export type { DeadlineAction, Mode }
export type ComplianceStatus = 'compliant' | 'in_grace' | 'overdue' | 'exempt'

export const ALL_METHODS: readonly Method[] = POLICY_METHODS
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
  /** In grace without an accepted factor: `methods` are the member's own factors, proven before the prompt. */
  | { kind: 'grace_prompt'; deadline: Date; organizations: string[]; methods: Method[] }
  /** Past the deadline: prove `prove` (the member's own factors, or the mailbox when they have none), then enroll only. */
  | { kind: 'enroll_only'; allowedMethods: Method[]; prove: Method[] }
  | { kind: 'blocked'; organizations: string[]; contacts: string[] }

export type PolicyDecision = {
  mode: Mode
  /**
   * What may be enrolled and counts toward the policy: the apps and keys every Required organization
   * allows (every asking organization when none requires), and email where every asking organization
   * allows it. When Required organizations allow disjoint sets, the union of their apps and keys is
   * offered for enrollment, but nothing makes the member compliant (decision 054).
   */
  allowedMethods: Method[]
  rememberDeviceDays: number
  /** Earliest deadline among the organizations whose requirement the member does not meet; null when none. */
  deadline: Date | null
  /** What happens at `deadline` (block beats force_enrollment among the organizations due then). */
  deadlineAction: DeadlineAction | null
  status: ComplianceStatus
  /** Does the member hold a factor that sign-in accepts under every organization (email included where offered)? */
  hasAllowedFactor: boolean
  /** Organizations whose requirement the member does not meet yet. */
  pendingOrganizations: string[]
  signIn: SignInStep
}

const asMethods = (list: readonly string[]) => ALL_METHODS.filter((m) => list.includes(m))
const intersect = (a: readonly Method[], b: readonly string[]) => a.filter((m) => b.includes(m))
const allowedByAll = (methods: readonly Method[], orgs: readonly Pick<MembershipPolicy, 'allowedMethods'>[]) =>
  methods.filter((m) => orgs.every((o) => o.allowedMethods.includes(m)))

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

/** No membership in the region: the default policy, as if one Optional organization allowed everything. */
const DEFAULT_MEMBERSHIP: MembershipPolicy = {
  organizationId: '', organizationName: '', joinedAt: new Date(0), requiredSince: null, ...DEFAULT_POLICY, mode: 'optional', allowedMethods: ALL_METHODS,
}

export function effectivePolicy(input: PolicyInput): PolicyDecision {
  const { user, now } = input
  const enrolled = intersect(STRONG_METHODS, input.enrolled)
  const isStaff = user.platformRole !== 'none'
  const exemptOrgs = new Set(
    user.kind === 'service' ? input.exemptions.filter((e) => isLive(e, now)).map((e) => e.organizationId) : [],
  )
  const counted = input.memberships.length ? input.memberships.filter((m) => !exemptOrgs.has(m.organizationId)) : [DEFAULT_MEMBERSHIP]
  const allExempt = counted.length === 0

  let mode: Mode = 'disabled'
  for (const m of counted) if (RANK[m.mode] > RANK[mode]) mode = m.mode
  const asking = counted.filter((m) => m.mode !== 'disabled')
  const requiring = counted.filter((m) => m.mode === 'required')
  // The shortest of every organization's (Disabled and exempting ones too), so that joining one never lengthens it.
  const rememberDeviceDays = Math.min(...(input.memberships.length ? input.memberships : [DEFAULT_MEMBERSHIP]).map((m) => m.rememberDeviceDays))

  // Apps and keys that every Required organization (else every asking one) allows.
  const pool = requiring.length ? requiring : asking
  const strongByAll = allowedByAll(STRONG_METHODS, pool)
  // The email code only where every organization that asks THIS member for a second factor allows it:
  // the Required ones, and the Optional ones once the member has an app or key (before that they ask nothing).
  const optionalAsking = enrolled.length ? asking.filter((m) => m.mode === 'optional') : []
  const emailAllowedBy = (orgs: MembershipPolicy[]) => !isStaff && [...orgs, ...optionalAsking].every((m) => m.allowedMethods.includes('email'))
  // What sign-in accepts under these Required organizations: the member's apps and keys that every one
  // of them allows (every enrolled one when none requires), and the email code where allowed.
  const acceptedUnder = (orgs: MembershipPolicy[]): Method[] => [...(orgs.length ? intersect(allowedByAll(STRONG_METHODS, orgs), enrolled) : enrolled), ...(emailAllowedBy(orgs) ? (['email'] as Method[]) : [])]
  // For enrollment only: where the organizations allow disjoint sets, any app or key one of them allows.
  const enrollable = strongByAll.length ? strongByAll : STRONG_METHODS.filter((m) => pool.some((o) => o.allowedMethods.includes(m)))
  const allowedMethods: Method[] = asMethods([...(emailAllowedBy(requiring) ? ['email'] : []), ...enrollable])

  if (isStaff) return staffDecision(enrolled, enrollable, requiring.length ? strongByAll : [...STRONG_METHODS], rememberDeviceDays)

  const accepted = acceptedUnder(requiring)
  const hasAllowedFactor = accepted.length > 0
  const base = { mode, allowedMethods, rememberDeviceDays, hasAllowedFactor }
  const compliant = { ...base, deadline: null, deadlineAction: null, pendingOrganizations: [] }

  if (allExempt) return { ...compliant, status: 'exempt', signIn: { kind: 'none' } }
  if (mode === 'disabled') return { ...compliant, status: 'compliant', signIn: { kind: 'none' } }
  if (mode === 'optional') {
    // Asked only when the member enrolled an app or a key; email alone is not "having 2FA".
    return { ...compliant, status: 'compliant', signIn: enrolled.length ? { kind: 'second_factor', methods: accepted } : { kind: 'none' } }
  }
  if (hasAllowedFactor) return { ...compliant, status: 'compliant', signIn: { kind: 'second_factor', methods: accepted } }

  // Non-compliant under Required. The deadlines that apply: those of the organizations the member
  // falls short of, each alone; and, when the ones met alone accept no common factor of the member,
  // theirs too. (Either set only grows when an organization is added: the property test holds this.)
  const met = requiring.filter((m) => satisfies(m.allowedMethods, enrolled))
  const short = requiring.filter((m) => !met.includes(m))
  const due = [...short, ...(acceptedUnder(met).length ? [] : met)]
    .map((m) => ({ m, deadline: membershipDeadline(m, input.extensions.find((e) => e.organizationId === m.organizationId)?.deadline)! }))
    .sort((a, b) => a.deadline.getTime() - b.deadline.getTime())
  const deadline = due[0].deadline
  const atEarliest = due.filter((d) => d.deadline.getTime() === deadline.getTime())
  const overdue = due.filter((d) => d.deadline.getTime() <= now.getTime())
  const pendingOrganizations = due.map((d) => d.m.organizationName)
  // In grace the member still proves what they have: their app or key, else the mailbox where a
  // Required organization accepts email (so joining an organization never turns an email code into
  // a password alone).
  const ownFactors: Method[] = enrolled.length ? enrolled : requiring.some((m) => m.allowedMethods.includes('email')) ? ['email'] : []
  if (overdue.length === 0) {
    return {
      ...base, deadline, deadlineAction: atEarliest.some((d) => d.m.onDeadline === 'block') ? 'block' : 'force_enrollment',
      status: 'in_grace', pendingOrganizations,
      signIn: { kind: 'grace_prompt', deadline, organizations: pendingOrganizations, methods: ownFactors },
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
    // The member's own app or key still guards the account; only a member with none proves the mailbox.
    signIn: { kind: 'enroll_only', allowedMethods: allowedMethods.filter((m) => m !== 'email'), prove: enrolled.length ? enrolled : ['email'] },
  }
}

/**
 * Staff: an app or a key, whatever any organization says; never an email code; no grace period.
 * `offered` is what they may enroll, `accepted` what counts at sign-in.
 */
function staffDecision(enrolled: Method[], offered: Method[], accepted: Method[], rememberDeviceDays: number): PolicyDecision {
  const allowedMethods = offered.length ? offered : [...STRONG_METHODS]
  const have = intersect(accepted, enrolled)
  return {
    mode: 'required', allowedMethods, rememberDeviceDays, deadline: null, deadlineAction: have.length ? null : 'force_enrollment',
    status: have.length ? 'compliant' : 'overdue', hasAllowedFactor: have.length > 0, pendingOrganizations: [],
    // Proving the mailbox before a first enrollment is not a sign-in; a staff member with an app or
    // key proves that instead.
    signIn: have.length ? { kind: 'second_factor', methods: have } : { kind: 'enroll_only', allowedMethods, prove: enrolled.length ? enrolled : ['email'] },
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
