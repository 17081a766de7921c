/**
 * The form the verify page and the step-up page share: one intent per method, parsed with zod.
 * Lengths are capped so an oversized code is a 400, never work for the server.
 */
import { z } from 'zod'
import type { FactorInput } from './verifier.server.ts'

/** A WebAuthn response posted as JSON text (registration or authentication). */
export const webauthnResponse = z
  .string()
  .max(20_000, 'That security key response is too large')
  .transform((s, ctx) => {
    try {
      const parsed = JSON.parse(s)
      if (parsed && typeof parsed === 'object' && typeof parsed.id === 'string' && typeof parsed.response === 'object') return parsed
    } catch {}
    ctx.addIssue({ code: z.ZodIssueCode.custom, message: 'That security key response could not be read. Try again.' })
    return z.NEVER
  })

const code = (message: string, max: number) => z.string().trim().min(1, message).max(max, 'That code is too long')

export const factorFormSchema = z.discriminatedUnion('intent', [
  z.object({ intent: z.literal('totp'), code: code('Enter the 6-digit code from your app', 12), remember: z.literal('on').optional() }),
  z.object({ intent: z.literal('recovery_code'), code: code('Enter one of your recovery codes', 20), remember: z.literal('on').optional() }),
  z.object({ intent: z.literal('email'), code: code('Enter the 6-digit code from the email', 12), remember: z.literal('on').optional() }),
  z.object({ intent: z.literal('email_send') }),
  /** Landing on the email step ("Use email verification instead"): sends a code unless one just went out. */
  z.object({ intent: z.literal('email_step') }),
  z.object({ intent: z.literal('webauthn_options') }),
  z.object({ intent: z.literal('webauthn'), challengeId: z.string().uuid('This security key request has expired. Try again.'), response: webauthnResponse, remember: z.literal('on').optional() }),
])
export type FactorForm = z.infer<typeof factorFormSchema>

/** The sign-in's second step takes one more answer than step-up: a temporary access code (decision 070). */
export const signInFactorFormSchema = z.discriminatedUnion('intent', [
  ...factorFormSchema.options,
  z.object({ intent: z.literal('temporary_access'), code: code('Enter the temporary access code you were given', 40) }),
])
export type SignInFactorForm = z.infer<typeof signInFactorFormSchema>

export function toFactorInput(form: FactorForm): FactorInput | null {
  switch (form.intent) {
    case 'totp':
    case 'recovery_code':
    case 'email':
      return { method: form.intent, code: form.code }
    case 'webauthn':
      return { method: 'webauthn', challengeId: form.challengeId, response: form.response }
    default:
      return null
  }
}
