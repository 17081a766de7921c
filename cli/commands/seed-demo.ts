import { defineCommand } from '../registry.ts'

export default defineCommand({
  name: 'seed-demo',
  summary: 'create (or reset) the demo organizations and accounts',
  description: 'Idempotent: resets the demo accounts\' passwords and memberships, keeps everything else. Run migrate first.',
  options: {},
  async run({ print }) {
    const { seedDemo, DEMO_USERS, DEMO_PASSWORD, DEMO_ORGS } = await import('#db/seed.ts')
    await seedDemo()
    print(
      { ok: true, organizations: DEMO_ORGS.map((o) => o.slug), accounts: DEMO_USERS.map((u) => ({ email: u.email, region: u.region })) },
      [`Demo data ready. Password for every account: ${DEMO_PASSWORD}`, ...DEMO_USERS.map((u) => `  ${u.email} (${u.region})`)],
    )
  },
})
