/**
 * The web process (`npm start`): the built Remix app behind Express, and nothing else; the workers
 * are their own program (`npm run workers`), so each scales on its own (decision 067).
 * `npm run demo` starts both.
 */
import { createServer } from 'node:http'
import type { ServerBuild } from '@remix-run/node'
import { loadConfigOrExit } from '#app/config/config-error.ts'

// First the configuration: a bad one ends here with its list of problems, not a stack trace.
const { config } = await loadConfigOrExit()
const { createApp } = await import('#server/create-app.ts')
const { drainServer } = await import('#server/shutdown.ts')
const { logger } = await import('#app/observability/logger.server.ts')
const { closeConnections, onShutdownSignals } = await import('#app/observability/shutdown.server.ts')
const build = (await import(new URL('./build/index.js', import.meta.url).href)) as ServerBuild
const server = createServer(createApp(build))
server.listen(config.port, () => logger.info({ component: 'web', port: config.port, origin: config.appOrigin }, `Gatehouse is listening on ${config.appOrigin}`))

onShutdownSignals('web', async (deadline) => {
  await drainServer(server, deadline)
  await closeConnections()
})
