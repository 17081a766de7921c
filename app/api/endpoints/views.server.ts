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
