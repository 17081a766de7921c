/**
 * The shape every `gatehouse` verb has. One file per verb in cli/commands/, default-exporting
 * `defineCommand({...})`; main.ts finds them by listing the folder, so adding a verb (the API
 * client's login, 2fa, keys...) never touches another verb's file.
 *
 * A command file must not import the app's modules at the top: they read the configuration,
 * and `--help` has to work without one. Import them inside `run`.
 */
export type OptionSpec = {
  type: 'string' | 'boolean'
  description: string
  /** Shown in help: --region <code>. */
  placeholder?: string
  short?: string
  multiple?: boolean
  required?: boolean
}

export type Values = Record<string, string | boolean | string[] | undefined>

export type Context = {
  values: Values
  positionals: string[]
  json: boolean
  /** Prints `data` as one JSON document with --json, otherwise the text lines. */
  print: (data: unknown, text: string | string[]) => void
}

export type Command = {
  name: string
  summary: string
  /** Usage line after "gatehouse <name>", e.g. '--region R --email E'. */
  usage?: string
  description?: string
  /** 'operator' verbs talk to the database directly; 'client' verbs talk to a running server's API. */
  group?: 'operator' | 'client'
  options: Record<string, OptionSpec>
  positionals?: { name: string; description: string }[]
  examples?: string[]
  /** Returns the exit code (0 when omitted). */
  run: (ctx: Context) => Promise<number | void>
}

export const defineCommand = (c: Command) => c

/** Exit codes, documented in the README. */
export const EXIT = { ok: 0, failure: 1, usage: 2, notFound: 3, unavailable: 4 } as const

/** Bad or missing arguments: exit 2 with a pointer to --help. */
export class UsageError extends Error {
  readonly exitCode = EXIT.usage
}
/** An account or organization that does not exist: exit 3. */
export class NotFoundError extends Error {
  readonly exitCode = EXIT.notFound
}
/** Anything else the operator must fix (a conflict, a broken chain): exit 1. */
export class CommandError extends Error {
  readonly exitCode = EXIT.failure
}

export function requireString(values: Values, name: string): string {
  const v = values[name]
  if (typeof v !== 'string' || !v.trim()) throw new UsageError(`--${name} is required`)
  return v.trim()
}

export function optionalString(values: Values, name: string): string | undefined {
  const v = values[name]
  return typeof v === 'string' && v.trim() ? v.trim() : undefined
}
