import { sql } from 'drizzle-orm'
import { boolean, index, integer, pgEnum, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { regions } from './regions.ts'
import { userKind, users } from './users.ts'

export const orgRole = pgEnum('org_role', ['owner', 'admin', 'member'])

export const organizations = pgTable('organizations', {
  id: uuid('id').primaryKey().defaultRandom(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** Audit events older than this are pruned by the retention worker (default 7 years). */
  auditRetentionDays: integer('audit_retention_days').notNull().default(2557),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
})

export const memberships = pgTable(
  'memberships',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    role: orgRole('role').notNull().default('member'),
    joinedAt: timestamp('joined_at', { withTimezone: true }).notNull().defaultNow(),
    /*
     * The members list's read model (decisions 076, 078): what the members page, the overview chart and
     * the impact preview filter and sort on, kept beside the membership by PostgreSQL triggers in the
     * same transaction as every write they depend on (users, factors, exemptions, extensions, this
     * row), through the one function memberships_refresh (db/migrations/0010, 0014). Only facts no
     * policy decides: status is a predicate on them, the region's policy row joined when read, and
     * now() (app/policy/member-status.server.ts), so neither time passing nor a policy save writes them. Sign-in enforcement never reads them. `gatehouse verify-members` checks and repairs.
     * An insert's values are replaced by the BEFORE INSERT trigger, so callers pass none: the
     * placeholders below only satisfy drizzle's types (the database column has no default).
     */
    userName: text('user_name').notNull().$defaultFn(() => ''),
    userEmail: text('user_email').notNull().$defaultFn(() => ''),
    userKind: userKind('user_kind').notNull().$defaultFn(() => 'human'),
    userRegion: text('user_region').notNull().$defaultFn(() => ''),
    /** A confirmed authenticator app. */
    hasTotp: boolean('has_totp').notNull().default(false),
    /** At least one security key or passkey. */
    hasKey: boolean('has_key').notNull().default(false),
    /** This member's deadline extension here (deadline_extensions.deadline), null without one (decision 078). */
    extensionDeadline: timestamp('extension_deadline', { withTimezone: true }),
    /** A service account's exemption here: its end, 'infinity' without one; null when not exempt. */
    exemptUntil: timestamp('exempt_until', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('memberships_org_user').on(t.organizationId, t.userId),
    index('memberships_user').on(t.userId),
    // The members page's sorts (keyset: sort value, then id) and filters, and a policy change's region.
    index('memberships_org_name').on(t.organizationId, sql`lower(${t.userName})`, t.id),
    index('memberships_org_email').on(t.organizationId, t.userEmail, t.id),
    index('memberships_org_joined').on(t.organizationId, t.joinedAt, t.id),
    index('memberships_org_region').on(t.organizationId, t.userRegion, t.id),
    index('memberships_org_role').on(t.organizationId, t.role, t.id),
    index('memberships_org_kind').on(t.organizationId, t.userKind, t.id),
    // Everything the status predicate reads of a region's members (decision 078): the impact preview
    // and the overview chart count a 100,000-member region from this index alone (index-only scan);
    // with the id last, the members page lists a status filter's few matches from it too (083).
    index('memberships_org_region_facts').on(t.organizationId, t.userRegion, t.hasTotp, t.hasKey, t.joinedAt, t.extensionDeadline, t.exemptUntil, t.id),
    // The "Exempt" filter: the few exempt members of an organization, without reading the others.
    index('memberships_org_exempt').on(t.organizationId, t.exemptUntil).where(sql`exempt_until is not null`),
  ],
)

/**
 * When a member's next grace reminder (7, 3, 1 days before the deadline) or expiry falls due; no row
 * when nothing is owed (decisions 077, 078, 082). Written by a trigger when the membership's facts
 * change, rescheduled by the grace sweep after a policy save, moved on by the grace sweep. Its own
 * narrow table, not a column of memberships: the sweep moves it for every member it reminds, and an
 * update of an indexed column is never HOT, so on memberships each move wrote an entry into all
 * eleven of its indexes (decision 082).
 */
export const membershipReminders = pgTable(
  'membership_reminders',
  {
    membershipId: uuid('membership_id').primaryKey().references(() => memberships.id, { onDelete: 'cascade' }),
    nextReminderAt: timestamp('next_reminder_at', { withTimezone: true }).notNull(),
  },
  // The grace sweep's claim: a run with nothing due reads this index only.
  (t) => [index('membership_reminders_due').on(t.nextReminderAt)],
)

export const apiKeys = pgTable(
  'api_keys',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    /** The service account the key acts as. */
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** Keyed hash of the key; the key is shown once. */
    tokenHash: text('token_hash').notNull().unique(),
    /** First characters, to recognise a key in lists. */
    prefix: text('prefix').notNull(),
    scopes: text('scopes').array().notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('api_keys_org').on(t.organizationId)],
)

export const invitationState = pgEnum('invitation_state', ['pending', 'accepted', 'declined', 'cancelled', 'expired'])

/**
 * An organization's invitation to an address in one region (decision 055). No membership exists
 * until the holder accepts: signed in for an existing account, or by setting a password through
 * the emailed link (a verification whose target is this row) for a new address.
 */
export const invitations = pgTable(
  'invitations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    region: text('region').notNull().references(() => regions.code),
    /** Stored lower-cased and trimmed, as users.email. */
    email: text('email').notNull(),
    /** The name a new account gets when the link is accepted. */
    name: text('name').notNull().default(''),
    /** The account the address belonged to when invited, or the one that accepted; null for a new address until then. */
    invitedUserId: uuid('invited_user_id').references(() => users.id, { onDelete: 'set null' }),
    role: orgRole('role').notNull().default('member'),
    invitedBy: uuid('invited_by').references(() => users.id, { onDelete: 'set null' }),
    state: invitationState('state').notNull().default('pending'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    /** When it was accepted, declined, cancelled or marked expired, and by whom. */
    closedAt: timestamp('closed_at', { withTimezone: true }),
    closedBy: uuid('closed_by').references(() => users.id, { onDelete: 'set null' }),
  },
  (t) => [
    // One open invitation per address and organization: a second invite is a 409, not a second row.
    uniqueIndex('invitations_one_pending').on(t.organizationId, t.region, t.email).where(sql`${t.state} = 'pending'`),
    index('invitations_address').on(t.region, t.email),
  ],
)
