import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { toJsonSchema } from './json-schema.server.ts'

describe('zod → JSON Schema', () => {
  it('converts the types the API uses, describing what a client sends', () => {
    const schema = z
      .object({
        id: z.string().uuid(),
        email: z.string().email().max(254),
        at: z.string().datetime({ offset: true }).nullable(),
        count: z.number().int().min(0),
        kind: z.enum(['a', 'b']),
        flag: z.literal(true),
        tags: z.array(z.string()).min(1).max(3),
        note: z.string().optional().describe('free text'),
        page: z.number().int().default(1),
        region: z.string().refine((r) => r.length === 2),
        extra: z.record(z.string(), z.unknown()),
        either: z.union([z.string(), z.boolean()]),
        length: z.string().transform((s) => s.length),
      })
      .strict()
    const out = toJsonSchema(schema) as { properties: Record<string, Record<string, unknown>> } & Record<string, unknown>
    expect(out).not.toHaveProperty('$schema')
    expect(out).toMatchObject({
      type: 'object',
      additionalProperties: false,
      required: ['id', 'email', 'at', 'count', 'kind', 'flag', 'tags', 'region', 'extra', 'either', 'length'],
    })
    expect(out.properties).toMatchObject({
      id: { type: 'string', format: 'uuid' },
      email: { type: 'string', format: 'email', maxLength: 254 },
      at: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'null' }] },
      count: { type: 'integer', minimum: 0 },
      kind: { type: 'string', enum: ['a', 'b'] },
      flag: { const: true },
      tags: { type: 'array', items: { type: 'string' }, minItems: 1, maxItems: 3 },
      note: { type: 'string', description: 'free text' },
      page: { type: 'integer', default: 1 },
      region: { type: 'string' },
      extra: { type: 'object', additionalProperties: {} },
      either: { type: ['string', 'boolean'] },
      // A transform is documented by what it accepts.
      length: { type: 'string' },
    })
  })

  it('refuses what JSON Schema cannot represent rather than document it wrongly', () => {
    expect(() => toJsonSchema(z.object({ at: z.date() }))).toThrow(/cannot be represented/)
    expect(() => toJsonSchema(z.object({ n: z.bigint() }))).toThrow(/cannot be represented/)
  })
})
