/**
 * The test databases' URLs: the owner (the cluster's superuser, which also creates and drops the
 * databases) and the application role the app connects as (decision 058).
 */
import { DEFAULT_DATABASE_URL } from '../../app/config/tool-env.ts'

export const ADMIN_URL = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

/** `ownerUrl` and `appUrl` of one database on the test cluster. */
export function databaseUrls(name: string): { ownerUrl: string; appUrl: string } {
  const owner = new URL(ADMIN_URL)
  owner.pathname = `/${name}`
  const app = new URL(owner)
  const role = new URL(DEFAULT_DATABASE_URL)
  app.username = role.username
  app.password = role.password
  return { ownerUrl: owner.toString(), appUrl: app.toString() }
}
