/**
 * The error a bad configuration stops start-up with, in its own module so that entry points can
 * recognise it even though the module that throws it (env.server.ts) failed to load.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(
      `Gatehouse cannot start: the configuration has ${problems.length} problem${problems.length === 1 ? '' : 's'}:\n` +
        problems.map((p) => `  - ${p}`).join('\n') +
        '\nSet these in the environment or in a .env file at the project root (npm run demo writes one for development).',
    )
    this.name = 'ConfigError'
  }
}

/**
 * For entry points (server.ts, workers/index.ts): loads the configuration, and on a ConfigError
 * prints its message alone (every problem and how to fix it, no stack trace) and exits with 1.
 * Import everything that reads the configuration after this has resolved.
 */
export async function loadConfigOrExit(): Promise<typeof import('./env.server.ts')> {
  try {
    return await import('./env.server.ts')
  } catch (e) {
    if (e instanceof ConfigError) {
      process.stderr.write(`${e.message}\n`)
      process.exit(1)
    }
    throw e
  }
}
