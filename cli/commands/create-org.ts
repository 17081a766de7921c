import { CommandError, UsageError, defineCommand, requireString } from '../registry.ts'
import { checkRegion } from './_shared.ts'

export default defineCommand({
  name: 'create-org',
  summary: 'create an organization with the default policy in its regions',
  usage: '--slug S --name N [--region us --region eu]',
  description: 'Each region starts as the default policy: optional, all methods allowed, 7 days of grace.',
  options: {
    slug: { type: 'string', placeholder: 'slug', description: 'short name used in URLs: lower-case letters, digits and "-"', required: true },
    name: { type: 'string', placeholder: 'name', description: 'display name', required: true },
    region: { type: 'string', placeholder: 'code', multiple: true, description: 'a region the organization operates in (default: the first configured region)' },
  },
  examples: ['gatehouse create-org --slug initech --name "Initech" --region us --region eu'],
  async run({ values, print }) {
    const slug = requireString(values, 'slug')
    const name = requireString(values, 'name')
    if (!/^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$/.test(slug)) throw new UsageError(`--slug "${slug}" must be lower-case letters, digits and "-" (at most 50)`)
    const { config } = await import('#app/config/env.server.ts')
    const regions = [...new Set((values.region as string[] | undefined)?.flatMap((r) => r.split(',')).map((r) => r.trim()).filter(Boolean) ?? [config.regions[0].code])]
    for (const r of regions) await checkRegion(r)
    const { eq } = await import('drizzle-orm')
    const { db, schema } = await import('#db/client.ts')
    const org = await db.transaction(async (tx) => {
      const [existing] = await tx.select({ id: schema.organizations.id }).from(schema.organizations).where(eq(schema.organizations.slug, slug))
      if (existing) throw new CommandError(`an organization with slug "${slug}" already exists`)
      const [created] = await tx.insert(schema.organizations).values({ slug, name }).returning()
      for (const region of regions) await tx.insert(schema.regionPolicies).values({ organizationId: created.id, region })
      return created
    })
    print({ ok: true, id: org.id, slug, name, regions }, `Created organization ${slug} (${name}) in ${regions.join(', ')}: ${org.id}`)
  },
})
