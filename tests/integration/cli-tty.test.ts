/**
 * `gatehouse login` on a real terminal: the CLI runs under a pseudo-terminal (util-linux `script`),
 * so standard input is a TTY and the hidden prompt is the one used. The password and the code are
 * typed only once their prompt shows (as a person would); neither appears in what the terminal shows.
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { beforeAll, expect, it, vi } from 'vitest'
import { enableTotp, totpCode } from '#tests/factories/mfa.ts'
import { createUser, PASSWORD } from '#tests/factories/users.ts'
import { startTestApp } from '#tests/setup/app.ts'

vi.setConfig({ testTimeout: 90_000 })

let base: string
beforeAll(async () => {
  base = (await startTestApp({ workers: false })).url
})

/** Runs the CLI under `script`, answering each prompt when it appears; resolves with the terminal's output. */
function onTerminal(args: string[], home: string, answers: { after: RegExp; type: () => Promise<string> }[]) {
  return new Promise<{ code: number; screen: string }>((resolve, reject) => {
    const command = ['node', 'cli/bin.js', ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ')
    const child = spawn('script', ['-qfec', command, '/dev/null'], {
      env: { ...process.env, XDG_CONFIG_HOME: home, GATEHOUSE_URL: base, GATEHOUSE_TOKEN: '', TERM: 'dumb' },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let screen = ''
    let answered = 0
    const timer = setTimeout(() => child.kill(), 60_000)
    const onOutput = async (chunk: Buffer) => {
      screen += chunk.toString()
      const next = answers[answered]
      if (next && next.after.test(screen.slice(screen.lastIndexOf('\n') + 1))) {
        answered++
        child.stdin.write((await next.type()) + '\r')
      }
    }
    child.stdout.on('data', onOutput)
    child.stderr.on('data', onOutput)
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? -1, screen })
    })
  })
}

it('hides the password and the code as they are typed, and signs in', async () => {
  const user = await createUser()
  const { secret } = await enableTotp(user.id)
  const home = mkdtempSync(join(tmpdir(), 'gh-tty-'))
  let code = ''
  const run = await onTerminal(['login', '--url', base, '--region', 'us', '--email', user.email], home, [
    { after: /Password: $/, type: async () => PASSWORD },
    { after: /code[^:]*: $/i, type: async () => (code = await totpCode(secret)) },
  ])
  expect(run.code, run.screen).toBe(0)
  expect(run.screen).toContain('Password:')
  expect(run.screen).not.toContain(PASSWORD)
  expect(code).toMatch(/^\d{6}$/)
  expect(run.screen).not.toContain(code)
  expect(run.screen).toMatch(/Signed in/i)
  expect(JSON.parse(readFileSync(join(home, 'gatehouse', 'credentials.json'), 'utf8'))).toBeTruthy()
})
