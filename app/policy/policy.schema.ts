/**
 * A region policy's enums, their labels, and the forms that change policy (region policy,
 * exemptions, deadline extensions), written once for the console, the API and the domain
 * (decision 065). No `.server`: route modules declare their form schemas from here at the top,
 * and the browser bundle can load it.
 */
import { z } from 'zod'
import { POLICY_METHODS, policyMethodSchema } from '#app/mfa/methods.schema.ts'

export const POLICY_MODES = ['disabled', 'optional', 'required'] as const
export type Mode = (typeof POLICY_MODES)[number]
export const MODE_LABELS: Record<Mode, string> = { disabled: 'Disabled', optional: 'Optional', required: 'Required' }

export const DEADLINE_ACTIONS = ['force_enrollment', 'block'] as const
export type DeadlineAction = (typeof DEADLINE_ACTIONS)[number]
export const DEADLINE_LABELS: Record<DeadlineAction, string> = { force_enrollment: 'Force enrollment at next sign-in', block: 'Block sign-in' }

export const policyModeSchema = z.enum(POLICY_MODES)
export const deadlineActionSchema = z.enum(DEADLINE_ACTIONS)

/** The editable fields of one region's policy. Bad input gets field errors (a 400), never a 500. */
export const regionPolicyInput = z.object({
  mode: z.enum(POLICY_MODES, { error: 'Choose Disabled, Optional or Required.' }),
  allowedMethods: z
    .union([z.string(), z.array(z.string())])
    .optional()
    .transform((v) => (v === undefined ? [] : [v].flat()))
    .pipe(z.array(z.enum(POLICY_METHODS, { error: 'Unknown method.' })).min(1, 'Allow at least one method.'))
    .transform((list) => POLICY_METHODS.filter((m) => list.includes(m))),
  gracePeriodDays: z.coerce.number({ error: 'Enter a number of days.' }).int('Whole days only.').min(0, 'Between 0 and 90 days.').max(90, 'Between 0 and 90 days.'),
  onDeadline: z.enum(DEADLINE_ACTIONS, { error: 'Choose what happens at the deadline.' }),
  rememberDeviceDays: z.coerce.number({ error: 'Enter a number of days.' }).int('Whole days only.').min(0, 'Between 0 and 30 days.').max(30, 'Between 0 and 30 days.'),
})
export type RegionPolicyInput = z.infer<typeof regionPolicyInput>

/** The policy page's form: one region's fields, and which button was pressed. */
export const policyForm = regionPolicyInput.extend({
  region: z.string().min(1).max(20),
  intent: z.enum(['preview', 'edit', 'save']),
  reviewToken: z.string().max(200).optional(),
})

/** A policy as the API shows and takes it: the stored values, not the form's strings. */
export const policyValues = z.object({
  mode: policyModeSchema,
  allowedMethods: z.array(policyMethodSchema),
  gracePeriodDays: z.number().int(),
  onDeadline: deadlineActionSchema,
  rememberDeviceDays: z.number().int(),
})

/** "2026-12-31" (to the end of that day, UTC) or a date-time; empty means none. */
const futureDate = z
  .string()
  .trim()
  .optional()
  .transform((v, ctx) => {
    if (!v) return null
    const d = new Date(v.length === 10 ? `${v}T23:59:59Z` : v)
    if (Number.isNaN(d.getTime())) {
      ctx.addIssue({ code: 'custom', message: 'Enter a date like 2026-12-31.' })
      return z.NEVER
    }
    return d
  })

export const exemptionInput = z.object({
  email: z.string().trim().toLowerCase().min(3, 'Enter the service account email.').max(320),
  region: z.string().trim().min(1, 'Choose a region.').max(20),
  reason: z.string().trim().min(3, 'Give a reason (at least 3 characters).').max(500),
  expiresAt: futureDate,
})

export const extensionInput = z.object({
  userId: z.string().uuid('Choose a member.'),
  deadline: futureDate.refine((d) => d !== null, 'Enter the new deadline.'),
  reason: z.string().trim().min(3, 'Give a reason (at least 3 characters).').max(500),
})

/** The exemptions page's forms, told apart by `intent`. */
export const exemptionsForm = z.discriminatedUnion('intent', [
  exemptionInput.extend({ intent: z.literal('add') }),
  z.object({ intent: z.literal('remove'), id: z.string().uuid() }),
])
