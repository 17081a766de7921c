/** Sign-in and sign-out over the API. */
import { z } from 'zod'
import { signOut } from '#app/auth/session.server.ts'
import { findRegion } from '#app/config/env.server.ts'
import { apiPasskeyOptions, apiPasskeySignIn, apiSignIn } from '#app/sign-in/api.server.ts'
import { defineEndpoint } from '../define.server.ts'
import { ApiError, rateLimited } from '../errors.server.ts'
import { dateTime, signedInSchema, userView } from './views.server.ts'

const signInBody = z
  .object({
    email: z.string().trim().min(1, 'Enter your email').max(254, 'is too long').email('is not an email address'),
    password: z.string().min(1, 'Enter your password').max(256, 'is too long'),
    region: z
      .string()
      .max(16)
      .refine((r) => !!findRegion(r), 'is not a region of this Gatehouse')
      .optional()
      .describe('The account’s region. Optional (as reference page 002 signs in): without it the address’s one matching account signs in; 409 region_required lists the regions when the password matches accounts in several'),
  })
  .strict()

const signInResponse = z.union([
  signedInSchema(),
  z.object({
    requires2FA: z.literal(true),
    method: z.string().describe('The method to ask for first'),
    methods: z.array(z.string()),
    challengeId: z.string().describe('Send it to POST /api/auth/2fa/verify with the code'),
    emailCodeSent: z
      .boolean()
      .optional()
      .describe('Present when `method` is email: the code was emailed with this answer (false when the mail could not be queued: ask with POST /api/auth/2fa/email)'),
    resendAfter: dateTime
      .nullable()
      .optional()
      .describe('Present when `method` is email: when POST /api/auth/2fa/email may send a new code (one a minute), or null when it may now'),
  }),
])

export const signInEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/signin',
  tag: 'auth',
  summary: 'Sign in with email, password and (optionally) region',
  description:
    'An unknown email and a wrong password get the same answer (401 invalid_credentials); failures count toward the account lockout. ' +
    'The organization policy applies exactly as on the web: a second factor due answers `requires2FA` with a `challengeId` (10 minutes, 5 tries; finish with POST /api/auth/2fa/verify); ' +
    'a member held to enrollment gets an enrollment-only token (`enrollmentOnly: true`); a member whose deadline passed under a blocking policy gets 403 sign_in_blocked. ' +
    'Without `region` the password is checked against the address’s account in every region (the same work whether or not one exists); one match signs in there, several answer 409 region_required with `error.regions` (decision 071), none is the same 401 as a wrong password. ' +
    'The challengeId also works as the bearer token of POST /api/auth/2fa/verify `{code}`. ' +
    'When the email code comes first (`method: "email"`), it is emailed with this answer (`emailCodeSent`, `resendAfter`; decision 081): finish with POST /api/auth/2fa/verify `{method: "email", code}`.',
  errors: ['invalid_credentials', 'account_locked', 'sign_in_blocked', 'region_required'],
  auth: 'none',
  body: signInBody,
  response: signInResponse,
  // Failed attempts must be recorded even though the request fails.
  transaction: false,
  handler: ({ body, meta }) => apiSignIn(body, meta),
})

const regionField = z.string().max(16).refine((r) => !!findRegion(r), 'is not a region of this Gatehouse')
const b64url = (max: number) => z.string().max(max, 'is too long').regex(/^[A-Za-z0-9_-]*$/, 'is not base64url')

/** A WebAuthn assertion as @simplewebauthn/browser's startAuthentication returns it (sizes capped). */
const assertionSchema = z
  .object({
    id: b64url(1400).min(1, 'is empty'),
    rawId: b64url(1400),
    type: z.literal('public-key'),
    response: z.object({
      clientDataJSON: b64url(8000),
      authenticatorData: b64url(8000),
      signature: b64url(2000),
      userHandle: b64url(1000).optional(),
    }),
    clientExtensionResults: z.record(z.string(), z.unknown()).default({}),
    authenticatorAttachment: z.enum(['platform', 'cross-platform']).optional(),
  })
  .describe('The credential returned by navigator.credentials.get (as @simplewebauthn/browser startAuthentication gives it)')

export const passkeyOptionsEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/passkey/options',
  tag: 'auth',
  summary: 'Start a passkey sign-in (no email needed)',
  description:
    'A one-time challenge for a passkey sign-in in `region` (5 minutes, spent by the first answer): `options` are WebAuthn request options for ' +
    'navigator.credentials.get (an empty allow-list, so the authenticator offers the passkeys it holds; user verification required). ' +
    'The relying party is the region\'s host: a passkey made in one region does not sign in another. Answer with POST /api/auth/passkey/verify.',
  auth: 'none',
  body: z.object({ region: regionField }).strict(),
  response: z.object({
    challengeId: z.string().describe('Send it back with the credential to POST /api/auth/passkey/verify'),
    options: z
      .object({ challenge: z.string(), rpId: z.string().optional(), timeout: z.number().optional(), userVerification: z.string().optional(), allowCredentials: z.array(z.unknown()).optional(), extensions: z.unknown().optional() })
      .describe('PublicKeyCredentialRequestOptionsJSON'),
    expiresInSeconds: z.number().int(),
  }),
  transaction: false,
  handler: ({ body }) => apiPasskeyOptions(body),
})

export const passkeyVerifyEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/passkey/verify',
  tag: 'auth',
  summary: 'Finish a passkey sign-in: a session token',
  description:
    'A passkey answered with user verification is the password and the second factor in one step (decision 069). It signs in wherever the ' +
    'member\'s organizations allow security keys, through the same policy decision as POST /api/auth/signin (the answer has the same shape, ' +
    '`grace` included). Refused: a key added as a second step, a passkey of another region or unknown here (401 invalid_credentials), a ' +
    'signature counter lower than before (401), a stale or used challenge (400 invalid_challenge), a policy that does not allow keys ' +
    '(403 method_unavailable), a locked or frozen account (429 or 403 account_locked), a blocked sign-in (403 sign_in_blocked). ' +
    'Wrong answers count toward the same throttles and account lockout as passwords.',
  errors: ['invalid_credentials', 'invalid_challenge', 'method_unavailable', 'account_locked', 'sign_in_blocked'],
  auth: 'none',
  body: z.object({ challengeId: z.string().uuid('is not a challenge id'), response: assertionSchema }).strict(),
  response: signedInSchema('(a passkey accepted during a grace period)'),
  // Failed attempts must be recorded even though the request fails.
  transaction: false,
  handler: ({ body, meta }) => apiPasskeySignIn(body as Parameters<typeof apiPasskeySignIn>[0], meta),
})

export const signOutEndpoint = defineEndpoint({
  method: 'POST',
  path: '/api/auth/signout',
  tag: 'auth',
  summary: 'End the session behind the bearer token',
  auth: 'session',
  enrollmentAllowed: true,
  response: z.object({ signedOut: z.literal(true) }),
  transaction: false,
  async handler({ caller, meta }) {
    if (caller.kind !== 'session') throw new ApiError(403, 'forbidden', 'Only a session token can sign out; revoke an API key instead.')
    await signOut(caller.token, meta)
    return { signedOut: true as const }
  },
})
