/**
 * Temporary access codes (decision 070) as a fast-check property through the real database: random
 * sequences of issuing (by support, or by either organization's admin, for either member), revoking,
 * time passing (expiry dates moved back by whole hours, never a clock override), using a code (any
 * code ever issued, by either member) and wrong codes, each at the member's pending sign-in. After
 * every step, against a model:
 * - a code signs in at most once, only its own member, never after it was revoked, replaced or expired;
 * - an admin issues only for a member of their own organization (another's gets not_found, nothing written);
 * - the pending sign-in's 5 tries hold: after the fifth wrong answer even the right code does nothing
 *   (and stays unspent), and the challenge is gone;
 * - the database agrees: one live code per member at most, the used codes and only they spent by a
 *   sign-in, one `auth.temporary_access_used` and one enrollment-only session per successful use.
 */
import { and, count, eq, inArray, isNull, sql } from 'drizzle-orm'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createVerification } from '#app/auth/verification.server.ts'
import { isDomainError } from '#app/errors.ts'
import { orgScope } from '#app/orgs/scope.server.ts'
import { CHALLENGE_MAX_ATTEMPTS, CHALLENGE_TTL_SECONDS, loadChallenge, verifyAccessCodeAtSignIn, type PendingSignIn } from '#app/sign-in/flow.server.ts'
import { orgAdminIssueAccessCode, supportIssueAccessCode, supportRevokeAccessCode } from '#app/support/temporary-access.server.ts'
import { db, schema } from '#db/client.ts'
import { createOrg, createUser } from '#tests/factories/users.ts'

const META = { ip: '127.0.0.1', userAgent: 'property' }
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ'
const v = schema.verifications

const orgs = await Promise.all([createOrg({ slug: 'tac-a' }), createOrg({ slug: 'tac-b' })])
const support = await createUser({ email: 'tac-support@example.test', platformRole: 'support' })
const admins = await Promise.all(orgs.map((org, i) => createUser({ email: `tac-admin-${i}@example.test`, org, role: 'admin' })))

type Issuer = 'support' | 0 | 1
type Op =
  | { kind: 'issue'; by: Issuer; member: 0 | 1; hours: number }
  | { kind: 'revoke'; member: 0 | 1 }
  | { kind: 'advance'; hours: number }
  | { kind: 'use'; member: 0 | 1; pick: number }
  | { kind: 'wrong'; member: 0 | 1; code: string; times: number }

const member = fc.constantFrom<0 | 1>(0, 1)
const op: fc.Arbitrary<Op> = fc.oneof(
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('issue' as const), by: fc.constantFrom<Issuer>('support', 0, 1), member, hours: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('revoke' as const), member }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('advance' as const), hours: fc.integer({ min: 1, max: 24 }) }) },
  { weight: 6, arbitrary: fc.record({ kind: fc.constant('use' as const), member, pick: fc.nat() }) },
  {
    weight: 2,
    arbitrary: fc.record({
      kind: fc.constant('wrong' as const),
      member,
      code: fc.array(fc.constantFrom(...ALPHABET), { minLength: 16, maxLength: 16 }).map((c) => c.join('')),
      // A burst of wrong answers, so that runs reach the 5 tries often.
      times: fc.integer({ min: 1, max: 6 }),
    }),
  },
)

type ModelCode = { id: string; owner: 0 | 1; code: string; status: 'live' | 'used' | 'revoked' | 'expired'; hoursLeft: number }
type ModelPending = { pending: PendingSignIn; token: string; wrong: number }

/** A pending sign-in as the password step leaves one (the 'login' verification the flow creates). */
async function startPending(userId: string): Promise<ModelPending> {
  const decision = { kind: 'second_factor', methods: ['totp'], preferred: 'totp', reason: 'factor', enrollAfter: false, graceAfter: false, rememberDays: 0 }
  const { token } = await createVerification({ purpose: 'login', userId, payload: { decision, redirectTo: '/', channel: 'web' }, ttlSeconds: CHALLENGE_TTL_SECONDS, maxAttempts: CHALLENGE_MAX_ATTEMPTS, withToken: true })
  const pending = await loadChallenge(token!, 'web')
  expect(pending).not.toBeNull()
  return { pending: pending!, token: token!, wrong: 0 }
}

