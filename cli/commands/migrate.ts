import { defineCommand } from '../registry.ts'

export default defineCommand({
  name: 'migrate',
  summary: 'create the database if needed and apply every migration',
  description: [
    'Connects as DATABASE_OWNER_URL, the role that owns the tables: creates the database and the',
    'application role of DATABASE_URL when missing, applies the migrations and grants that role what',
    'the app needs (on the audit tables, only reading and appending). Safe to run again and again.',
    'Also mirrors the configured regions into the regions table.',
  ].join('\n'),
  options: {},
  async run({ print }) {
    const { runMigrations } = await import('#db/migrate.ts')
    const { config } = await import('#app/config/env.server.ts')
    await runMigrations()
    const database = decodeURIComponent(new URL(config.databaseUrl).pathname.slice(1))
    print({ ok: true, database, regions: config.regions.map((r) => r.code) }, `Database migrated: ${database} (regions ${config.regions.map((r) => r.code).join(', ')})`)
  },
})
