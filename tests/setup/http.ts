/**
 * A small browser stand-in for integration tests over real HTTP: keeps cookies, sends the
 * Origin header a browser sends, and never follows redirects (tests assert them).
 */
export class TestClient {
  cookies = new Map<string, string>()
  constructor(readonly base: string, readonly headers: Record<string, string> = {}) {}

  async request(path: string, init: RequestInit & { form?: Record<string, string | string[]> } = {}): Promise<Response> {
    const headers = new Headers(init.headers)
    for (const [k, v] of Object.entries(this.headers)) if (!headers.has(k)) headers.set(k, v)
    if (this.cookies.size) headers.set('cookie', [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; '))
    let body = init.body
    if (init.form) {
      const params = new URLSearchParams()
      for (const [k, v] of Object.entries(init.form)) for (const item of [v].flat()) params.append(k, item)
      body = params
    }
    if ((init.method ?? 'GET') !== 'GET' && !headers.has('origin')) headers.set('origin', this.base)
    const res = await fetch(new URL(path, this.base), { ...init, headers, body, redirect: 'manual' })
    for (const line of res.headers.getSetCookie()) {
      const [pair, ...attrs] = line.split(';')
      const i = pair.indexOf('=')
      const name = pair.slice(0, i).trim()
      const value = pair.slice(i + 1).trim()
      const expired = attrs.some((a) => /max-age=0/i.test(a.trim())) || value === ''
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
    return res
  }

  get(path: string, init: RequestInit = {}) {
    return this.request(path, { ...init, method: 'GET' })
  }

  post(path: string, form: Record<string, string | string[]>, init: RequestInit = {}) {
    return this.request(path, { ...init, method: 'POST', form })
  }

  /** Reads a page as text (follows nothing). */
  async text(path: string) {
    const res = await this.get(path)
    return { status: res.status, html: await res.text(), location: res.headers.get('location') }
  }
}

export const DEMO_PASSWORD = 'correct horse battery staple'

export async function signIn(client: TestClient, email: string, region = 'us', password = DEMO_PASSWORD) {
  return client.post('/login', { region, email, password })
}
