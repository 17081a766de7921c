import type { ActionFunctionArgs } from '@remix-run/node'
import { z } from 'zod'
import { rememberLanguage } from '#app/i18n/language.server.ts'
import { LANGUAGES } from '#app/i18n/languages.ts'
import { parseForm } from '#app/http/forms.server.ts'
import { redirectTo, safeRedirectPath } from '#app/http/request.server.ts'

// The language switch on the member pages (decision 079): anyone may choose, signed in or not.
const schema = z.object({ language: z.enum(LANGUAGES, 'Choose a language'), redirectTo: z.string().optional() })

export async function loader() {
  throw redirectTo('/')
}

export async function action({ request }: ActionFunctionArgs) {
  const form = await parseForm(request, schema)
  if (!form.ok) return new Response(form.errors.language ?? 'Choose a language', { status: 400 })
  throw redirectTo(safeRedirectPath(form.data.redirectTo), { 'Set-Cookie': rememberLanguage(form.data.language) })
}
