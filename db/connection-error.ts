/** One line for "the service is not there", instead of a stack trace. */
export function describeConnectionError(error: unknown, url: string): string | undefined {
  const code = (error as { code?: string })?.code
  const safeUrl = url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
  if (code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'ETIMEDOUT' || code === 'CONNECT_TIMEOUT' || code === 'EAI_AGAIN') {
    const what = url.startsWith('redis') ? 'Redis' : 'PostgreSQL'
    return `Cannot reach ${what} at ${safeUrl} (${code}). Is it running? See README.md, "Starting PostgreSQL and Redis".`
  }
  return undefined
}
