/**
 * The member's own second factors over the API: finishing a sign-in (/2fa/verify, /2fa/email),
 * setting up an authenticator app, status, turning 2FA off, new recovery codes, security keys.
 * Every rule is the web's, through the same modules: the sign-in flow and its API adapter
 * (app/sign-in), the step-up guard and factor bookkeeping (app/mfa/factors.server.ts). A typed
 * `code` is the step-up where the web shows a confirm page.
 *
 * These handlers run without the wrapper's transaction: a wrong code must stay counted (lockout,
 * the challenge's tries) even though the request fails, and the domain functions they call are
 * each one transaction already.
 */
import { keyKindSchema } from '#app/mfa/methods.schema.ts'
import { z } from 'zod'
import { recordWrongPassword } from '#app/auth/lockout.server.ts'
import { verifyPassword } from '#app/auth/password.server.ts'
import type { Session, User } from '#app/auth/session.server.ts'
import { enrollTotp } from '#app/mfa/enrollment.server.ts'
import { removalRefusal, hasAppOrKey, listFactors, mayHoldRecoveryCodes, regenerateRecoveryCodes, removeKey, requireStepUp, turnOffMfa } from '#app/mfa/factors.server.ts'
import { beginTotpSetup, pendingSecretMatches } from '#app/mfa/totp.server.ts'
import { enroll } from '#app/sign-in/flow.server.ts'
import { apiSendSignInCode, apiVerifyBearerChallenge, apiVerifySignIn, requireCodeStepUp } from '#app/sign-in/api.server.ts'
import type { Caller } from '../auth.server.ts'
import { defineEndpoint, iso } from '../define.server.ts'
import { ApiError } from '../errors.server.ts'
import { dateTime, signedInSchema, userView } from './views.server.ts'

const METHODS = ['totp', 'webauthn', 'email', 'recovery_code', 'temporary_access'] as const
const code = z.string().trim().min(1, 'Enter the code').max(64, 'is too long')
const challengeId = z.string().min(1, 'is required').max(200, 'is not a challenge id')

function sessionCaller(caller: Caller | null): { user: User; session: Session; token: string } {
  if (!caller) throw new ApiError(401, 'unauthorized', 'Send the challengeId from sign-in, or a bearer token to confirm an app set-up.')
  if (caller.kind !== 'session') throw new ApiError(403, 'forbidden', 'API keys cannot use this endpoint; it needs a member’s session token.')
  return caller
}

/** The step-up guard's words here (a DomainError the API maps to 403 step_up_required). */
const STEP_UP_TO_ADD = 'Adding a factor when you already have one needs a second factor within the last 5 minutes: sign in again with your second factor, then retry.'

const signedIn = signedInSchema('after the email code owed by a 2FA reset (as in POST /api/auth/signin)')
const enabled = z.object({
  enabled: z.literal(true),
  backupCodes: z.array(z.string()).describe('Recovery codes, shown once. Empty when the member already had a set (see backupCodesRemaining).'),
  backupCodesRemaining: z.number().int(),
  token: z.string().optional().describe('A fresh full session token, when an enrollment-only token just finished enrolling (the old one stops working within a minute)'),
})

