/**
 * The real server for a test file: the built Remix app (run `npm run build` first; `npm test`
 * does) behind the same Express app as production, on this file's port, plus the real workers
 * sending to this file's SMTP listener.
 */
import { createServer, type Server } from 'node:http'
import { pathToFileURL } from 'node:url'
import type { ServerBuild } from '@remix-run/node'
import type { TestSmtp } from './smtp.ts'

let server: Server | undefined
let workers: { close: () => Promise<void> } | undefined

export async function startTestApp(options: { workers?: boolean } = {}) {
  const { config } = await import('#app/config/env.server.ts')
  if (!server) {
    const build = (await import(pathToFileURL(`${process.cwd()}/build/index.js`).href)) as ServerBuild
    const { createApp } = await import('#server/create-app.ts')
    server = createServer(createApp(build))
    await new Promise<void>((resolve) => server!.listen(config.port, 'localhost', resolve))
  }
  if (options.workers !== false && !workers) {
    const { startWorkers } = await import('#workers/start.ts')
    workers = await startWorkers()
  }
  return { url: config.appOrigin, smtp: testSmtp() }
}

export async function stopTestApp() {
  await workers?.close()
  workers = undefined
  if (server) {
    server.closeAllConnections()
    await new Promise<void>((resolve) => server!.close(() => resolve()))
    server = undefined
  }
}

export function testSmtp(): TestSmtp {
  return (globalThis as { __testSmtp?: TestSmtp }).__testSmtp!
}
