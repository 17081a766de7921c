/**
 * API key scopes and the API keys page's form, for the page (also in the browser), the domain and
 * the API alike (decision 065).
 */
import { z } from 'zod'

export const API_SCOPES = ['policy:read', 'policy:write', 'members:read', 'audit:read'] as const
export type ApiScope = (typeof API_SCOPES)[number]

/** The API keys page's forms, told apart by `intent`. */
export const apiKeysForm = z.discriminatedUnion('intent', [
  z.object({
    intent: z.literal('issue'),
    serviceAccountId: z.string({ error: 'Choose a service account' }).uuid('Choose a service account'),
    name: z.string().trim().min(1, 'Name the key, e.g. "CI policy sync"').max(100, 'That name is too long'),
    scopes: z.preprocess(
      (v) => (v === undefined ? [] : [v].flat()),
      z.array(z.enum(API_SCOPES, { message: 'Choose scopes from the list' })).min(1, 'Choose at least one scope'),
    ),
  }),
  z.object({
    intent: z.literal('revoke'),
    keyId: z.string().uuid('Choose a key to revoke'),
  }),
])
