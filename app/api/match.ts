/**
 * Matches a request path against the registry's Express-style paths (`/api/me/invitations/:id/accept`),
 * the way Remix matched the per-path route files this replaces (decision 065): literal segments
 * ignore case, one trailing slash is allowed, parameters are decoded, and a path with fewer
 * parameters wins over one with more (`/api/x/list` before `/api/x/:id`).
 */
export type Routable = { path: string; method: string }

export type Match<E extends Routable> = {
  /** The registry path that matched (every candidate has it). */
  path: string
  /** The endpoints on that path, one per method. */
  candidates: E[]
  params: Record<string, string>
}

const compiled = new WeakMap<readonly Routable[], { path: string; names: string[]; pattern: RegExp }[]>()

function compile(endpoints: readonly Routable[]) {
  let list = compiled.get(endpoints)
  if (!list) {
    const paths = [...new Set(endpoints.map((e) => e.path))]
    list = paths
      .map((path) => {
        const names: string[] = []
        const source = path
          .split('/')
          .map((segment) => {
            if (!segment.startsWith(':')) return segment.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
            names.push(segment.slice(1))
            return '([^/]+)'
          })
          .join('/')
        return { path, names, pattern: new RegExp(`^${source}/?$`, 'i') }
      })
      .sort((a, b) => a.names.length - b.names.length)
    compiled.set(endpoints, list)
  }
  return list
}

export function matchEndpoints<E extends Routable>(endpoints: readonly E[], pathname: string): Match<E> | null {
  for (const { path, names, pattern } of compile(endpoints)) {
    const m = pattern.exec(pathname)
    if (!m) continue
    const params: Record<string, string> = {}
    try {
      names.forEach((name, i) => (params[name] = decodeURIComponent(m[i + 1])))
    } catch {
      return null
    }
    return { path, candidates: endpoints.filter((e) => e.path === path), params }
  }
  return null
}
