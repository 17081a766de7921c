/**
 * Migrating one database with two roles (decision 058): the owner applies the migrations, the
 * application role is created if missing and granted what the app needs. No configuration is read
 * here, so the tests' global setup (which has none) uses it too.
 */
import { fileURLToPath } from 'node:url'
import { drizzle } from 'drizzle-orm/postgres-js'
import { migrate } from 'drizzle-orm/postgres-js/migrator'
import postgres from 'postgres'

export const migrationsFolder = fileURLToPath(new URL('./migrations', import.meta.url))

/**
 * Tables the application may only read and append to. The chain heads and the retention anchors are
 * written only by the database's own functions (the chain trigger and audit_prune), so the app only
 * reads them; any other audit_* table, added later, gets SELECT and INSERT.
 */
const AUDIT_TABLE_PATTERN = 'audit\\_%'
const AUDIT_READ_ONLY = ['audit_chain_heads', 'audit_anchors']

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

/** The pieces of a PostgreSQL URL that must agree between the owner's and the app's connection. */
function describeUrl(url: string) {
  const u = new URL(url)
  return { user: decodeURIComponent(u.username), password: decodeURIComponent(u.password), place: `${u.hostname}:${u.port || '5432'}${u.pathname}` }
}

/**
 * Migrates one database: `ownerUrl` owns the tables and runs the migrations; `appUrl` names the
 * role the application connects as, which must be another role. Used by `gatehouse migrate`, the
 * demo and the tests' template database.
 */
export async function migrateDatabase(input: { ownerUrl: string; appUrl: string; migrationsFolder?: string }) {
  const owner = describeUrl(input.ownerUrl)
  const app = describeUrl(input.appUrl)
  if (owner.place !== app.place) {
    throw new Error(`DATABASE_OWNER_URL (${owner.place}) and DATABASE_URL (${app.place}) must name the same database`)
  }
  if (!app.user || app.user === owner.user) {
    throw new Error(`DATABASE_URL must connect as its own role, not as the owner "${owner.user}" that DATABASE_OWNER_URL uses (e.g. postgres://gatehouse_app@${app.place})`)
  }
  await ensureDatabase(input.ownerUrl)
  const sql = postgres(input.ownerUrl, { max: 1, onnotice: () => {}, connect_timeout: 5 })
  try {
    await ensureAppRole(sql, app.user, app.password)
    await migrate(drizzle(sql), { migrationsFolder: input.migrationsFolder ?? migrationsFolder })
    await grantAppRole(sql, app.user)
  } finally {
    await sql.end()
  }
}

/**
 * Creates the application role when it is missing: it may log in and nothing more (no superuser,
 * no creating databases or roles, no bypassing row security), with the password of DATABASE_URL if
 * it has one. The role is cluster-wide and several databases may be migrated at once (the tests do),
 * so a concurrent creation is not an error. An existing role is kept as it is, unless it could
 * reach past its grants (a superuser, a role that may create roles, or a member of the owner role):
 * then migrating stops.
 */
async function ensureAppRole(sql: postgres.Sql, role: string, password: string) {
  const [found] = await sql<{ rolsuper: boolean; rolcreaterole: boolean; member: boolean }[]>`
    select rolsuper, rolcreaterole, pg_has_role(rolname, current_user, 'MEMBER') as member from pg_roles where rolname = ${role}`
  const reach = found?.rolsuper ? 'is a superuser: it would bypass every grant'
    : found?.rolcreaterole ? 'may create roles: it could grant itself the owner role'
    : found?.member ? 'is a member of the owner role, so it could act as the owner'
    : null
  if (reach) throw new Error(`The application role "${role}" (DATABASE_URL) ${reach}. Use a role that may only log in (npm run db:migrate creates one when it is missing).`)
  if (found) return
  const [{ statement }] = await sql<{ statement: string }[]>`
    select format('create role %I login nosuperuser nocreatedb nocreaterole noreplication nobypassrls', ${role}::text)
      || case when ${password}::text <> '' then format(' password %L', ${password}::text) else '' end as statement`
  try {
    await sql.unsafe(statement)
  } catch (e) {
    // 42710 duplicate_object; 23505 when two sessions insert the same role name at the same moment.
    const code = (e as { code?: string }).code
    if (code !== '42710' && code !== '23505') throw e
  }
}

/**
 * What the application role may do, granted again at the end of every migration so it is always
 * complete: read and write the ordinary tables, tables added later included (default privileges for
 * the owner's new tables); on the audit tables only read and append; run audit_prune. It owns
 * nothing, so it can neither ALTER nor DISABLE TRIGGER nor TRUNCATE.
 */
async function grantAppRole(sql: postgres.Sql, role: string) {
  const app = sql(role)
  const [{ db }] = await sql<{ db: string }[]>`select current_database() as db`
  await sql`grant connect, temporary on database ${sql(db)} to ${app}`
  await sql`grant usage on schema public to ${app}`
  await sql`grant select, insert, update, delete on all tables in schema public to ${app}`
  await sql`grant usage on all sequences in schema public to ${app}`
  await sql`alter default privileges for role current_user in schema public grant select, insert, update, delete on tables to ${app}`
  await sql`alter default privileges for role current_user in schema public grant usage on sequences to ${app}`
  const audit = await sql<{ name: string }[]>`select tablename as name from pg_tables where schemaname = 'public' and tablename like ${AUDIT_TABLE_PATTERN}`
  for (const { name } of audit) {
    await sql`revoke all on table ${sql(name)} from ${app}, public`
    await sql`grant select on table ${sql(name)} to ${app}`
    if (!AUDIT_READ_ONLY.includes(name)) await sql`grant insert on table ${sql(name)} to ${app}`
  }
  await sql`grant execute on function audit_prune(text) to ${app}`
}

