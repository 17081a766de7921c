/**
 * The Content-Security-Policy nonce of the page being rendered (decision 059). entry.server.tsx
 * provides it from the request; root.tsx hands it to <Scripts> and <ScrollRestoration>. It never
 * travels in loader data, so no data response or cache holds it. In the browser it is empty:
 * browsers hide a nonce from the DOM once the page has loaded, and no new inline script is made.
 */
import { createContext, useContext } from 'react'

const NonceContext = createContext('')

export const NonceProvider = NonceContext.Provider

export function useNonce(): string {
  return useContext(NonceContext)
}
