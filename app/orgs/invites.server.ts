/**
 * Inviting members by email (region and role chosen). Only owners invite owners. Inviting an
 * existing account of that region adds a membership without touching its password. A new account
 * gets an invitation link (verification purpose 'invite', minted by the mail worker) that sets its
 * password and signs the member in through the same policy decision as the login form
 * (app/auth/web-sign-in.server.ts beginSignInAfterInvite), so enrollment comes first where required.
 */
import { and, eq, isNull } from 'drizzle-orm'
import { z } from 'zod'
import { recordAudit, type Actor, type RequestMeta } from '#app/audit/record.server.ts'
import { hashPassword, PASSWORD_MAX_LENGTH, PASSWORD_MIN_LENGTH } from '#app/auth/password.server.ts'
import { consumeVerification, createVerification, findByToken, revokeVerifications } from '#app/auth/verification.server.ts'
import { queueEmail, queueNotice } from '#app/mail/queue-email.server.ts'
import { db, schema } from '#db/client.ts'
import { roleAtLeast, type Organization, type OrgRole, type OrgScope } from './scope.server.ts'
import { MemberChangeError } from './members.server.ts'

export const INVITE_TTL_SECONDS = 7 * 86_400

export const inviteInput = z.object({
  email: z.string().trim().toLowerCase().email('Enter a valid email address.').max(320),
  name: z.string().trim().max(200).optional().default(''),
  region: z.string().trim().min(1, 'Choose a region.').max(20),
  role: z.enum(['member', 'admin', 'owner'], { errorMap: () => ({ message: 'Choose a role.' }) }),
})

export async function inviteMember(
  org: Pick<Organization, 'id' | 'name'>,
  scope: OrgScope,
  input: z.infer<typeof inviteInput>,
  inviter: { actor: Actor; role: OrgRole; name: string },
  meta?: RequestMeta,
): Promise<{ existing: boolean; userId: string }> {
  if (input.role === 'owner' && inviter.role !== 'owner') throw new MemberChangeError('Only owners can invite owners.', 403)
  if (!roleAtLeast(inviter.role, 'admin')) throw new MemberChangeError('Only owners and admins can invite.', 403)
  const [policy] = await db.select().from(schema.regionPolicies).where(scope.where(schema.regionPolicies.organizationId, eq(schema.regionPolicies.region, input.region)))
  if (!policy) throw new MemberChangeError(`This organization does not operate in ${input.region.toUpperCase()}.`)
  const u = schema.users
  const result = await db.transaction(async (tx) => {
    let [user] = await tx.select().from(u).where(and(eq(u.region, input.region), eq(u.email, input.email)))
    const existing = Boolean(user?.passwordHash)
    if (!user) {
      ;[user] = await tx.insert(u).values({ region: input.region, email: input.email, name: input.name || input.email.split('@')[0], passwordHash: null }).returning()
    }
    const [added] = await tx.insert(schema.memberships).values({ userId: user.id, organizationId: org.id, role: input.role }).onConflictDoNothing().returning()
    if (!added && existing) throw new MemberChangeError('That person is already a member.', 409)
    let verificationId: string | null = null
    if (!existing) {
      await revokeVerifications(user.id, 'invite', tx)
      const { verification } = await createVerification({ purpose: 'invite', userId: user.id, target: org.id, ttlSeconds: INVITE_TTL_SECONDS }, tx)
      verificationId = verification.id
    }
    await recordAudit({ action: 'org.member_invited', actor: inviter.actor, organizationId: org.id, subjectId: user.id, meta, details: { email: input.email, region: input.region, role: input.role, existingAccount: existing } }, tx)
    return { user, existing, verificationId }
  })
  const params = { organization: org.name, inviter: inviter.name, region: input.region }
  if (result.existing) await queueNotice({ to: result.user.email, userId: result.user.id, template: 'membership_added', params })
  else await queueEmail({ to: result.user.email, userId: result.user.id, template: 'invite', verificationId: result.verificationId, params })
  return { existing: result.existing, userId: result.user.id }
}

export const acceptInviteInput = z
  .object({
    password: z.string().min(PASSWORD_MIN_LENGTH, `Use at least ${PASSWORD_MIN_LENGTH} characters`).max(PASSWORD_MAX_LENGTH, 'That password is too long'),
    confirm: z.string(),
  })
  .refine((v) => v.password === v.confirm, { message: 'The two passwords differ', path: ['confirm'] })

/** The invited account and organization of a live invitation link, or undefined. */
export async function findInvite(token: string) {
  const verification = await findByToken('invite', token)
  if (!verification?.userId || !verification.target) return undefined
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, verification.userId))
  const [org] = await db.select().from(schema.organizations).where(eq(schema.organizations.id, verification.target))
  return user && org ? { verification, user, org } : undefined
}

/** Sets the invited account's password (only if it has none yet) and uses up the link. */
export async function acceptInvite(token: string, password: string): Promise<{ ok: true; userId: string; region: string; email: string } | { ok: false }> {
  const found = await findInvite(token)
  if (!found) return { ok: false }
  const passwordHash = await hashPassword(password)
  const ok = await db.transaction(async (tx) => {
    if (!(await consumeVerification(found.verification.id, tx))) return false
    const [set] = await tx.update(schema.users).set({ passwordHash }).where(and(eq(schema.users.id, found.user.id), isNull(schema.users.passwordHash))).returning({ id: schema.users.id })
    return Boolean(set)
  })
  return ok ? { ok: true, userId: found.user.id, region: found.user.region, email: found.user.email } : { ok: false }
}