export const verifyEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/2fa/verify',
  tag: '2fa',
  summary: 'Finish a sign-in with a second factor, or confirm an authenticator app being set up',
  description:
    'With `challengeId` (from POST /api/auth/signin): checks `code` by `method` (default: the one sign-in named; totp, email or recovery_code — security keys need a browser) and answers the session token. ' +
    'A wrong code counts toward the account lockout and the challenge’s 5 tries. ' +
    'The pending sign-in may instead be the bearer token (`Authorization: Bearer <challengeId>`, body `{code}`, as reference page 002 sends it). ' +
    'With a session token: confirms the app started by POST /api/auth/2fa/setup and turns it on; `secret`, when sent (002’s `{code, secret}`), must be the secret of that set-up (400 otherwise, nothing changes). ' +
    'The first app or key issues the recovery codes, answered here in `backupCodes`, once (decision 071; setup answers none). ' +
    'A temporary access code (issued by support or an organization admin, decision 070) is `method: "temporary_access"` with the code as `code` (any case, dashes optional), with `challengeId` or the challenge as bearer token, whatever methods sign-in listed: ' +
    'it signs in once, to an enrollment-only token (`enrollmentOnly: true`, 15 minutes, only setting up a factor and signing out). ' +
    'A used, expired, revoked or mistyped code is 400 invalid_code with the same message, counted like any wrong code (the challenge’s 5 tries, the account lockout); a malformed one is 400 and not counted (decision 081). ' +
    'The enrollment-only token can set up an app only when none is on (a lost key); a lost phone with the app on it is replaced on the web.',
  errors: ['forbidden', 'invalid_challenge', 'invalid_code', 'method_unavailable', 'conflict', 'step_up_required'],
  auth: 'optional_session',
  enrollmentAllowed: true,
  transaction: false,
  body: z
    .object({
      challengeId: challengeId.optional(),
      code,
      method: z.enum(METHODS).optional(),
      secret: z.string().trim().min(1, 'is empty').max(128, 'is too long').optional().describe('The secret from POST /api/auth/2fa/setup (optional check when confirming an app)'),
    })
    .strict(),
  response: z.union([signedIn, enabled]),
  async handler({ body, caller, meta, bearer }) {
    if (body.challengeId === undefined) {
      // The challengeId as the bearer token (decision 071); anything else keeps the token's own 401.
      if (!caller && bearer) {
        if (body.secret !== undefined) throw bearer.refusal
        return apiVerifyBearerChallenge(bearer.token, { code: body.code, method: body.method }, meta, bearer.refusal)
      }
      const { user, session } = sessionCaller(caller)
      if (body.method && body.method !== 'totp') throw new ApiError(400, 'invalid_request', 'Without a challengeId this confirms an authenticator app: method must be totp.', { fields: { method: 'must be totp' } })
      if ((await listFactors(user.id)).totp) throw new ApiError(409, 'conflict', 'An authenticator app is already on.')
      await requireStepUp(user.id, session, STEP_UP_TO_ADD)
      if (body.secret !== undefined) {
        const same = await pendingSecretMatches(user, body.secret)
        if (same === null) throw new ApiError(409, 'conflict', 'No authenticator app is being set up: start with POST /api/auth/2fa/setup.')
        if (!same) throw new ApiError(400, 'invalid_request', 'That secret is not the one being set up (a newer POST /api/auth/2fa/setup replaced it?). Use the secret of the latest set-up; nothing was changed.', { fields: { secret: 'is not the secret being set up' } })
      }
      const result = await enrollTotp(user, body.code, meta, session.id)
      if (!result.ok) throw new ApiError(400, 'invalid_code', result.message, { fields: { code: result.message } })
      const token = (await enroll(session, user.id, 'totp', meta, 'api'))?.token
      const remaining = (await listFactors(user.id)).recoveryCodesLeft
      return { enabled: true as const, backupCodes: result.recoveryCodes ?? [], backupCodesRemaining: remaining, ...(token ? { token } : {}) }
    }
    return apiVerifySignIn({ ...body, challengeId: body.challengeId }, meta)
  },
})

export const emailCodeEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/2fa/email',
  tag: '2fa',
  summary: 'Email a sign-in code for a pending sign-in (when email is one of its methods)',
  description: 'At most one code a minute (429 with Retry-After); only the newest code works; it expires in 10 minutes. Then POST /api/auth/2fa/verify with method "email". Sign-in already sends one when email comes first (`emailCodeSent`): this asks for a new one.',
  errors: ['invalid_challenge', 'method_unavailable', 'mail_unavailable'],
  auth: 'none',
  transaction: false,
  body: z.object({ challengeId }).strict(),
  response: z.object({
    sent: z.literal(true),
    to: z.string(),
    expiresInSeconds: z.number().int(),
    resendAfter: dateTime.nullable().describe('When a new code may be asked for (one a minute)'),
  }),
  handler: ({ body }) => apiSendSignInCode(body),
})

