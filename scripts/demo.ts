/**
 * `npm run demo`: everything a newcomer needs, in one command. Writes a development .env with
 * fresh secrets if there is none, checks PostgreSQL and Redis, migrates, seeds the demo data,
 * builds, then runs the web server and the workers together until Ctrl-C.
 */
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { preflight } from './preflight.ts'

if (!existsSync('.env')) {
  writeFileSync(
    '.env',
    [
      '# Development settings written by `npm run demo`. Never use these secrets in production.',
      '# NODE_ENV=development opens the development mailbox (/dev/mailbox) while no SMTP_URL is set;',
      '# unset, NODE_ENV means production, which needs SMTP_URL (decision 062).',
      'NODE_ENV=development',
      `SESSION_SECRET=${randomBytes(32).toString('base64url')}`,
      `GATEHOUSE_ENCRYPTION_KEYS=k1:${randomBytes(32).toString('base64')}`,
      `GATEHOUSE_HASH_KEYS=h1:${randomBytes(32).toString('base64')}`,
      '# PostgreSQL (decision 058): the app connects as a role that owns nothing; migrations run as the',
      '# owner and create that role. These defaults suit a local PostgreSQL with trust authentication.',
      '# DATABASE_URL=postgres://gatehouse_app@127.0.0.1:5432/gatehouse',
      '# DATABASE_OWNER_URL=postgres://postgres@127.0.0.1:5432/gatehouse',
      '',
    ].join('\n'),
    { mode: 0o600 },
  )
  console.log('Wrote .env with fresh development secrets.')
}
process.loadEnvFile('.env')
// An older .env may not say it: the demo is development (the mailbox needs it said, decision 062).
process.env.NODE_ENV ??= 'development'

const problems = await preflight()
if (problems.length) {
  for (const p of problems) console.error(p)
  process.exit(1)
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', env: process.env })
  if (r.status !== 0) process.exit(r.status ?? 1)
}
run('npx', ['tsx', 'db/seed.ts'])
run('npx', ['remix', 'build'])

const children = [
  spawn('npx', ['tsx', 'workers/index.ts'], { stdio: 'inherit', env: process.env }),
  spawn('npx', ['tsx', 'server.ts'], { stdio: 'inherit', env: process.env }),
]
const { config } = await import('#app/config/env.server.ts')
const { DEMO_PASSWORD, DEMO_USERS } = await import('#db/seed.ts')
setTimeout(() => {
  console.log(`
Gatehouse is running at ${config.appOrigin}  (sign in at ${config.appOrigin}/login)
Mail goes to ${config.smtpUrl ? config.smtpUrl.replace(/\/\/.*@/, '//***@') : `${config.appOrigin}/dev/mailbox`}

Demo accounts (password for all: ${DEMO_PASSWORD}):
${DEMO_USERS.map((u) => `  ${u.email.padEnd(26)} region ${u.region}  ${'org' in u ? `${u.role} of ${u.org}` : ''}${'kind' in u ? ' (service account)' : ''}${'platformRole' in u ? u.platformRole + ' staff' : ''}`).join('\n')}

Press Ctrl-C to stop.`)
}, 2500)

const stop = () => {
  for (const c of children) c.kill('SIGTERM')
  process.exit(0)
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
for (const c of children) c.on('exit', (code) => {
  if (code) {
    console.error(`A Gatehouse process stopped with code ${code}; stopping the demo.`)
    stop()
  }
})
