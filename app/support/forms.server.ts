/** Zod schemas for the reset and unlock forms (support console and members area). */
import { z } from 'zod'
import { REASON_MAX, TICKET_MAX } from './reset.server.ts'

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

/** The support member page's forms, told apart by `intent`. */
export const supportMemberForm = z.discriminatedUnion('intent', [resetForm, unlockForm])
