/** The shapes the API shows of shared records, with their schemas (one place, reused). */
import { z } from 'zod'
import type { User } from '#app/auth/session.server.ts'

export const userSchema = z.object({
  id: z.string().uuid(),
  email: z.string(),
  name: z.string(),
  region: z.string(),
  kind: z.enum(['human', 'service']),
})

export const userView = (u: User) => ({ id: u.id, email: u.email, name: u.name, region: u.region, kind: u.kind })

export const organizationSchema = z.object({ id: z.string().uuid(), slug: z.string(), name: z.string() })
export const dateTime = z.string().datetime({ offset: true })

/** A session token just issued, as sign-in and the second step answer it; `graceWhen` says when `grace` is present. */
export const signedInSchema = (graceWhen = '') =>
  z.object({
    token: z.string().describe('API session token: send it as Authorization: Bearer <token>'),
    user: userSchema,
    enrollmentOnly: z.boolean().describe('true when the token may only set up a second factor'),
    grace: z
      .object({ deadline: dateTime, organizations: z.array(z.string()), allowedMethods: z.array(z.string()), daysLeft: z.number().int() })
      .optional()
      .describe(`Present${graceWhen ? ` ${graceWhen}` : ''} while an organization requires a second factor the member has not set up yet: the deadline to do it`),
  })
