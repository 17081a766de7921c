/**
 * The environment of tools that must work without a complete server configuration: the preflight
 * check (runs before the secrets exist) and the CLI's API client verbs (run on a laptop that only
 * knows the server's URL). Importing env.server.ts would stop them with a ConfigError, so their
 * reads live here, beside it: app/config is still the one place that reads process.env.
 */
/**
 * The app connects as a role that owns nothing (decision 058); `npm run db:migrate` creates it. The
 * owner role (here the local superuser of a development machine) is used by migrations only.
 */
export const DEFAULT_DATABASE_URL = 'postgres://gatehouse_app@127.0.0.1:5432/gatehouse'
export const DEFAULT_DATABASE_OWNER_URL = 'postgres://postgres@127.0.0.1:5432/gatehouse'
export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379'

/** Where PostgreSQL and Redis are, with the same defaults as the server configuration. */
export function connectionUrls(): { databaseUrl: string; databaseOwnerUrl: string; redisUrl: string } {
  return {
    databaseUrl: process.env.DATABASE_URL || DEFAULT_DATABASE_URL,
    databaseOwnerUrl: process.env.DATABASE_OWNER_URL || DEFAULT_DATABASE_OWNER_URL,
    redisUrl: process.env.REDIS_URL || DEFAULT_REDIS_URL,
  }
}

/** The CLI API client's settings: $GATEHOUSE_URL, $GATEHOUSE_TOKEN and $XDG_CONFIG_HOME, blank as unset. */
export function cliClientEnv(): { url?: string; token?: string; configHome?: string } {
  const read = (name: string) => process.env[name]?.trim() || undefined
  return { url: read('GATEHOUSE_URL'), token: read('GATEHOUSE_TOKEN'), configHome: read('XDG_CONFIG_HOME') }
}
