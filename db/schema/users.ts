import { index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { regions } from './regions.ts'

export const userKind = pgEnum('user_kind', ['human', 'service'])
export const platformRole = pgEnum('platform_role', ['none', 'support', 'superadmin'])
export const mfaMethod = pgEnum('mfa_method', ['email', 'totp', 'webauthn'])
export const sessionLevel = pgEnum('session_level', ['password', 'mfa', 'enroll_only'])

export const users = pgTable(
  'users',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    region: text('region').notNull().references(() => regions.code),
    /** Stored lower-cased and trimmed. */
    email: text('email').notNull(),
    name: text('name').notNull(),
    /** argon2id; null until an invited member sets a password. */
    passwordHash: text('password_hash'),
    kind: userKind('kind').notNull().default('human'),
    platformRole: platformRole('platform_role').notNull().default('none'),
    preferredMethod: mfaMethod('preferred_method'),
    /** When 2FA (an app or a key) was turned on; null when off. */
    mfaEnabledAt: timestamp('mfa_enabled_at', { withTimezone: true }),
    /** Consecutive failed password or second-factor attempts. */
    failedAttempts: integer('failed_attempts').notNull().default(0),
    lockedUntil: timestamp('locked_until', { withTimezone: true }),
    /** How many lockouts so far: each doubles the next one (1 h, 2 h, ... at most 24 h). */
    lockCount: integer('lock_count').notNull().default(0),
    /** Set by a support, admin or CLI reset: the next sign-in asks for an email code. */
    mfaResetAt: timestamp('mfa_reset_at', { withTimezone: true }),
    lastSignInAt: timestamp('last_sign_in_at', { withTimezone: true }),
    /**
     * Until when this account counts as an organization owner or admin after losing that role
     * (demoted or removed: now + 30 days, set by a trigger on memberships). Until then it is
     * reset and unlocked only under support's two-person rule (decision 057).
     */
    privilegedUntil: timestamp('privileged_until', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('users_region_email').on(t.region, t.email), index('users_email').on(t.email)],
)

export const sessions = pgTable(
  'sessions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    /** Keyed hash (HMAC-SHA-256) of the token; the token itself is only in the cookie or bearer header. */
    tokenHash: text('token_hash').notNull().unique(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    level: sessionLevel('level').notNull(),
    /** 'web' (cookie) or 'api' (bearer). */
    channel: text('channel').notNull().default('web'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }).notNull().defaultNow(),
    idleExpiresAt: timestamp('idle_expires_at', { withTimezone: true }).notNull(),
    absoluteExpiresAt: timestamp('absolute_expires_at', { withTimezone: true }).notNull(),
    secondFactorAt: timestamp('second_factor_at', { withTimezone: true }),
    secondFactorMethod: text('second_factor_method'),
    ip: text('ip'),
    userAgent: text('user_agent'),
  },
  (t) => [index('sessions_user').on(t.userId)],
)

export const trustedDevices = pgTable(
  'trusted_devices',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    label: text('label').notNull(),
    method: mfaMethod('method').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  },
  (t) => [index('trusted_devices_user').on(t.userId)],
)

