/**
 * Every change that needs step-up on the web goes through here (decisions 056 and 072).
 * A change carried through step-up (decision 056). When the domain refuses a change with
 * step_up_required, the route sends the admin to /settings/security/confirm with a return address
 * that holds the submitted values (`?resume=` JSON: the form's intent and its plain values, never a
 * secret). Back on the page, the loader re-validates them with the page's own form schema and the
 * page shows the change ready to finish (the policy page reviews it afresh), so the admin does not
 * fill the form again. Finishing is a POST through the same action and the same domain checks:
 * a GET never changes anything.
 */
import type { z } from 'zod'
import { isDomainError } from '#app/errors.ts'
import { redirectTo } from './request.server.ts'

const PARAM = 'resume'

/**
 * Never carried: whatever a form names like a secret is dropped before the values go into the
 * address (a form that needs a password asks for step-up before it is shown, decision 072).
 */
const SECRET_FIELDS = /password|secret|code|token|response|challenge/i

export type Plain = string | number | boolean | Date | null | undefined | readonly (string | number)[]
export type Resumed = { intent: string; values: Record<string, string | string[]> }

function plain(values: Record<string, Plain>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(values)) {
    if (v === null || v === undefined || k === 'intent' || SECRET_FIELDS.test(k)) continue
    out[k] = Array.isArray(v) ? v.map(String) : v instanceof Date ? v.toISOString() : String(v)
  }
  return out
}

/** The step-up page, coming back to `returnTo`: where every web `step_up_required` leads (decision 063). */
export const stepUpLocation = (returnTo: string) => `/settings/security/confirm?redirectTo=${encodeURIComponent(returnTo)}`

/** `path` with the change in its query: where the step-up page sends the admin back. */
export function resumePath(path: string, intent: string, values: Record<string, Plain>): string {
  const [base, query = ''] = path.split('?', 2)
  const params = new URLSearchParams(query)
  params.set(PARAM, JSON.stringify({ intent, values: plain(values) }))
  return `${base}?${params}`
}

/**
 * When `error` is a step_up_required refusal, throws the redirect through the step-up page that
 * comes back to `path` with this change; otherwise returns, and the caller handles the error.
 */
export function stepUpToResume(error: unknown, path: string, intent: string, values: Record<string, Plain>): void {
  if (isDomainError(error) && error.code === 'step_up_required') {
    throw redirectTo(stepUpLocation(resumePath(path, intent, values)))
  }
}

/**
 * The change carried back, when it is still valid under the page's form schema (which includes
 * `intent`); null when there is none or it does not validate. `values` are the plain strings the
 * page posts again to finish.
 */
export function readResumed<S extends z.ZodTypeAny>(request: Request, schema: S): (Resumed & { data: z.infer<S> }) | null {
  const raw = new URL(request.url).searchParams.get(PARAM)
  if (!raw || raw.length > 4000) return null
  let parsed: unknown
  try {
    parsed = JSON.parse(raw)
  } catch {
    return null
  }
  if (!parsed || typeof parsed !== 'object') return null
  const { intent, values } = parsed as { intent?: unknown; values?: unknown }
  if (typeof intent !== 'string' || !values || typeof values !== 'object' || Array.isArray(values)) return null
  const clean: Record<string, string | string[]> = {}
  for (const [k, v] of Object.entries(values)) {
    if (typeof v === 'string' || (Array.isArray(v) && v.every((x) => typeof x === 'string'))) clean[k] = v
  }
  const valid = schema.safeParse({ ...clean, intent })
  return valid.success ? { intent, values: clean, data: valid.data } : null
}
