import { defineConfig } from 'drizzle-kit'

export default defineConfig({
  dialect: 'postgresql',
  schema: './db/schema/index.ts',
  out: './db/migrations',
  // drizzle-kit's own database commands act as the owner of the tables (decision 058).
  dbCredentials: { url: process.env.DATABASE_OWNER_URL ?? 'postgres://postgres@127.0.0.1:5432/gatehouse' },
})
