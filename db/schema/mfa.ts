import { sql } from 'drizzle-orm'
import { bigint, boolean, check, index, integer, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core'
import { users } from './users.ts'

export const totpFactors = pgTable(
  'totp_factors',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().unique().references(() => users.id, { onDelete: 'cascade' }),
    /** AES-256-GCM: "iv.tag.ciphertext" in base64url, under key `key_id` of the key ring. */
    secretCiphertext: text('secret_ciphertext').notNull(),
    keyId: text('key_id').notNull(),
    /** Null while enrollment waits for the first code. */
    confirmedAt: timestamp('confirmed_at', { withTimezone: true }),
    /** Replay guard: the last accepted 30-second time step. */
    lastUsedStep: bigint('last_used_step', { mode: 'number' }),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /**
     * "Replace authenticator app": the new secret waiting for its first code, encrypted like the
     * current one (under `pending_key_id`). The current secret keeps signing in until it is confirmed.
     */
    pendingSecretCiphertext: text('pending_secret_ciphertext'),
    pendingKeyId: text('pending_key_id'),
    pendingExpiresAt: timestamp('pending_expires_at', { withTimezone: true }),
    /** Wrong codes given for the pending secret; at TOTP_REPLACEMENT_MAX_WRONG the replacement is dropped. */
    pendingAttempts: integer('pending_attempts').notNull().default(0),
  },
  (t) => [
    check(
      'totp_factors_pending_complete',
      sql`(${t.pendingSecretCiphertext} is null and ${t.pendingKeyId} is null and ${t.pendingExpiresAt} is null) or (${t.pendingSecretCiphertext} is not null and ${t.pendingKeyId} is not null and ${t.pendingExpiresAt} is not null)`,
    ),
  ],
)

export const webauthnCredentials = pgTable(
  'webauthn_credentials',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    /** Base64url credential id; unique across the platform. */
    credentialId: text('credential_id').notNull().unique(),
    /** Base64url COSE public key. */
    publicKey: text('public_key').notNull(),
    counter: bigint('counter', { mode: 'number' }).notNull().default(0),
    transports: text('transports').array(),
    deviceType: text('device_type'),
    backedUp: boolean('backed_up').notNull().default(false),
    label: text('label').notNull(),
    /**
     * What the member chose it as (decision 069): `security_key`, a second step after the password;
     * `passkey`, a discoverable credential registered with user verification that signs in without one.
     */
    kind: text('kind').notNull().default('security_key'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('webauthn_credentials_user').on(t.userId), check('webauthn_credentials_kind', sql`${t.kind} in ('security_key', 'passkey')`)],
)

export const recoveryCodes = pgTable(
  'recovery_codes',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    batchId: uuid('batch_id').notNull(),
    /** argon2id hash (salted); the code itself is shown once. */
    codeHash: text('code_hash').notNull(),
    usedAt: timestamp('used_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('recovery_codes_user').on(t.userId)],
)

/**
 * One engine for every one-time secret: pending sign-in, email code, WebAuthn challenge,
 * step-up, invite, password reset, API challenge. Secrets are stored as keyed hashes only.
 */
export const verifications = pgTable(
  'verifications',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    purpose: text('purpose').notNull(),
    userId: uuid('user_id').references(() => users.id, { onDelete: 'cascade' }),
    /** What the verification is bound to (e.g. the pending sign-in an email code belongs to). */
    target: text('target'),
    /** Keyed hash of the bearer token (pending sign-in cookie, reset link, invite link). */
    tokenHash: text('token_hash').unique(),
    /** Keyed hash of a short code (email code), minted by the mail worker. */
    codeHash: text('code_hash'),
    /** Non-secret data the flow needs (a WebAuthn challenge is a nonce, not a secret). */
    payload: jsonb('payload').$type<Record<string, unknown>>().notNull().default({}),
    attempts: integer('attempts').notNull().default(0),
    maxAttempts: integer('max_attempts').notNull().default(5),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    consumedAt: timestamp('consumed_at', { withTimezone: true }),
    sentAt: timestamp('sent_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [index('verifications_purpose_target').on(t.purpose, t.target), index('verifications_user').on(t.userId)],
)
