/**
 * Telling support that something waits for them: a reset that needs a second person, an account a
 * member froze from a notice. One email per support or superadmin account (never the person who
 * caused it), written in the caller's transaction and queued after the commit, like every notice.
 * The email names the member and links to the console; it carries no secret.
 */
import { and, eq, inArray, ne } from 'drizzle-orm'
import { findRegion, config } from '#app/config/env.server.ts'
import { enqueueNotice, writeEmail } from '#app/mail/queue-email.server.ts'
import type { TemplateName } from '#app/mail/templates.server.ts'
import { db, schema, type Tx } from '#db/client.ts'

const u = schema.users

/** Writes one email per staff account except `except`; returns the email ids to queue after the commit. */
export async function writeStaffNotices(input: { template: TemplateName; path: string; params: Record<string, unknown>; except?: string | null }, tx: Tx = db): Promise<string[]> {
  const staff = await tx
    .select({ id: u.id, email: u.email, region: u.region })
    .from(u)
    .where(and(inArray(u.platformRole, ['support', 'superadmin']), eq(u.kind, 'human'), input.except ? ne(u.id, input.except) : undefined))
  const ids: string[] = []
  for (const person of staff) {
    const origin = findRegion(person.region)?.origin ?? config.appOrigin
    ids.push(await writeEmail({ to: person.email, userId: person.id, template: input.template, params: { ...input.params, url: `${origin}${input.path}`, region: person.region } }, tx))
  }
  return ids
}

export async function enqueueStaffNotices(ids: string[]): Promise<void> {
  for (const id of ids) await enqueueNotice(id)
}
