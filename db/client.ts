import { drizzle } from 'drizzle-orm/postgres-js'
import postgres, { type TransactionSql } from 'postgres'
import { config } from '#app/config/env.server.ts'
import * as schema from './schema/index.ts'

function connect() {
  const sql = postgres(config.databaseUrl, {
    max: config.env === 'test' ? 5 : 10,
    onnotice: () => {},
    connect_timeout: 5,
  })
  return { sql, db: drizzle(sql, { schema }) }
}

// One pool per process, kept across dev rebuilds.
const g = globalThis as unknown as { __gatehouseDb?: ReturnType<typeof connect> }
const client = (g.__gatehouseDb ??= connect())

export const sql = client.sql
export const db = client.db
export type Db = typeof db
/** A transaction handle or the database itself: domain functions accept either. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0] | Db
/** The same for raw SQL: a postgres.js transaction (`sql.begin`) or the pool. */
export type SqlTx = typeof sql | TransactionSql
export { schema }

export async function closeDb() {
  await client.sql.end({ timeout: 5 })
  g.__gatehouseDb = undefined
}
