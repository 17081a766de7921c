/**
 * Invitations (decision 055): joining an organization needs the account's consent. An invite
 * writes a pending `invitations` row and queues one email, whether or not the address already has
 * an account in that region, and the inviting organization's answer, pages and audit event are
 * the same either way. No membership exists until the holder accepts:
 * - an existing account accepts (or declines) on its own security page or over the API, signed in
 *   with its second factor when it has an app or key; the email it gets carries no token;
 * - a new address gets a link (verification purpose 'invite', target = the invitation, minted by
 *   the mail worker) that creates the account with the chosen password: setting it is the consent.
 *   The link never sets a password on an account that exists, service accounts included.
 * Service accounts are never invited: their organization creates them (createServiceAccount).
 */
import { and, asc, eq, gt, isNull, lte, sql } from 'drizzle-orm'
import { z } from 'zod'
import { recordAudit, refuseChange, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { hashPassword } from '#app/auth/password.server.ts'
import { newPassword } from '#app/auth/password.schema.ts'
import { consumeVerification, createVerification, findByToken } from '#app/auth/verification.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { config, findRegion } from '#app/config/env.server.ts'
import { DomainError } from '#app/errors.ts'
import { enqueueEmails, writeEmail } from '#app/mail/queue-email.server.ts'
import { hasAppOrKey, listFactors } from '#app/mfa/factors.server.ts'
import { sessionPassedSecondFactor } from '#app/auth/session.server.ts'
import { db, schema, type Tx } from '#db/client.ts'
import { ACCOUNT_EXISTS, describePolicy, type PolicyWords } from './invitation-words.ts'
import { inviteInput, serviceAccountInput } from './members.schema.ts'
import { roleAtLeast, type Organization, type OrgRole, type OrgScope } from './scope.server.ts'

export const INVITE_TTL_SECONDS = 7 * 86_400

const i = schema.invitations
const u = schema.users
const m = schema.memberships

export { inviteInput, serviceAccountInput }

/** Runs `fn` in the caller's transaction, or in a new one when given the database itself. */
function inTransaction<T>(tx: Tx, fn: (tx: Tx) => Promise<T>): Promise<T> {
  return tx === db ? db.transaction((t) => fn(t)) : fn(tx)
}

async function requireRegion(scope: OrgScope, region: string, tx: Tx) {
  const [policy] = await tx.select().from(schema.regionPolicies).where(scope.where(schema.regionPolicies.organizationId, eq(schema.regionPolicies.region, region)))
  if (!policy) throw new DomainError('invalid_request', `This organization does not operate in ${region.toUpperCase()}.`, 'region')
  return policy
}

/** Pending invitations past their date are closed as expired, so the address can be invited again. */
const expireStale = (tx: Tx, where: ReturnType<typeof and>) =>
  tx.update(i).set({ state: 'expired', closedAt: sql`now()` }).where(and(eq(i.state, 'pending'), lte(i.expiresAt, sql`now()`), where))

/**
 * Invites an address. Admins invite members; only owners invite admins and owners. The same
 * rows are written and one email is queued whether or not the address has an account: the
 * answer is `{ invitationId }` either way.
 */
export async function inviteMember(
  org: Pick<Organization, 'id' | 'name'>,
  scope: OrgScope,
  input: z.infer<typeof inviteInput>,
  inviter: { actor: Actor; role: OrgRole; name: string },
  meta?: RequestMeta,
): Promise<{ invitationId: string }> {
  const refused = (message: string) =>
    refuseChange(new DomainError('forbidden', message, 'role'), { actor: inviter.actor, attempt: 'org.invite', organizationId: org.id, meta, details: { email: input.email, role: input.role } })
  if (!roleAtLeast(inviter.role, 'admin')) await refused('Only owners and admins can invite.')
  if (input.role !== 'member' && inviter.role !== 'owner') await refused('Only owners can invite admins and owners.')
  const result = await db.transaction(async (tx) => {
    await requireRegion(scope, input.region, tx)
    const [user] = await tx.select({ id: u.id }).from(u).where(and(eq(u.region, input.region), eq(u.email, input.email)))
    if (user) {
      const [member] = await tx.select({ id: m.id }).from(m).where(scope.where(m.organizationId, eq(m.userId, user.id)))
      if (member) throw new DomainError('conflict', 'That person is already a member of this organization.', 'email')
    }
    await expireStale(tx, scope.where(i.organizationId, eq(i.region, input.region), eq(i.email, input.email)))
    const [invitation] = await tx
      .insert(i)
      .values({ organizationId: org.id, region: input.region, email: input.email, name: input.name, invitedUserId: user?.id ?? null, role: input.role, invitedBy: inviter.actor.id, expiresAt: new Date(Date.now() + INVITE_TTL_SECONDS * 1000) })
      .onConflictDoNothing()
      .returning()
    if (!invitation) throw new DomainError('invitation_pending', 'This address already has a pending invitation. Cancel it first to invite it again.', 'email')
    // A link only where no account exists: for an account, accepting happens signed in.
    const verification = user ? null : (await createVerification({ purpose: 'invite', target: invitation.id, ttlSeconds: INVITE_TTL_SECONDS }, tx)).verification
    // The organization's event says nothing about whether the address has an account (decision 055).
    await recordAudit({ action: 'org.member_invited', actor: inviter.actor, organizationId: org.id, meta, details: { invitationId: invitation.id, email: input.email, region: input.region, role: input.role } }, tx)
    const origin = (findRegion(input.region) ?? config.regions[0])?.origin ?? config.appOrigin
    const emailId = await writeEmail(
      {
        to: input.email,
        userId: user?.id ?? null,
        template: user ? 'invitation' : 'invite',
        verificationId: verification?.id ?? null,
        params: { organization: org.name, inviter: inviter.name, region: input.region, role: input.role, signInUrl: `${origin}/settings/security` },
      },
      tx,
    )
    return { invitationId: invitation.id, emailId }
  })
  await enqueueEmails([result.emailId])
  return { invitationId: result.invitationId }
}

/** The organization's open invitations (never whether an address has an account). */
export async function listOrgInvitations(scope: OrgScope, tx: Tx = db) {
  return tx
    .select({ id: i.id, email: i.email, region: i.region, role: i.role, createdAt: i.createdAt, expiresAt: i.expiresAt })
    .from(i)
    .where(scope.where(i.organizationId, eq(i.state, 'pending'), gt(i.expiresAt, sql`now()`)))
    .orderBy(asc(i.createdAt))
}

/** Cancels one of THIS organization's open invitations; no account, membership or other organization's invitation is touched. */
export async function cancelInvitation(scope: OrgScope, invitationId: string, actor: Actor, meta?: RequestMeta, outer: Tx = db) {
  return inTransaction(outer, async (tx) => {
    const [row] = await tx
      .update(i)
      .set({ state: 'cancelled', closedAt: sql`now()`, closedBy: actor.id })
      .where(scope.where(i.organizationId, eq(i.id, invitationId), eq(i.state, 'pending')))
      .returning()
    if (!row) throw new DomainError('not_found', 'There is no pending invitation with that id in this organization.')
    await recordAudit({ action: 'org.invitation_cancelled', actor, organizationId: scope.orgId, meta, details: { invitationId: row.id, email: row.email, region: row.region, role: row.role } }, tx)
    return row
  })
}

/** The signed-in account's open invitations, with each organization's policy in the account's region. */
export async function listMyInvitations(user: Pick<User, 'region' | 'email'>, tx: Tx = db) {
  const p = schema.regionPolicies
  const o = schema.organizations
  const rows = await tx
    .select({ id: i.id, role: i.role, region: i.region, createdAt: i.createdAt, expiresAt: i.expiresAt, organization: { id: o.id, slug: o.slug, name: o.name }, inviter: u.name, policy: { mode: p.mode, allowedMethods: p.allowedMethods, gracePeriodDays: p.gracePeriodDays } })
    .from(i)
    .innerJoin(o, eq(o.id, i.organizationId))
    .leftJoin(u, eq(u.id, i.invitedBy))
    .leftJoin(p, and(eq(p.organizationId, i.organizationId), eq(p.region, i.region)))
    .where(and(eq(i.region, user.region), eq(i.email, user.email), eq(i.state, 'pending'), gt(i.expiresAt, sql`now()`)))
    .orderBy(asc(i.createdAt))
  return rows.map((r) => ({ ...r, policyText: describePolicy(r.organization.name, r.policy?.mode ? (r.policy as PolicyWords) : null) }))
}

/**
 * Accepting or declining, by the signed-in holder of the address. An account with an app or key
 * answers only from a session that passed its second factor (a password-only session does not).
 * Single use: one conditional UPDATE ... RETURNING closes the invitation, so two racing answers
 * cannot both win.
 */
export async function answerInvitation(
  input: { user: User; session: Pick<Session, 'level' | 'secondFactorAt'>; invitationId: string; answer: 'accept' | 'decline'; meta?: RequestMeta },
  outer: Tx = db,
) {
  const { user } = input
  if (user.kind !== 'human') throw new DomainError('forbidden', 'Service accounts do not join organizations by invitation.')
  // The same test as for owners' and admins' changes (decision 056): one definition of "passed a second factor".
  if (hasAppOrKey(await listFactors(user.id, outer)) && !sessionPassedSecondFactor(input.session)) {
    throw new DomainError('step_up_required', 'Confirm it is you with your authenticator app or security key, then answer the invitation again.')
  }
  return inTransaction(outer, async (tx) => {
    const [row] = await tx
      .update(i)
      .set({ state: input.answer === 'accept' ? 'accepted' : 'declined', closedAt: sql`now()`, closedBy: user.id, invitedUserId: user.id })
      .where(and(eq(i.id, input.invitationId), eq(i.region, user.region), eq(i.email, user.email), eq(i.state, 'pending'), gt(i.expiresAt, sql`now()`)))
      .returning()
    if (!row) throw new DomainError('not_found', 'This invitation is no longer open: it was answered, cancelled or has expired.')
    // joined_at = now: a Required organization's grace period starts when the account joins.
    if (input.answer === 'accept') await tx.insert(m).values({ userId: user.id, organizationId: row.organizationId, role: row.role, joinedAt: new Date() }).onConflictDoNothing()
    await recordAudit(
      {
        action: input.answer === 'accept' ? 'org.invitation_accepted' : 'org.invitation_declined',
        actor: { id: user.id, label: user.email },
        organizationId: row.organizationId,
        subjectId: user.id,
        meta: input.meta,
        details: { invitationId: row.id, email: row.email, region: row.region, role: row.role },
      },
      tx,
    )
    return row
  })
}

export const acceptInviteInput = z
  .object({
    password: newPassword,
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, { message: 'The two passwords differ', path: ['confirm'] })

async function openInvitation(id: string, tx: Tx = db) {
  const [row] = await tx
    .select({ invitation: i, org: schema.organizations })
    .from(i)
    .innerJoin(schema.organizations, eq(schema.organizations.id, i.organizationId))
    .where(and(eq(i.id, id), eq(i.state, 'pending'), gt(i.expiresAt, sql`now()`)))
  return row
}

/**
 * The open invitation behind a link, or undefined. `accountExists` when the address has an account
 * by now (another organization's link was accepted first): then the link cannot create one, and
 * the invitation is answered signed in instead.
 */
export async function findInvite(token: string) {
  const verification = await findByToken('invite', token)
  if (!verification?.target) return undefined
  const found = await openInvitation(verification.target)
  if (!found) return undefined
  const [account] = await db.select({ id: u.id }).from(u).where(and(eq(u.region, found.invitation.region), eq(u.email, found.invitation.email)))
  return { verification, invitation: found.invitation, org: found.org, accountExists: Boolean(account) }
}

const LINK_USED = 'This invitation has expired or was already used. Ask your administrator for a new one.'

/**
 * Accepts through the link: creates the account with its password, the membership and closes the
 * invitation, in one transaction. Never touches an existing account: an address that has one by
 * now is refused (invalid_request), as is a link used, cancelled or expired (link_expired).
 */
export async function acceptInviteLink(token: string, password: string, meta?: RequestMeta): Promise<{ userId: string }> {
  const found = await findInvite(token)
  if (!found) throw new DomainError('link_expired', LINK_USED)
  if (found.accountExists) throw new DomainError('invalid_request', ACCOUNT_EXISTS)
  const passwordHash = await hashPassword(password)
  const inv = found.invitation
  return db.transaction(async (tx) => {
    const [user] = await tx
      .insert(u)
      .values({ region: inv.region, email: inv.email, name: inv.name || inv.email.split('@')[0], passwordHash, kind: 'human' })
      .onConflictDoNothing()
      .returning()
    if (!user) throw new DomainError('invalid_request', ACCOUNT_EXISTS)
    const [row] = await tx
      .update(i)
      .set({ state: 'accepted', closedAt: sql`now()`, closedBy: user.id, invitedUserId: user.id })
      .where(and(eq(i.id, inv.id), eq(i.state, 'pending'), gt(i.expiresAt, sql`now()`), isNull(i.invitedUserId)))
      .returning()
    // Answered, cancelled or used meanwhile: the throw undoes the account created above.
    if (!row || !(await consumeVerification(found.verification.id, tx))) throw new DomainError('link_expired', LINK_USED)
    await tx.insert(m).values({ userId: user.id, organizationId: inv.organizationId, role: inv.role, joinedAt: new Date() })
    await recordAudit({ action: 'org.invitation_accepted', actor: { id: user.id, label: user.email }, organizationId: inv.organizationId, subjectId: user.id, meta, details: { invitationId: inv.id, email: inv.email, region: inv.region, role: inv.role } }, tx)
    return { userId: user.id }
  })
}


/**
 * The organization creates its own service account (never by invitation): no password, a member
 * here at once. An address already used by an account of that region is refused (409) and nothing
 * is created: an existing account is never pulled in this way.
 */
export async function createServiceAccount(
  scope: OrgScope,
  input: z.infer<typeof serviceAccountInput>,
  actor: Actor,
  meta?: RequestMeta,
  outer: Tx = db,
) {
  await requireRegion(scope, input.region, outer)
  const taken = () =>
    refuseChange(new DomainError('conflict', `An account with this address already exists in ${input.region.toUpperCase()}. Use another address for the service account.`, 'email'), {
      actor, attempt: 'org.service_account_create', organizationId: scope.orgId, meta, details: { email: input.email, region: input.region },
    })
  const [existing] = await outer.select({ id: u.id }).from(u).where(and(eq(u.region, input.region), eq(u.email, input.email)))
  if (existing) await taken()
  const created = await inTransaction(outer, async (tx) => {
    const [user] = await tx.insert(u).values({ region: input.region, email: input.email, name: input.name, passwordHash: null, kind: 'service' }).onConflictDoNothing().returning()
    if (!user) return null
    await tx.insert(m).values({ userId: user.id, organizationId: scope.orgId, role: 'member' })
    await recordAudit({ action: 'org.service_account_created', actor, organizationId: scope.orgId, subjectId: user.id, meta, details: { email: user.email, name: user.name, region: user.region } }, tx)
    return user
  })
  return created ?? (await taken())
}
