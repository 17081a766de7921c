/**
 * The person a reset or temporary-access-code page is about, found the one way for both kinds of
 * page (support's `/support/users/:id…`, an organization admin's `/orgs/:slug/members/:userId/…`):
 * an id that is not a UUID, someone else's organization's member or nobody at all is null, which
 * the route answers with a 404. The identity checklist goes with it, as both forms show it.
 */
import { isUuid } from '#app/auth/verification.server.ts'
import type { OrgScope } from '#app/orgs/scope.server.ts'
import { memberDetail } from './members.server.ts'
import { findResettableMember } from './org-admin-reset.server.ts'
import { IDENTITY_CHECKS, MIN_CHECKS } from './reset.server.ts'

/** The checklist a person resetting someone else (or issuing them a code) ticks. */
export const identityChecklist = () => ({ checks: IDENTITY_CHECKS.map((c) => ({ ...c })), minChecks: MIN_CHECKS })

/** Support's view of the account behind a route's `:id`, or null (404). */
export async function findSupportTarget(id: string | undefined) {
  if (!id || !isUuid(id)) return null
  return (await memberDetail(id)) ?? null
}

/**
 * The member of this organization behind a route's `:userId`, as an admin's reset and access-code
 * pages show them (whether this admin may act on them, and why not), or null (404).
 */
export async function findOrgTarget(scope: OrgScope, userId: string | undefined, actorId: string) {
  if (!userId || !isUuid(userId)) return null
  const found = await findResettableMember(scope, userId, actorId)
  if (!found) return null
  const { member } = found
  return { member: { id: member.id, email: member.email, name: member.name, role: member.role }, allowed: found.allowed, why: found.why, ...identityChecklist() }
}

/** Whether a route's `:userId` can name anyone at all (the action's first check; the domain scopes the rest). */
export const isTargetId = (id: string | undefined): id is string => Boolean(id && isUuid(id))
