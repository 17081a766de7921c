/**
 * Runs the real `gatehouse` CLI (cli/bin.js) in a child process, with its own empty config folder,
 * `env` over this process's environment and `stdin` written then closed. Resolves with the exit
 * code and what it printed; a run past 60 s is killed (code 99).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type CliRun = { code: number; stdout: string; stderr: string }

export function runCli(args: string[], env: Record<string, string> = {}, stdin = ''): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['cli/bin.js', ...args], {
      env: { ...process.env, XDG_CONFIG_HOME: mkdtempSync(join(tmpdir(), 'gatehouse-cli-')), ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    const timer = setTimeout(() => child.kill(), 60_000)
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.on('error', reject)
    child.on('close', (code) => {
      clearTimeout(timer)
      resolve({ code: code ?? 99, stdout, stderr })
    })
    child.stdin.end(stdin)
  })
}
