import { redirectTo } from '#app/http/request.server.ts'

// Browsers ask for /favicon.ico whatever the page says; point them at the SVG.
export function loader() {
  return redirectTo('/favicon.svg')
}
