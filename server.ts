/** Production-style server: the built Remix app behind Express. `npm run demo` starts it too. */
import { createServer } from 'node:http'
import type { ServerBuild } from '@remix-run/node'
import { loadConfigOrExit } from '#app/config/config-error.ts'

// First the configuration: a bad one ends here with its list of problems, not a stack trace.
const { config } = await loadConfigOrExit()
const { createApp } = await import('#server/create-app.ts')
const build = (await import(new URL('./build/index.js', import.meta.url).href)) as ServerBuild
const server = createServer(createApp(build))
server.listen(config.port, () => console.log(`Gatehouse is listening on ${config.appOrigin}`))

const stop = () => server.close(() => process.exit(0))
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
