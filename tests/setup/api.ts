/** A JSON API client for tests: real fetch, bearer tokens, no cookies unless a test adds them. */
export type ApiAnswer = { status: number; body: any; headers: Headers }

export async function apiCall(
  base: string,
  path: string,
  init: { method?: string; token?: string; json?: unknown; body?: BodyInit; headers?: Record<string, string> } = {},
): Promise<ApiAnswer> {
  const headers = new Headers(init.headers)
  if (init.token) headers.set('authorization', `Bearer ${init.token}`)
  let body = init.body
  if (init.json !== undefined) {
    body = JSON.stringify(init.json)
    if (!headers.has('content-type')) headers.set('content-type', 'application/json')
  }
  const res = await fetch(new URL(path, base), { method: init.method ?? (body ? 'POST' : 'GET'), headers, body, redirect: 'manual' })
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = JSON.parse(text)
  } catch {
    // not JSON: the test will show the text
  }
  return { status: res.status, body: parsed, headers: res.headers }
}

/** Signs in over the API and returns the bearer token. */
export async function apiSignIn(base: string, email: string, region = 'us', password = 'correct horse battery staple') {
  const res = await apiCall(base, '/api/auth/signin', { json: { email, password, region } })
  if (res.status !== 200) throw new Error(`API sign-in of ${email} failed: ${res.status} ${JSON.stringify(res.body)}`)
  return res.body.data.token as string
}

/** `/api/organizations/:orgId/x` with the parameters filled in. */
export function fillPath(path: string, params: Record<string, string>) {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    if (!(name in params)) throw new Error(`no value for :${name} in ${path}`)
    return encodeURIComponent(params[name])
  })
}
