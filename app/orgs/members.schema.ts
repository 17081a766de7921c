/**
 * An organization's member enums (roles, statuses, the members table's sorts), their labels, and
 * the forms of the members page, written once for the console, the API and the domain
 * (decision 065). No `.server`: the page in the browser and the server query share it.
 */
import { z } from 'zod'
import { extensionInput } from '#app/policy/policy.schema.ts'

export const ORG_ROLES = ['owner', 'admin', 'member'] as const
export const orgRoleSchema = z.enum(ORG_ROLES)

/** The members table's sorts (no last sign-in: it is not in the read model, decision 076). */
export const SORTS = ['name', 'email', 'region', 'role', 'kind', 'status', 'joined'] as const
export const STATUSES = ['compliant', 'in_grace', 'overdue', 'exempt'] as const
export const STATUS_LABELS: Record<(typeof STATUSES)[number], string> = { compliant: 'Compliant', in_grace: 'In grace', overdue: 'Overdue', exempt: 'Exempt' }

const email = z.string().trim().toLowerCase().email('Enter a valid email address.').max(320)

export const inviteInput = z.object({
  email,
  name: z.string().trim().max(200).optional().default(''),
  region: z.string().trim().min(1, 'Choose a region.').max(20),
  role: z.enum(['member', 'admin', 'owner'], { error: 'Choose a role.' }),
})

export const serviceAccountInput = z.object({
  email,
  name: z.string().trim().min(1, 'Name the service account.').max(200),
  region: z.string().trim().min(1, 'Choose a region.').max(20),
})

/** The members page's forms, told apart by `intent`. */
export const membersForm = z.discriminatedUnion('intent', [
  inviteInput.extend({ intent: z.literal('invite') }),
  z.object({ intent: z.literal('role'), userId: z.string().uuid(), role: z.enum(['member', 'admin', 'owner']) }),
  z.object({ intent: z.literal('remove'), userId: z.string().uuid() }),
  extensionInput.extend({ intent: z.literal('extend') }),
  z.object({ intent: z.literal('cancel_invitation'), invitationId: z.string().uuid() }),
  // Its own field names, so that its errors show on its own form, not on the invitation's.
  z.object({ intent: z.literal('service_account'), saName: serviceAccountInput.shape.name, saEmail: serviceAccountInput.shape.email, saRegion: serviceAccountInput.shape.region }),
])
