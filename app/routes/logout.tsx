import type { ActionFunctionArgs } from '@remix-run/node'
import { clearSessionCookie, readSessionToken, signOut } from '#app/auth/session.server.ts'
import { redirectTo, requestMeta } from '#app/http/request.server.ts'

export async function loader() {
  return redirectTo('/')
}

export async function action({ request, context }: ActionFunctionArgs) {
  await signOut(readSessionToken(request), requestMeta(request, context))
  return redirectTo('/login?notice=signed-out', { 'Set-Cookie': clearSessionCookie() })
}
