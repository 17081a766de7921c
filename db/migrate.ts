/**
 * `npm run db:migrate`: migrates the configured database (DATABASE_OWNER_URL applies the
 * migrations, DATABASE_URL names the application role; see migrate-database.ts) and mirrors the
 * configured regions into the regions table. Safe to run again and again.
 */
import { config } from '#app/config/env.server.ts'
import { schema } from './client.ts'
import { migrateDatabase } from './migrate-database.ts'

export async function runMigrations() {
  await migrateDatabase({ ownerUrl: config.databaseOwnerUrl, appUrl: config.databaseUrl })
  const { db } = await import('./client.ts')
  await syncRegions(db)
}

export async function syncRegions(db: typeof import('./client.ts').db) {
  for (const r of config.regions) {
    await db
      .insert(schema.regions)
      .values(r)
      .onConflictDoUpdate({ target: schema.regions.code, set: { name: r.name, origin: r.origin, rpId: r.rpId, issuer: r.issuer } })
  }
}
