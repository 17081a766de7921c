import { sql } from 'drizzle-orm'
import { boolean, index, pgTable, primaryKey, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core'
import { organizations } from './orgs.ts'
import { regions } from './regions.ts'
import { users } from './users.ts'

/**
 * An organization's OpenID Connect sign-in (decision 075). One per organization. The
 * client secret is encrypted at rest like TOTP secrets (AES-256-GCM under the key ring, bound to
 * this column and organization); `region` is where a first SSO sign-in creates its account.
 */
export const ssoConfigs = pgTable('sso_configs', {
  organizationId: uuid('organization_id').primaryKey().references(() => organizations.id, { onDelete: 'cascade' }),
  region: text('region').notNull().references(() => regions.code),
  issuer: text('issuer').notNull(),
  clientId: text('client_id').notNull(),
  clientSecretCiphertext: text('client_secret_ciphertext').notNull(),
  keyId: text('key_id').notNull(),
  /** Claim mapping: which ID token claims carry the email and the name. */
  emailClaim: text('email_claim').notNull().default('email'),
  nameClaim: text('name_claim').notNull().default('name'),
  /** Members with one of the organization's domains sign in through SSO only (break-glass aside). */
  ssoRequired: boolean('sso_required').notNull().default(false),
  updatedBy: uuid('updated_by').references(() => users.id, { onDelete: 'set null' }),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
})

/**
 * An email domain an organization claims for its SSO (decision 080). A claim routes /login and
 * allows just-in-time accounts only once it is verified by a DNS TXT record
 * (`_gatehouse-challenge.<domain>` = `gatehouse-domain-verification=<token>`). Several
 * organizations may hold unverified claims of one domain; a verified domain belongs to one only.
 */
export const ssoDomains = pgTable(
  'sso_domains',
  {
    /** Lower-cased, no leading "@". */
    domain: text('domain').notNull(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    /** Random (crypto), per claim; published in DNS, so not a secret. */
    verificationToken: text('verification_token').notNull(),
    verifiedAt: timestamp('verified_at', { withTimezone: true }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    primaryKey({ columns: [t.domain, t.organizationId] }),
    index('sso_domains_org').on(t.organizationId),
    uniqueIndex('sso_domains_verified').on(t.domain).where(sql`verified_at is not null`),
  ],
)

/** The provider's subject linked to one account, per organization: created at JIT, or after the holder proved the account. */
export const ssoIdentities = pgTable(
  'sso_identities',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    organizationId: uuid('organization_id').notNull().references(() => organizations.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    subject: text('subject').notNull(),
    userId: uuid('user_id').notNull().references(() => users.id, { onDelete: 'cascade' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('sso_identities_subject').on(t.organizationId, t.issuer, t.subject), uniqueIndex('sso_identities_user').on(t.organizationId, t.userId)],
)
