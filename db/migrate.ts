/**
 * Creates the database if it does not exist, applies the committed migrations and mirrors the
 * configured regions into the regions table. Safe to run again and again.
 */
import { fileURLToPath } from 'node:url'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'
import { config } from '#app/config/env.server.ts'
import { schema } from './client.ts'

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url))

export async function ensureDatabase(url: string) {
  const target = new URL(url)
  const name = decodeURIComponent(target.pathname.slice(1))
  const admin = new URL(url)
  admin.pathname = '/postgres'
  const sql = postgres(admin.toString(), { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    const rows = await sql`select 1 from pg_database where datname = ${name}`
    if (rows.length === 0) await sql.unsafe(`create database "${name.replace(/"/g, '""')}"`)
  } finally {
    await sql.end()
  }
}

export async function runMigrations() {
  await ensureDatabase(config.databaseUrl)
  const { db } = await import('./client.ts')
  await migrate(db, { migrationsFolder })
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