export const setupEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/2fa/setup',
  tag: '2fa',
  summary: 'Start setting up an authenticator app: a new secret, its otpauth URI and QR code',
  description:
    'Confirm with POST /api/auth/2fa/verify `{code}` (or `{code, secret}`). A member who already has a factor needs a second factor on this session within the last 5 minutes (403 step_up_required). ' +
    '`backupCodes` is here where reference page 002 shows it, and always empty: recovery codes are made only when verify turns the app on, and shown once, in verify’s answer (decision 071). A set-up that is never confirmed leaves no codes behind.',
  errors: ['conflict', 'step_up_required'],
  auth: 'session',
  enrollmentAllowed: true,
  transaction: false,
  response: z.object({
    secret: z.string().describe('Base32 secret for manual entry'),
    uri: z.string().describe('otpauth:// URI'),
    qrCode: z.string().describe('The URI as a PNG data URL'),
    backupCodes: z.array(z.string()).max(0).describe('Always empty: the codes come once, in the answer of POST /api/auth/2fa/verify (decision 071)'),
  }),
  async handler({ caller }) {
    const { user, session } = sessionCaller(caller)
    const factors = await listFactors(user.id)
    if (factors.totp) throw new ApiError(409, 'conflict', 'An authenticator app is already on. Remove it first to set up another.')
    await requireStepUp(user.id, session, STEP_UP_TO_ADD)
    const setup = await beginTotpSetup(user)
    if (!setup.ok) throw new ApiError(409, 'conflict', 'An authenticator app is already on.')
    return { secret: setup.secret, uri: setup.uri, qrCode: setup.qrDataUrl, backupCodes: [] }
  },
})

export const statusEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/auth/2fa/status',
  tag: '2fa',
  summary: 'Whether two-factor authentication is on, the preferred method, recovery codes left',
  auth: 'session',
  enrollmentAllowed: true,
  response: z.object({
    enabled: z.boolean().describe('true when the member has an authenticator app or a security key'),
    method: z.enum(['totp', 'webauthn', 'email']).nullable().describe('The preferred method'),
    methods: z.array(z.enum(['totp', 'webauthn'])),
    backupCodesRemaining: z.number().int(),
    lastUsedAt: dateTime.nullable().describe('When an app or key was last used'),
  }),
  async handler({ caller }) {
    const { user } = sessionCaller(caller)
    const f = await listFactors(user.id)
    const used = [f.totp?.lastUsedAt, ...f.keys.map((k) => k.lastUsedAt)].filter((d): d is Date => Boolean(d)).sort((a, b) => b.getTime() - a.getTime())
    return {
      enabled: hasAppOrKey(f),
      method: user.preferredMethod,
      methods: [...(f.totp ? (['totp'] as const) : []), ...(f.keys.length ? (['webauthn'] as const) : [])],
      backupCodesRemaining: f.recoveryCodesLeft,
      lastUsedAt: iso(used[0]),
    }
  },
})

export const disableEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/2fa/disable',
  tag: '2fa',
  summary: 'Turn two-factor authentication off: every app and key, the recovery codes and remembered devices go',
  description: '`code` is the step-up (a current app code or a recovery code), checked first; then `password`, the account password, where a wrong one counts toward the account lockout as at sign-in. The fifth wrong code on one token signs it out (401).',
  errors: ['conflict', 'invalid_password', 'invalid_code'],
  auth: 'session',
  transaction: false,
  body: z
    .object({ code, password: z.string().min(1, 'Enter your password').max(256, 'is too long').optional().describe('Required: the account password') })
    .strict()
    // Reference page 002 sends only `{code}`; 003 asks for the password too, and so does Gatehouse (decision 071).
    .superRefine((b, ctx) => {
      if (b.password === undefined) ctx.addIssue({ code: 'custom', path: ['password'], message: 'is required: turning off two-factor authentication needs your account password as well as the code' })
    }),
  response: z.object({ disabled: z.literal(true) }),
  async handler({ caller, body, meta }) {
    const { user, session } = sessionCaller(caller)
    if (!hasAppOrKey(await listFactors(user.id))) throw new ApiError(409, 'conflict', 'Two-factor authentication is already off.')
    // Said before the step-up, so nobody spends a code on a change that will be refused.
    const refusal = await removalRefusal(user.id, { kind: 'all' })
    if (refusal) throw new ApiError(409, 'conflict', refusal)
    // The second factor first, then the password (decision 057): a stolen session token without
    // the factor learns nothing about the password here. A wrong password counts toward the
    // account's lockout, as at sign-in. (A recovery code spent on a wrong password stays spent.)
    await requireCodeStepUp(user, session, body.code, meta)
    if (!user.passwordHash || !(await verifyPassword(user.passwordHash, body.password ?? ''))) {
      await recordWrongPassword(user, meta, '2fa_disable')
      throw new ApiError(400, 'invalid_password', 'That password is not right.', { fields: { password: 'is not right' } })
    }
    const off = await turnOffMfa(user, meta, session.id)
    if (!off.ok) throw new ApiError(409, 'conflict', off.message)
    return { disabled: true as const }
  },
})

