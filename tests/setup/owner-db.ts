/**
 * A connection as the owner of this test file's database (DATABASE_OWNER_URL), for the few tests
 * that must do what only the owner can: tamper with the audit log to prove verify-audit sees it.
 * Everything else, the app included, connects as the application role (decision 058).
 */
import postgres from 'postgres'
import { afterAll } from 'vitest'
import { config } from '#app/config/env.server.ts'

/** Call at the top of a test file: the connection closes after the file. */
export function connectAsOwner(): postgres.Sql {
  const sql = postgres(config.databaseOwnerUrl, { max: 1, onnotice: () => {} })
  afterAll(() => sql.end({ timeout: 5 }))
  return sql
}
