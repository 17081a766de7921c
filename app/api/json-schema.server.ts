/**
 * zod → JSON Schema (draft 2020-12, which OpenAPI 3.1 uses) by zod's own `z.toJSONSchema`
 * (decision 065, replacing the hand-written converter of 041). Anything it cannot represent
 * (a date, a bigint, a transform's output...) throws, so a new endpoint using one fails the
 * OpenAPI test instead of being documented wrongly.
 */
import { z } from 'zod'

export type JsonSchema = Record<string, unknown>

/**
 * The schema of what a client sends or receives: the input side of transforms and pipes (the API
 * answers what handlers return, before any response transform), defaults not required.
 */
export function toJsonSchema(schema: z.ZodType): JsonSchema {
  const { $schema: _dialect, ...out } = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'throw', target: 'draft-2020-12' }) as JsonSchema
  return out
}
