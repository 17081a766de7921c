/** Sign-in and sign-out over the API. */
import { z } from 'zod'
import { signOut } from '#app/auth/session.server.ts'
import { findRegion } from '#app/config/env.server.ts'
import { apiSignIn } from '#app/sign-in/api.server.ts'
import { defineEndpoint } from '../define.server.ts'
import { ApiError, rateLimited } from '../errors.server.ts'
import { signedInSchema, userView } from './views.server.ts'

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
    'The challengeId also works as the bearer token of POST /api/auth/2fa/verify `{code}`.',
  errors: ['invalid_credentials', 'account_locked', 'sign_in_blocked', 'region_required'],
  auth: 'none',
  body: signInBody,
  response: signInResponse,
  // Failed attempts must be recorded even though the request fails.
  transaction: false,
  handler: ({ body, meta }) => apiSignIn(body, meta),
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
