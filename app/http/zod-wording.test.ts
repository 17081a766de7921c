import { describe, expect, it } from 'vitest'
import { z } from 'zod'
import { zod3Wording } from './zod-wording.ts'

describe("the API's words for zod's default messages", () => {
  it('reads as before zod 4, and a schema’s own message still wins', () => {
    const schema = z
      .object({
        s: z.string(), mn: z.string().min(3), mx: z.string().max(2), ln: z.string().length(2), e: z.string().email(), u: z.string().uuid(),
        rg: z.string().regex(/^a$/), n: z.number(), i: z.number().int(), nmin: z.number().int().min(1), nmax: z.number().max(3), b: z.boolean(),
        en: z.enum(['a', 'b']), lit: z.literal(true), arr: z.array(z.string()).min(1), arrmax: z.array(z.string()).max(1), dt: z.string().datetime({ offset: true }),
        req: z.string(), own: z.string().min(3, 'Say more.'),
      })
      .strict()
    const result = schema.safeParse(
      { s: 1, mn: 'a', mx: 'abc', ln: 'a', e: 'x', u: 'y', rg: 'b', n: 'x', i: 1.5, nmin: 0, nmax: 9, b: 'x', en: 'c', lit: false, arr: [], arrmax: ['a', 'b'], dt: 'x', own: 'a' },
      { error: zod3Wording },
    )
    expect(Object.fromEntries(result.error!.issues.filter((i) => i.path.length).map((i) => [i.path.join('.'), i.message]))).toEqual({
      s: 'Expected string, received number',
      mn: 'String must contain at least 3 character(s)',
      mx: 'String must contain at most 2 character(s)',
      ln: 'String must contain exactly 2 character(s)',
      e: 'Invalid email',
      u: 'Invalid uuid',
      rg: 'Invalid',
      n: 'Expected number, received string',
      i: 'Expected integer, received float',
      nmin: 'Number must be greater than or equal to 1',
      nmax: 'Number must be less than or equal to 3',
      b: 'Expected boolean, received string',
      en: "Invalid enum value. Expected 'a' | 'b', received 'c'",
      lit: 'Invalid literal value, expected true',
      arr: 'Array must contain at least 1 element(s)',
      arrmax: 'Array must contain at most 1 element(s)',
      dt: 'Invalid datetime',
      req: 'Required',
      own: 'Say more.',
    })
  })
})
