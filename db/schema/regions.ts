import { pgTable, text } from 'drizzle-orm/pg-core'

/** Mirrors the configured regions (the config seeds it at start). */
export const regions = pgTable('regions', {
  code: text('code').primaryKey(),
  name: text('name').notNull(),
  origin: text('origin').notNull(),
  rpId: text('rp_id').notNull(),
  issuer: text('issuer').notNull(),
})
