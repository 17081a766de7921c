/**
 * `gatehouse <verb> [options]`: the operator CLI. Verbs live in cli/commands/ (one file each);
 * this file parses arguments with node:util parseArgs, prints help, and turns failures into one
 * clear line and an exit code (see EXIT in registry.ts).
 */
import { readdirSync } from 'node:fs'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { parseArgs } from 'node:util'
import { isDomainError } from '#app/errors.ts'
import { exitCodeOf } from './exit-codes.ts'
import { EXIT, type Command, type Context, type OptionSpec } from './registry.ts'

const COMMANDS_DIR = fileURLToPath(new URL('./commands/', import.meta.url))
const COMMON: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'print the result as JSON (for scripts)' },
  help: { type: 'boolean', short: 'h', description: 'show this help' },
}

async function loadCommands(): Promise<Map<string, Command>> {
  const commands = new Map<string, Command>()
  const files = readdirSync(COMMANDS_DIR).filter((f) => /\.ts$/.test(f) && !f.endsWith('.test.ts') && !f.startsWith('_')).sort()
  for (const file of files) {
    const mod = (await import(pathToFileURL(COMMANDS_DIR + file).href)) as { default?: Command }
    if (mod.default?.name) commands.set(mod.default.name, mod.default)
  }
  return commands
}

function generalHelp(commands: Map<string, Command>): string {
  const width = Math.max(...[...commands.keys()].map((n) => n.length)) + 2
  const section = (group: Command['group'], title: string) => {
    const list = [...commands.values()].filter((c) => (c.group ?? 'operator') === group)
    return list.length ? [`${title}:`, ...list.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), ''] : []
  }
  return [
    'gatehouse — operate a Gatehouse installation',
    '',
    'Usage: gatehouse <command> [options]      (npx gatehouse ... or npm run cli -- ...)',
    '',
    ...section('operator', 'Operator commands (talk to the database named by DATABASE_URL)'),
    ...section('client', 'API client commands'),
    'Every command takes --help and --json.',
    `Exit codes: ${EXIT.ok} ok, ${EXIT.failure} failed, ${EXIT.usage} bad arguments, ${EXIT.notFound} not found, ${EXIT.unavailable} database, Redis or the server unreachable.`,
  ].join('\n')
}

function commandHelp(c: Command): string {
  const options = { ...c.options, ...COMMON }
  const flag = (name: string, o: OptionSpec) => `${o.short ? `-${o.short}, ` : ''}--${name}${o.type === 'string' ? ` <${o.placeholder ?? 'value'}>` : ''}`
  const width = Math.max(...Object.entries(options).map(([n, o]) => flag(n, o).length)) + 2
  return [
    `gatehouse ${c.name} — ${c.summary}`,
    '',
    `Usage: gatehouse ${c.name}${c.usage ? ` ${c.usage}` : ''} [--json]`,
    ...(c.description ? ['', c.description] : []),
    '',
    'Options:',
    ...Object.entries(options).map(([n, o]) => `  ${flag(n, o).padEnd(width)}${o.description}${o.required ? ' (required)' : ''}${o.multiple ? ' (repeatable)' : ''}`),
    ...(c.examples?.length ? ['', 'Examples:', ...c.examples.map((e) => `  ${e}`)] : []),
  ].join('\n')
}

/** Walks an error's causes for a connection failure and describes it in one line. */
async function describeUnavailable(error: unknown): Promise<string | undefined> {
  const { describeConnectionError } = await import('#db/connection-error.ts')
  let url: string | undefined
  let redisUrl: string | undefined
  try {
    const { config } = await import('#app/config/env.server.ts')
    url = config.databaseUrl
    redisUrl = config.redisUrl
  } catch {
    return undefined
  }
  for (let e: unknown = error, depth = 0; e && depth < 6; e = (e as { cause?: unknown }).cause, depth++) {
    const isRedis = /redis/i.test(String((e as Error).message ?? '')) || (e as { name?: string }).name === 'MailUnavailableError'
    const line = describeConnectionError(e, isRedis ? redisUrl! : url!)
    if (line) return line
    const errors = (e as { errors?: unknown[] }).errors
    if (Array.isArray(errors)) for (const inner of errors) {
      const l = describeConnectionError(inner, url!)
      if (l) return l
    }
  }
  return undefined
}

async function cleanup() {
  // Close whatever the command opened, so the process ends on its own.
  const closers: Promise<unknown>[] = []
  const g = globalThis as { __gatehouseDb?: unknown; __gatehouseQueues?: Map<string, unknown> }
  if (g.__gatehouseQueues?.size) closers.push(import('#app/jobs/queues.server.ts').then((m) => m.closeQueues()))
  if (g.__gatehouseDb) closers.push(import('#db/client.ts').then((m) => m.closeDb()))
  await Promise.allSettled(closers)
  await import('#app/infra/redis.server.ts').then((m) => m.closeRedisClients?.()).catch(() => {})
}

function fail(message: string, code: number, json: boolean, hint?: string) {
  if (json) process.stderr.write(JSON.stringify({ ok: false, error: message, exitCode: code }) + '\n')
  else process.stderr.write(`gatehouse: ${message}${hint ? `\n${hint}` : ''}\n`)
  return code
}

/**
 * A verb may be several words ("2fa setup", "org security get"): the longest run of leading
 * words that names a command wins. Returns the command and how many words it took.
 */
function findCommand(commands: Map<string, Command>, argv: string[]): { command: Command; words: number } | undefined {
  for (let words = Math.min(3, argv.length); words >= 1; words--) {
    const command = commands.get(argv.slice(0, words).join(' '))
    if (command) return { command, words }
  }
  return undefined
}

