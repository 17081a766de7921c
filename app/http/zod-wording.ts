/**
 * The words zod used for its default messages before zod 4 ("Required", "Expected string, received
 * number", "String must contain at least 3 character(s)"), so form errors and the API's `fields`
 * read as they did (decision 065). A per-parse error map: only for issues whose schema has no
 * message of its own, which win over it.
 */
import type { z } from 'zod'

type Issue = Parameters<z.core.$ZodErrorMap>[0]

const receivedType = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v === 'number' && Number.isNaN(v) ? 'nan' : typeof v)
const quoted = (v: unknown) => (typeof v === 'string' ? `'${v}'` : String(v))
const NOUNS: Record<string, [string, string]> = { string: ['String', 'character(s)'], array: ['Array', 'element(s)'], set: ['Set', 'element(s)'] }
const FORMATS: Record<string, string> = { email: 'Invalid email', uuid: 'Invalid uuid', guid: 'Invalid uuid', regex: 'Invalid', datetime: 'Invalid datetime', url: 'Invalid url' }

export function zod3Wording(issue: Issue): string | undefined {
  switch (issue.code) {
    case 'invalid_type':
      if (issue.input === undefined) return 'Required'
      if (issue.expected === 'int') return 'Expected integer, received float'
      return `Expected ${issue.expected}, received ${receivedType(issue.input)}`
    case 'invalid_value':
      if ((issue.inst?._zod.def as { type?: string } | undefined)?.type === 'literal') return `Invalid literal value, expected ${JSON.stringify(issue.values[0])}`
      return `Invalid enum value. Expected ${issue.values.map(quoted).join(' | ')}, received ${quoted(issue.input)}`
    case 'too_small':
    case 'too_big': {
      const small = issue.code === 'too_small'
      const limit = small ? (issue as { minimum: unknown }).minimum : (issue as { maximum: unknown }).maximum
      const noun = NOUNS[issue.origin]
      if (noun) return `${noun[0]} must contain ${issue.exact ? 'exactly' : small ? 'at least' : 'at most'} ${limit} ${noun[1]}`
      if (issue.origin === 'number') return `Number must be ${small ? 'greater' : 'less'} than ${issue.inclusive ? 'or equal to ' : ''}${limit}`
      return undefined
    }
    case 'invalid_format':
      return FORMATS[issue.format] ?? `Invalid ${issue.format}`
    default:
      return undefined
  }
}
