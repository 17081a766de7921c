/** Zod schemas for the reset and unlock forms (support console and members area). */
import { z } from 'zod'
import { REASON_MAX, TICKET_MAX } from './reset.server.ts'
import { ACCESS_CODE_DEFAULT_HOURS, ACCESS_CODE_MAX_HOURS, ACCESS_CODE_MIN_HOURS } from './temporary-access.server.ts'

const list = z.preprocess((v) => (v === undefined ? [] : [v].flat()), z.array(z.string().max(40)).max(20))

export const resetForm = z.object({
  intent: z.literal('reset'),
  reason: z.string().max(REASON_MAX * 2).default(''),
  ticket: z.string().max(TICKET_MAX * 2).default(''),
  checks: list,
  confirm: z.literal('yes', { error: 'Tick the box to confirm the reset' }),
})

export const unlockForm = z.object({
  intent: z.literal('unlock'),
  reason: z.string().max(500).default(''),
})

const HOURS = `Choose a validity of ${ACCESS_CODE_MIN_HOURS} to ${ACCESS_CODE_MAX_HOURS} whole hours`
const validHours = z.coerce.number({ error: HOURS }).int(HOURS).min(ACCESS_CODE_MIN_HOURS, HOURS).max(ACCESS_CODE_MAX_HOURS, HOURS).default(ACCESS_CODE_DEFAULT_HOURS)

/** Issue a temporary access code (decision 070): the same reason, ticket and checks as a reset, and how long it works. */
export const accessCodeForm = z.object({
  intent: z.literal('access_code'),
  reason: z.string().max(REASON_MAX * 2).default(''),
  ticket: z.string().max(TICKET_MAX * 2).default(''),
  checks: list,
  validHours,
})

/** Issue the code of an approved request (the person who asked). */
export const approvedAccessCodeForm = z.object({ intent: z.literal('access_code_approved'), requestId: z.string().uuid('Unknown request'), validHours })

export const revokeAccessCodeForm = z.object({ intent: z.literal('revoke_access_code') })

/** The support member page's forms, told apart by `intent`. */
export const supportMemberForm = z.discriminatedUnion('intent', [resetForm, unlockForm])

/** The support page for one member's temporary access code. */
export const supportAccessCodeForm = z.discriminatedUnion('intent', [accessCodeForm, approvedAccessCodeForm, revokeAccessCodeForm])

/** The organization's page for one member's temporary access code. */
export const orgAccessCodeForm = z.discriminatedUnion('intent', [accessCodeForm, revokeAccessCodeForm])