/** "gatehouse 2fa": the verbs under that first word. */
function groupHelp(commands: Map<string, Command>, prefix: string): string | undefined {
  const list = [...commands.values()].filter((c) => c.name.startsWith(`${prefix} `))
  if (!list.length) return undefined
  const width = Math.max(...list.map((c) => c.name.length)) + 2
  return [`gatehouse ${prefix} — commands:`, '', ...list.map((c) => `  ${c.name.padEnd(width)}${c.summary}`), '', `Run "gatehouse ${list[0].name} --help" for one command's options.`].join('\n')
}

export async function main(argv: string[]): Promise<number> {
  const commands = await loadCommands()
  const [first, ...others] = argv
  const wantsJson = argv.includes('--json')
  if (!first || first === '--help' || first === '-h' || first === 'help') {
    const target = first === 'help' ? findCommand(commands, others)?.command : undefined
    const group = first === 'help' && !target && others[0] ? groupHelp(commands, others.filter((w) => !w.startsWith('-')).join(' ')) : undefined
    process.stdout.write((target ? commandHelp(target) : (group ?? generalHelp(commands))) + '\n')
    return EXIT.ok
  }
  const found = findCommand(commands, argv)
  if (!found) {
    const words = argv.filter((w) => !w.startsWith('-'))
    const group = groupHelp(commands, words.slice(0, 2).join(' ')) ?? groupHelp(commands, first)
    if (group) {
      const asked = argv.includes('--help') || argv.includes('-h')
      if (asked) {
        process.stdout.write(group + '\n')
        return EXIT.ok
      }
      process.stderr.write(`gatehouse: "${words.join(' ')}" is not a command.\n${group}\n`)
      return EXIT.usage
    }
    return fail(`unknown command "${first}"`, EXIT.usage, wantsJson, 'Run "gatehouse --help" for the list of commands.')
  }
  const { command } = found
  const verb = command.name
  const rest = argv.slice(found.words)
  let values: Context['values']
  let positionals: string[]
  try {
    const options = Object.fromEntries(Object.entries({ ...command.options, ...COMMON }).map(([n, o]) => [n, { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) }]))
    const parsed = parseArgs({
      args: valuesStartingWithDash(rest, options),
      options,
      allowPositionals: Boolean(command.positionals?.length),
      strict: true,
    })
    values = parsed.values as Context['values']
    positionals = parsed.positionals
  } catch (e) {
    const message = (e as Error).message.replace(/\. To specify a positional argument.*$/s, '')
    return fail(message, EXIT.usage, wantsJson, `Run "gatehouse ${verb} --help".`)
  }
  if (values.help) {
    process.stdout.write(commandHelp(command) + '\n')
    return EXIT.ok
  }
  const json = Boolean(values.json)
  const missing = Object.entries(command.options).filter(([n, o]) => o.required && (values[n] === undefined || values[n] === ''))
  if (missing.length) return fail(`${missing.map(([n]) => `--${n}`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} required`, EXIT.usage, json, `Run "gatehouse ${verb} --help".`)
  const ctx: Context = {
    values,
    positionals,
    json,
    print: (data, text) => process.stdout.write((json ? JSON.stringify(data, null, 2) : [text].flat().join('\n')) + '\n'),
  }
  try {
    return (await command.run(ctx)) ?? EXIT.ok
  } catch (e) {
    const exitCode = (e as { exitCode?: number }).exitCode
    if (typeof exitCode === 'number') return fail((e as Error).message, exitCode, json, exitCode === EXIT.usage ? `Run "gatehouse ${verb} --help".` : undefined)
    if (isDomainError(e)) return fail(e.message, exitCodeOf(e.code), json)
    if ((e as Error)?.name === 'ConfigError') return fail((e as Error).message, EXIT.failure, json)
    const unavailable = await describeUnavailable(e)
    if (unavailable) return fail(unavailable, EXIT.unavailable, json)
    return fail(`${verb} failed: ${(e as Error)?.message ?? String(e)}`, EXIT.failure, json)
  }
}

/** Runs a command line to completion and exits the process with its code. */
export async function runCli(argv: string[]): Promise<never> {
  let code: number
  try {
    code = await main(argv)
  } catch (e) {
    code = fail((e as Error)?.message ?? String(e), EXIT.failure, argv.includes('--json'))
  }
  // Bounded: a client stuck reconnecting (Redis down) must not keep the process alive.
  await Promise.race([cleanup().catch(() => {}), new Promise((resolve) => setTimeout(resolve, 2000).unref())])
  await new Promise<void>((resolve) => process.stdout.write('', () => resolve()))
  process.exit(code)
}

// `tsx cli/main.ts ...` (npm run cli); cli/bin.js calls runCli itself.
if (process.argv[1] && /cli[\\/]main\.ts$/.test(process.argv[1])) await runCli(process.argv.slice(2))

/**
 * `--challenge -Xy…`: a token may start with a dash (base64url), which parseArgs takes for an
 * option and refuses as ambiguous. A value given to a string option that is not itself one of the
 * command's options is joined to it (`--challenge=-Xy…`), as a person typing it means.
 */
export function valuesStartingWithDash(args: string[], options: Record<string, { type: 'string' | 'boolean'; short?: string }>): string[] {
  const known = new Set(Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]))
  const out: string[] = []
  for (let i = 0; i < args.length; i++) {
    const name = args[i].startsWith('--') ? args[i].slice(2) : null
    const next = args[i + 1]
    if (name && options[name]?.type === 'string' && next?.startsWith('-') && next !== '--' && !known.has(next.split('=')[0])) {
      out.push(`--${name}=${next}`)
      i++
    } else out.push(args[i])
  }
  return out
}
