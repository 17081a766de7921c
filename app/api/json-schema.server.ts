/**
 * zod → JSON Schema (draft 2020-12, which OpenAPI 3.1 uses), for the zod types the API uses.
 * Small on purpose (see docs/decisions/041-openapi-from-the-registry.md): an unsupported type
 * throws at start-up in tests rather than documenting something wrong.
 */
import { z } from 'zod'

export type JsonSchema = Record<string, unknown>

export function toJsonSchema(schema: z.ZodTypeAny): JsonSchema {
  const out = convert(schema)
  if (schema.description && !out.description) out.description = schema.description
  return out
}

function convert(schema: z.ZodTypeAny): JsonSchema {
  const def = schema._def as { typeName: z.ZodFirstPartyTypeKind; description?: string }
  const withDescription = (s: JsonSchema) => (def.description ? { ...s, description: def.description } : s)
  switch (def.typeName) {
    case z.ZodFirstPartyTypeKind.ZodObject: {
      const object = schema as z.ZodObject<z.ZodRawShape>
      const properties: Record<string, JsonSchema> = {}
      const required: string[] = []
      for (const [key, value] of Object.entries(object.shape)) {
        properties[key] = toJsonSchema(value as z.ZodTypeAny)
        if (!(value as z.ZodTypeAny).isOptional()) required.push(key)
      }
      const s: JsonSchema = { type: 'object', properties }
      if (required.length) s.required = required
      if (object._def.unknownKeys === 'strict') s.additionalProperties = false
      return withDescription(s)
    }
    case z.ZodFirstPartyTypeKind.ZodString: {
      const s: JsonSchema = { type: 'string' }
      for (const check of (schema as z.ZodString)._def.checks) {
        if (check.kind === 'min') s.minLength = check.value
        else if (check.kind === 'max') s.maxLength = check.value
        else if (check.kind === 'length') s.minLength = s.maxLength = check.value
        else if (check.kind === 'email') s.format = 'email'
        else if (check.kind === 'uuid') s.format = 'uuid'
        else if (check.kind === 'url') s.format = 'uri'
        else if (check.kind === 'datetime') s.format = 'date-time'
        else if (check.kind === 'regex') s.pattern = check.regex.source
      }
      return withDescription(s)
    }
    case z.ZodFirstPartyTypeKind.ZodNumber: {
      const s: JsonSchema = { type: 'number' }
      for (const check of (schema as z.ZodNumber)._def.checks) {
        if (check.kind === 'int') s.type = 'integer'
        else if (check.kind === 'min') s[check.inclusive ? 'minimum' : 'exclusiveMinimum'] = check.value
        else if (check.kind === 'max') s[check.inclusive ? 'maximum' : 'exclusiveMaximum'] = check.value
      }
      return withDescription(s)
    }
    case z.ZodFirstPartyTypeKind.ZodBoolean:
      return withDescription({ type: 'boolean' })
    case z.ZodFirstPartyTypeKind.ZodNull:
      return withDescription({ type: 'null' })
    case z.ZodFirstPartyTypeKind.ZodLiteral:
      return withDescription({ const: (schema as z.ZodLiteral<unknown>)._def.value })
    case z.ZodFirstPartyTypeKind.ZodEnum:
      return withDescription({ type: 'string', enum: [...(schema as z.ZodEnum<[string, ...string[]]>)._def.values] })
    case z.ZodFirstPartyTypeKind.ZodArray: {
      const array = (schema as z.ZodArray<z.ZodTypeAny>)._def
      const s: JsonSchema = { type: 'array', items: toJsonSchema(array.type) }
      if (array.minLength) s.minItems = array.minLength.value
      if (array.maxLength) s.maxItems = array.maxLength.value
      return withDescription(s)
    }
    case z.ZodFirstPartyTypeKind.ZodOptional:
      return withDescription(toJsonSchema((schema as z.ZodOptional<z.ZodTypeAny>)._def.innerType))
    case z.ZodFirstPartyTypeKind.ZodNullable:
      return withDescription({ anyOf: [toJsonSchema((schema as z.ZodNullable<z.ZodTypeAny>)._def.innerType), { type: 'null' }] })
    case z.ZodFirstPartyTypeKind.ZodDefault: {
      const d = (schema as z.ZodDefault<z.ZodTypeAny>)._def
      return withDescription({ ...toJsonSchema(d.innerType), default: d.defaultValue() })
    }
    case z.ZodFirstPartyTypeKind.ZodEffects:
      // refine / transform / preprocess: the input shape is the inner schema's.
      return withDescription(toJsonSchema((schema as z.ZodEffects<z.ZodTypeAny>)._def.schema))
    case z.ZodFirstPartyTypeKind.ZodUnion:
    case z.ZodFirstPartyTypeKind.ZodDiscriminatedUnion: {
      const options = (schema._def as { options: z.ZodTypeAny[] | Map<unknown, z.ZodTypeAny> }).options
      return withDescription({ oneOf: [...options.values()].map(toJsonSchema) })
    }
    case z.ZodFirstPartyTypeKind.ZodRecord:
      return withDescription({ type: 'object', additionalProperties: toJsonSchema((schema as z.ZodRecord)._def.valueType) })
    case z.ZodFirstPartyTypeKind.ZodUnknown:
    case z.ZodFirstPartyTypeKind.ZodAny:
      return withDescription({})
    default:
      throw new Error(`toJsonSchema: zod type ${def.typeName} is not supported; add it to app/api/json-schema.server.ts`)
  }
}
