/**
 * Checks that PostgreSQL and Redis answer before a command starts, and says so in one line
 * naming the URL tried when one does not. Exit code 1 then; no stack trace.
 */
import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import postgres from 'postgres'
import { connectionUrls } from '#app/config/tool-env.ts'
import { describeConnectionError } from '#db/connection-error.ts'

export async function preflight(): Promise<string[]> {
  const problems: string[] = []
  const urls = connectionUrls()
  // As the owner: the target database and the application role may not exist yet (migrate creates them).
  const dbUrl = new URL(urls.databaseOwnerUrl)
  dbUrl.pathname = '/postgres'
  const sql = postgres(dbUrl.toString(), { max: 1, connect_timeout: 3, onnotice: () => {} })
  try {
    await sql`select 1`
  } catch (e) {
    problems.push(describeConnectionError(e, dbUrl.toString()) ?? `PostgreSQL at ${dbUrl.host}: ${(e as Error).message}`)
  } finally {
    await sql.end({ timeout: 1 }).catch(() => {})
  }
  const redisUrl = urls.redisUrl
  const redis = new Redis(redisUrl, { lazyConnect: true, connectTimeout: 2000, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false })
  redis.on('error', () => {})
  try {
    await redis.connect()
    await redis.ping()
  } catch (e) {
    const code = (e as { code?: string }).code ?? 'ECONNREFUSED'
    problems.push(describeConnectionError({ code }, redisUrl) ?? `Redis at ${redisUrl}: ${(e as Error).message}`)
  } finally {
    redis.disconnect()
  }
  return problems
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const problems = await preflight()
  for (const p of problems) console.error(p)
  process.exit(problems.length ? 1 : 0)
}
