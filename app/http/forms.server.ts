/** Form parsing with zod: field-by-field errors, status 400, secret fields never echoed. */
import { data } from '@remix-run/node'
import type { z } from 'zod'
import { zod3Wording } from './zod-wording.ts'

export type FieldErrors = Record<string, string>

export async function parseForm<S extends z.ZodTypeAny>(request: Request, schema: S) {
  let form: FormData
  try {
    form = await request.formData()
  } catch {
    return { ok: false as const, errors: { form: 'The form could not be read. Reload the page and try again.' } as FieldErrors }
  }
  const raw: Record<string, unknown> = {}
  for (const [key, value] of form.entries()) {
    if (typeof value !== 'string') continue
    raw[key] = key in raw ? ([] as unknown[]).concat(raw[key], value) : value
  }
  const parsed = schema.safeParse(raw, { error: zod3Wording })
  if (parsed.success) return { ok: true as const, data: parsed.data as z.infer<S> }
  const errors: FieldErrors = {}
  for (const issue of parsed.error.issues) {
    const key = String(issue.path[0] ?? 'form')
    errors[key] ??= issue.message
  }
  return { ok: false as const, errors }
}

/** A JSON body for a 400 with field errors; `keep` lists the non-secret fields to echo back. */
export function badRequest(errors: FieldErrors, values: Record<string, unknown> = {}, status = 400) {
  return data({ errors, values }, { status })
}

/**
 * Search parameters for a list page (filters, sort, page): a value that does not parse is dropped
 * and its default used, the others kept, so one bad link never empties or widens the whole view.
 */
export function parseSearchParams<S extends z.ZodObject>(url: URL, schema: S): z.infer<S> {
  const raw = Object.fromEntries(url.searchParams)
  const parsed = schema.safeParse(raw)
  if (parsed.success) return parsed.data
  const clean: Record<string, string> = {}
  for (const [k, v] of Object.entries(raw)) if (schema.shape[k]?.safeParse(v).success) clean[k] = v
  return schema.parse(clean)
}
