/**
 * Checks made in Express before Remix sees an /api request, for the two cases Remix would answer
 * outside our error shape: a path that cannot be decoded (Express answers an HTML 400), and
 * Remix's single-fetch data URLs (`/api/me.data`), which would run the matched route loaders and
 * answer in Remix's own encoding instead of JSON.
 */
export function apiEdgeRefusal(rawPath: string): { status: number; body: { error: { code: string; message: string } } } | null {
  if (rawPath !== '/api' && !rawPath.startsWith('/api/')) return null
  try {
    decodeURIComponent(rawPath)
  } catch {
    return { status: 400, body: { error: { code: 'invalid_request', message: 'The request path is not valid URL encoding.' } } }
  }
  if (rawPath.endsWith('.data')) {
    return { status: 404, body: { error: { code: 'not_found', message: 'There is no such API endpoint. The list is at /api/openapi.json.' } } }
  }
  return null
}
