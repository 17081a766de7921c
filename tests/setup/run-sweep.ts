/** Runs one grace sweep in its own process (the crash test kills it mid-way). Argument: batch size. */
import { sweepGrace } from '#app/policy/grace-sweep.server.ts'
import { closeDb } from '#db/client.ts'
import { closeQueues } from '#app/jobs/queues.server.ts'
import { closeRedisClients } from '#app/infra/redis.server.ts'

const stats = await sweepGrace({ batchSize: Number(process.argv[2] ?? 100) })
console.log(JSON.stringify(stats))
await closeQueues()
await closeRedisClients()
await closeDb()