async function countOf(table: typeof schema.sessions | typeof schema.auditEvents, where: ReturnType<typeof and>) {
  return (await db.select({ n: count() }).from(table).where(where))[0].n
}

describe('temporary access codes: a property over random sequences', () => {
  it('a code signs in at most once, only its member, never after revoke, replacement or expiry; issuers stay in their organization; the 5 tries hold', async () => {
    let run = 0
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 6, maxLength: 30, size: 'max' }), async (ops) => {
        run++
        // Fresh members every run: failures from earlier runs do not pile up toward the lockout.
        const members = await Promise.all(orgs.map((org, i) => createUser({ email: `tac-${run}-${i}@example.test`, org, role: 'member' })))
        const ids = members.map((m) => m.id)
        const codes: ModelCode[] = []
        const pendings: (ModelPending | null)[] = [null, null]
        const signIns = [0, 0]

        const pendingOf = async (m: 0 | 1) => (pendings[m] ??= await startPending(ids[m]))

        /** One answer at member m's pending sign-in: the expected outcome from the model, checked against the flow. */
        async function answer(m: 0 | 1, typed: string, target: ModelCode | undefined, step: string) {
          let p = await pendingOf(m)
          if (p.wrong >= CHALLENGE_MAX_ATTEMPTS) {
            // Ended: the challenge is gone, and even the right code does nothing through it (the code stays unspent).
            expect(await loadChallenge(p.token, 'web'), step).toBeNull()
            const stale = await verifyAccessCodeAtSignIn(p.pending, typed, META)
            expect(stale.kind, step).toBe('refused')
            if (target) expect((await db.select().from(v).where(eq(v.id, target.id)))[0].consumedAt === null, step).toBe(target.status === 'live' || target.status === 'expired')
            p = pendings[m] = await startPending(ids[m])
          }
          const expectSuccess = target !== undefined && target.owner === m && target.status === 'live'
          const result = await verifyAccessCodeAtSignIn(p.pending, typed, META)
          if (expectSuccess) {
            expect(result, step).toMatchObject({ kind: 'signed_in', level: 'enroll_only', then: 'enroll_only' })
            target.status = 'used'
            signIns[m]++
            pendings[m] = null
          } else {
            p.wrong++
            expect(result, step).toMatchObject({ kind: 'refused', code: p.wrong >= CHALLENGE_MAX_ATTEMPTS ? 'ended' : 'invalid_code' })
          }
        }

        for (const [i, o] of ops.entries()) {
          const step = `step ${i + 1} of ${JSON.stringify(ops)}`
          if (o.kind === 'issue') {
            const targetUserId = ids[o.member]
            const input = { targetUserId, reason: 'Lost their phone, checked on a call', ticket: 'SUP-1', checks: ['video_id', 'callback'], validHours: o.hours, meta: META }
            const allowed = o.by === 'support' || o.by === o.member
            const before = await db.select().from(v).where(and(eq(v.purpose, 'temporary_access'), eq(v.userId, targetUserId)))
            try {
              const issued =
                o.by === 'support'
                  ? await supportIssueAccessCode({ ...input, actor: { id: support.id, email: support.email } }).then((out) => (out.status === 'issued' ? out.issued : null))
                  : await orgAdminIssueAccessCode({ ...input, actor: { id: admins[o.by].id, email: admins[o.by].email }, org: orgs[o.by], scope: orgScope(orgs[o.by]) })
              expect(allowed, step).toBe(true)
              expect(issued, step).not.toBeNull()
              for (const c of codes) if (c.owner === o.member && c.status === 'live') c.status = 'revoked'
              codes.push({ id: issued!.id, owner: o.member, code: issued!.code, status: 'live', hoursLeft: o.hours })
            } catch (e) {
              // Another organization's admin: not found, and nothing written for the member.
              if (!isDomainError(e)) throw e
              expect(allowed, step).toBe(false)
              expect(e.code, step).toBe('not_found')
              expect(await db.select().from(v).where(and(eq(v.purpose, 'temporary_access'), eq(v.userId, targetUserId))), step).toEqual(before)
            }
          } else if (o.kind === 'revoke') {
            const live = codes.find((c) => c.owner === o.member && c.status === 'live')
            const revoked = await supportRevokeAccessCode({ actor: { id: support.id, email: support.email }, targetUserId: ids[o.member] }).then(
              () => true,
              (e) => {
                if (isDomainError(e) && e.code === 'conflict') return false
                throw e
              },
            )
            expect(revoked, step).toBe(Boolean(live))
            if (live) live.status = 'revoked'
          } else if (o.kind === 'advance') {
            await db.update(v).set({ expiresAt: sql`${v.expiresAt} - make_interval(hours => ${o.hours})` }).where(and(eq(v.purpose, 'temporary_access'), inArray(v.userId, ids)))
            for (const c of codes) {
              c.hoursLeft -= o.hours
              if (c.status === 'live' && c.hoursLeft <= 0) c.status = 'expired'
            }
          } else if (o.kind === 'use') {
            const target = codes.length ? codes[o.pick % codes.length] : undefined
            // Typed the way people type it: any case, dashes or not.
            const typed = target ? (o.pick % 2 ? target.code.toLowerCase() : target.code.replace(/-/g, '')) : 'ABCD-EFGH-JKMN-PQRS'
            await answer(o.member, typed, target, step)
          } else {
            for (let k = 0; k < o.times; k++) await answer(o.member, o.code, undefined, `${step}, wrong answer ${k + 1}`)
          }

          // The database agrees with the model after every step.
          for (const m of [0, 1] as const) {
            const uid = ids[m]
            const live = await db.select({ id: v.id }).from(v).where(and(eq(v.purpose, 'temporary_access'), eq(v.userId, uid), isNull(v.consumedAt), sql`${v.expiresAt} > now()`))
            expect(live.map((r) => r.id), step).toEqual(codes.filter((c) => c.owner === m && c.status === 'live').map((c) => c.id))
            expect(await countOf(schema.auditEvents, and(eq(schema.auditEvents.subjectId, uid), eq(schema.auditEvents.action, 'auth.temporary_access_used'))), step).toBe(signIns[m])
            expect(await countOf(schema.sessions, and(eq(schema.sessions.userId, uid), eq(schema.sessions.level, 'enroll_only'), eq(schema.sessions.secondFactorMethod, 'temporary_access'))), step).toBe(signIns[m])
          }
          const used = await db
            .select({ id: schema.auditEvents.id, details: schema.auditEvents.details, subjectId: schema.auditEvents.subjectId })
            .from(schema.auditEvents)
            .where(and(inArray(schema.auditEvents.subjectId, ids), eq(schema.auditEvents.action, 'auth.temporary_access_used')))
          // Each use names a code of that member that the model says was used, and no code twice.
          const usedIds = used.map((e) => (e.details as { accessCodeId: string }).accessCodeId)
          expect(new Set(usedIds).size, step).toBe(usedIds.length)
          expect(usedIds.sort(), step).toEqual(codes.filter((c) => c.status === 'used').map((c) => c.id).sort())
          for (const e of used) expect(codes.find((c) => c.id === (e.details as { accessCodeId: string }).accessCodeId)?.owner, step).toBe(ids.indexOf(e.subjectId!))
        }
      }),
      { numRuns: 30 },
    )
  }, 600_000)
})
