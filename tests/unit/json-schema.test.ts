import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { toJsonSchema } from '#app/api/json-schema.server.ts'

describe('zod → JSON Schema', () => {
  it('converts the types the API uses', () => {
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
        extra: z.record(z.unknown()),
        either: z.union([z.string(), z.boolean()]),
      })
      .strict()
    expect(toJsonSchema(schema)).toEqual({
      type: 'object',
      additionalProperties: false,
      required: ['id', 'email', 'at', 'count', 'kind', 'flag', 'tags', 'region', 'extra', 'either'],
      properties: {
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
        either: { oneOf: [{ type: 'string' }, { type: 'boolean' }] },
      },
    })
  })

  it('refuses a type it does not know rather than document it wrongly', () => {
    expect(() => toJsonSchema(z.object({ t: z.tuple([z.string()]) }))).toThrow(/not supported/)
  })
})
