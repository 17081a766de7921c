/** MFA test helpers: enrol factors through the real domain code, compute codes like an app would. */
import { eq } from 'drizzle-orm'
import { generate } from 'otplib'
import { NO_REQUEST } from '#app/audit/record.server.ts'
import { enrollTotp } from '#app/mfa/enrollment.server.ts'
import { beginTotpSetup } from '#app/mfa/totp.server.ts'
import { db, schema } from '#db/client.ts'

/** The code an authenticator app shows `steps` periods from now. */
export async function totpCode(secret: string, steps = 0): Promise<string> {
  return generate({ secret, epoch: Math.floor(Date.now() / 1000) + steps * 30 })
}

export async function userById(id: string) {
  const [user] = await db.select().from(schema.users).where(eq(schema.users.id, id))
  return user
}

/** Turns on an authenticator app for a member; returns its secret and the first recovery codes. */
export async function enableTotp(userId: string) {
  const setup = await beginTotpSetup(await userById(userId))
  if (!setup.ok) throw new Error('app already on')
  const result = await enrollTotp(await userById(userId), await totpCode(setup.secret), NO_REQUEST, null)
  if (!result.ok) throw new Error(result.message)
  await forgetTotpStep(userId)
  return { secret: setup.secret, recoveryCodes: result.recoveryCodes ?? [] }
}

/**
 * Moves time for the replay guard by changing data: forgets the last accepted time step, as if
 * 30 seconds had passed since (tests never override the clock).
 */
export async function forgetTotpStep(userId: string) {
  await db.update(schema.totpFactors).set({ lastUsedStep: null }).where(eq(schema.totpFactors.userId, userId))
}

export async function auditOf(subjectId: string) {
  return db.select({ action: schema.auditEvents.action, details: schema.auditEvents.details }).from(schema.auditEvents).where(eq(schema.auditEvents.subjectId, subjectId))
}

export async function outboundOf(userId: string) {
  return db.select().from(schema.outboundEmails).where(eq(schema.outboundEmails.userId, userId))
}
