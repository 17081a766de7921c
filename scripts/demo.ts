/**
 * `npm run demo`: everything a newcomer needs, in one command. Writes a development .env with
 * fresh secrets if there is none, checks PostgreSQL and Redis, migrates, seeds the demo data,
 * builds, then runs the web server and the workers together until Ctrl-C.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { existsSync, writeFileSync } from 'node:fs'
import { createInterface } from 'node:readline'
import { prettyFactory } from 'pino-pretty'
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

// The web process and the workers, as `npm start` and `npm run workers` run them in production
// (decision 067), each in its own process group: this script alone receives Ctrl-C and passes it
// on once (a second Ctrl-C passes a second signal, which stops them at once). Their JSON log lines
// are printed for people by pino-pretty.
const pretty = prettyFactory({
  colorize: process.stdout.isTTY,
  translateTime: 'SYS:HH:MM:ss',
  singleLine: true,
  ignore: 'pid,hostname,req,res,responseTime,component,clientIp',
  messageFormat: '{if component}[{component}] {end}{if req.method}{req.method} {req.url} {res.statusCode} {responseTime} ms{end}{if msg} {msg}{end}',
})
function start(name: string, file: string): ChildProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', file], { stdio: ['ignore', 'pipe', 'inherit'], env: process.env, detached: true })
  createInterface({ input: child.stdout! }).on('line', (line) => {
    process.stdout.write(line.startsWith('{') ? pretty(line) : `${line}\n`)
  })
  child.on('exit', (code, signal) => {
    if (!stopping) {
      console.error(`The ${name} stopped (${signal ?? `code ${code}`}); stopping the demo.`)
      stop()
    }
    if (children.every((c) => c.exitCode !== null || c.signalCode !== null)) process.exit(0)
  })
  return child
}
let stopping = false
let closeIdp: (() => Promise<void>) | undefined
const children = [start('workers', 'workers/index.ts'), start('web server', 'server.ts')]
const { config } = await import('#app/config/env.server.ts')
const { DEMO_IDP, DEMO_PASSWORD, DEMO_USERS } = await import('#db/seed.ts')
// globex's identity provider (decision 075): a real OpenID provider on a second port, in this process.
const { startOidcProvider } = await import('./oidc-provider.ts')
const demoIdp = await startOidcProvider({
  port: DEMO_IDP.port,
  users: DEMO_IDP.users,
  clients: [{ clientId: DEMO_IDP.clientId, clientSecret: DEMO_IDP.clientSecret, redirectUris: [`${config.appOrigin}/sso/callback`] }],
  title: 'Globex identity provider (demo)',
})
closeIdp = demoIdp.close
setTimeout(() => {
  console.log(`
Gatehouse is running at ${config.appOrigin}  (sign in at ${config.appOrigin}/login)
Mail goes to ${config.smtpUrl ? config.smtpUrl.replace(/\/\/.*@/, '//***@') : `${config.appOrigin}/dev/mailbox`}

Demo accounts (password for all: ${DEMO_PASSWORD}):
${DEMO_USERS.map((u) => `  ${u.email.padEnd(26)} region ${u.region}  ${'org' in u ? `${u.role} of ${u.org}` : ''}${'kind' in u ? ' (service account)' : ''}${'platformRole' in u ? u.platformRole + ' staff' : ''}`).join('\n')}

Globex signs in through its own identity provider at ${demoIdp.issuer} (single sign-on, region EU).
Type a @globex.test address on /login with no password and choose "Continue with Globex SSO":
${DEMO_IDP.users.map((u) => `  ${u.email.padEnd(26)} its token says amr ${JSON.stringify(u.amr)}`).join('\n')}
Globex trusts the provider's MFA in EU: amr "otp" signs in with no Gatehouse second factor; "pwd" alone
is asked Gatehouse's own factor under the same policy as any sign-in. member@globex.test already has an
account, so the first SSO sign-in asks for its password before linking it.

Press Ctrl-C to stop.`)
}, 2500)

function stop() {
  stopping = true
  void closeIdp?.()
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM')
}
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
// Whatever ends this script ends the processes it started.
process.on('exit', () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL')
})
