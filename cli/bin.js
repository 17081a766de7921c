#!/usr/bin/env node
// The `gatehouse` command: runs cli/main.ts under tsx, so `npx gatehouse ...` needs no build step.
import { register } from 'tsx/esm/api'

register()
const { runCli } = await import('./main.ts')
await runCli(process.argv.slice(2))