export const regenerateCodesEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/2fa/backup-codes/regenerate',
  tag: '2fa',
  summary: 'Replace the recovery codes with 10 new ones (the old ones stop working)',
  description:
    '`code` is the step-up: a current app code or a recovery code. The fifth wrong code on one token signs it out (401). ' +
    'A member whose only factor is email may get backup codes too (reference page 004; decision 071): `code` is then one of their recovery codes, or is left out when this token’s session passed its email code within the last 5 minutes (403 step_up_required otherwise).',
  errors: ['conflict', 'invalid_code', 'step_up_required'],
  auth: 'session',
  transaction: false,
  body: z.object({ code: code.optional() }).strict(),
  response: z.object({ backupCodes: z.array(z.string()) }),
  async handler({ caller, body, meta }) {
    const { user, session } = sessionCaller(caller)
    const factors = await listFactors(user.id)
    if (!mayHoldRecoveryCodes(user, factors)) throw new ApiError(409, 'conflict', 'Support and administrator accounts get recovery codes with an authenticator app or a security key; set one up first.')
    if (body.code !== undefined) await requireCodeStepUp(user, session, body.code, meta)
    else if (hasAppOrKey(factors)) throw new ApiError(400, 'invalid_request', 'The request body is not valid: code: is required (a current app code or a recovery code).', { fields: { code: 'is required' } })
    else await requireStepUp(user.id, session, 'New backup codes need a second factor within the last 5 minutes: send `code` (a recovery code), or sign in again with your email code, then retry.', { evenWithoutFactor: true })
    return { backupCodes: await regenerateRecoveryCodes(user, meta, session.id) }
  },
})

const credentialSchema = z.object({ id: z.string().uuid(), name: z.string(), kind: keyKindSchema.describe('passkey: signs in without a password; security_key: a second step (decision 069)'), createdAt: dateTime, lastUsedAt: dateTime.nullable() })

export const listCredentialsEndpoint = defineEndpoint({
  method: 'GET',
  path: '/api/auth/webauthn/credentials',
  tag: '2fa',
  summary: 'The member’s security keys and passkeys',
  auth: 'session',
  response: z.object({ credentials: z.array(credentialSchema) }),
  async handler({ caller }) {
    const { user } = sessionCaller(caller)
    const { keys } = await listFactors(user.id)
    return { credentials: keys.map((k) => ({ id: k.id, name: k.label, kind: k.kind ?? 'security_key', createdAt: iso(k.createdAt)!, lastUsedAt: iso(k.lastUsedAt) })) }
  },
})

export const removeCredentialEndpoint = defineEndpoint({
  method: 'DELETE',
  path: '/api/auth/webauthn/credentials/:id',
  tag: '2fa',
  summary: 'Remove a security key',
  description: '`code` is the step-up: a current app code or a recovery code. The fifth wrong code on one token signs it out (401). Removing the last app or key turns 2FA off.',
  errors: ['conflict', 'invalid_code'],
  auth: 'session',
  transaction: false,
  params: z.object({ id: z.string().uuid() }),
  body: z.object({ code }).strict(),
  response: z.object({ removed: z.literal(true) }),
  async handler({ caller, params, body, meta }) {
    const { user, session } = sessionCaller(caller)
    const { keys } = await listFactors(user.id)
    if (!keys.some((k) => k.id === params.id)) throw new ApiError(404, 'not_found', 'There is no security key with that id on your account.')
    const refusal = await removalRefusal(user.id, { kind: 'key', keyId: params.id })
    if (refusal) throw new ApiError(409, 'conflict', refusal)
    await requireCodeStepUp(user, session, body.code, meta)
    const removed = await removeKey(user, params.id, meta, session.id)
    if (!removed.ok) throw new ApiError(removed.code === 'not_found' ? 404 : 409, removed.code === 'not_found' ? 'not_found' : 'conflict', removed.message)
    return { removed: true as const }
  },
})
