/**
 * The web sign-in flow after the form is parsed: the password step, then whatever the member
 * owes next. Returns the Response to send (cookie and redirect) or a message for the form.
 */
import type { RequestMeta } from '#app/audit/record.server.ts'
import { redirectTo } from '#app/http/request.server.ts'
import { sessionCookie } from './session.server.ts'
import { checkPassword, completeSignIn } from './sign-in.server.ts'

export type BeginSignIn = { ok: true; response: Response } | { ok: false; message: string; status: number }

export async function beginSignIn(input: { region: string; email: string; password: string; meta: RequestMeta; redirectTo: string }): Promise<BeginSignIn> {
  const check = await checkPassword(input)
  if (!check.ok) return { ok: false, message: check.message, status: check.code === 'invalid_credentials' ? 400 : 429 }
  const { token } = await completeSignIn({ user: check.user, level: 'password', meta: input.meta, method: 'password' })
  return { ok: true, response: redirectTo(input.redirectTo, { 'Set-Cookie': sessionCookie(token) }) }
}
