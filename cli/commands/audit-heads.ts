import { defineCommand } from '../registry.ts'

export default defineCommand({
  name: 'audit-heads',
  summary: 'print every audit chain\'s head (newest seq and hash), to keep outside the database',
  description: [
    'Prints a JSON list of {chain, seq, hash}. Keep it where the database cannot reach (a ticket, a',
    'write-once bucket), for example daily; `gatehouse verify-audit --heads FILE` then checks that',
    'every event it names is still in its chain, unchanged: a chain rewritten together with its head',
    'in the database (by someone who can disable the triggers) is caught that way.',
  ].join('\n'),
  options: {},
  examples: ['gatehouse audit-heads > audit-heads-$(date +%F).json'],
  async run({ print }) {
    const { readChainHeads } = await import('#app/audit/verify.server.ts')
    const heads = await readChainHeads()
    print(heads, JSON.stringify(heads, null, 2))
  },
})
