import { sql } from 'drizzle-orm'
import { boolean, index, integer, pgEnum, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { organizations } from './orgs.ts'
import { regions } from './regions.ts'
import { users } from './users.ts'

export const policyMode = pgEnum('policy_mode', ['disabled', 'optional', 'required'])
export const deadlineAction = pgEnum('deadline_action', ['force_enrollment', 'block'])

export const regionPolicies = pgTable(
  'region_policies',
  {
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    region: text('region').notNull().references(() => regions.code),
    mode: policyMode('mode').notNull().default('optional'),
    /** Subset of email, totp, webauthn; never empty. */
    allowedMethods: text('allowed_methods').array().notNull().default(['email', 'totp', 'webauthn']),
    gracePeriodDays: integer('grace_period_days').notNull().default(7),
    onDeadline: deadlineAction('on_deadline').notNull().default('force_enrollment'),
    rememberDeviceDays: integer('remember_device_days').notNull().default(14),
    /**
     * Trust the organization's identity provider's MFA when its ID token says so (decision 075): `amr`
     * holds one of `idpMfaAmr`, or `acr` is one of `idpMfaAcr`. Turning it on lowers protection.
     */
    trustIdpMfa: boolean('trust_idp_mfa').notNull().default(false),
    idpMfaAmr: text('idp_mfa_amr').array().notNull().default(['mfa', 'otp', 'hwk', 'swk']),
    idpMfaAcr: text('idp_mfa_acr').array().notNull().default([]),
    /** Changes only when the region becomes Required. */
    requiredSince: timestamp('required_since', { withTimezone: true }),
    /**
     * The members' grace reminders (memberships.next_reminder_at) are not yet scheduled for this
     * policy: set by a trigger when mode, methods, grace or required_since change; the grace sweep
     * reschedules the region's members and clears it (decision 078), so a save writes no membership row.
     */
    remindersStale: boolean('reminders_stale').notNull().default(true),
    updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.organizationId, t.region] })],
)

export const exemptions = pgTable(
  'exemptions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    region: text('region').notNull().references(() => regions.code),
    reason: text('reason').notNull(),
    createdBy: uuid('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    /** Null: no end date. Past: lapsed (whether or not the worker has recorded it yet). */
    expiresAt: timestamp('expires_at', { withTimezone: true }),
    /** When the worker recorded org.exemption_expired. */
    expiryRecordedAt: timestamp('expiry_recorded_at', { withTimezone: true }),
  },
  (t) => [
    uniqueIndex('exemptions_org_user_region').on(t.organizationId, t.userId, t.region),
    /** The expiry sweep's claim: lapsed exemptions not yet recorded; a rerun with nothing to do reads this index only. */
    index('exemptions_expiry_pending').on(t.expiresAt).where(sql`expiry_recorded_at is null and expires_at is not null`),
  ],
)

export const deadlineExtensions = pgTable(
  'deadline_extensions',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    region: text('region').notNull().references(() => regions.code),
    deadline: timestamp('deadline', { withTimezone: true }).notNull(),
    reason: text('reason').notNull(),
    grantedBy: uuid('granted_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('deadline_extensions_org_user_region').on(t.organizationId, t.userId, t.region)],
)

/** One row per reminder sent: the unique key makes a rerun or a retried sweep send nothing twice. */
export const graceReminders = pgTable(
  'grace_reminders',
  {
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    region: text('region').notNull(),
    deadline: timestamp('deadline', { withTimezone: true }).notNull(),
    /** 7, 3, 1 days before the deadline; 0 for "the deadline passed" (policy.grace_expired). */
    offsetDays: integer('offset_days').notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.userId, t.organizationId, t.region, t.deadline, t.offsetDays] })],
)

/** Progress of long notification runs (e.g. emailing every member when a policy becomes Required). */
export const notificationRuns = pgTable(
  'notification_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    region: text('region').notNull(),
    kind: text('kind').notNull(),
    total: integer('total').notNull().default(0),
    done: integer('done').notNull().default(0),
    status: text('status').notNull().default('queued'),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    finishedAt: timestamp('finished_at', { withTimezone: true }),
  },
  (t) => [index('notification_runs_org').on(t.organizationId, t.createdAt)],
)
