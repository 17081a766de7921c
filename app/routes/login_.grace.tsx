import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireUser } from '#app/auth/guards.server.ts'
import { redirectTo, safeRedirectPath } from '#app/http/request.server.ts'
import { loadGracePrompt } from '#app/sign-in/flow.server.ts'
import { GracePromptView } from '#app/ui/grace-prompt.tsx'
import { pageTitle, rootLanguage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'grace.title') }]
export const handle = { i18n: 'pages' }

// Shown after the password while a Required policy's grace period runs; decided again from the
// database on every visit, so a member who enrolled meanwhile goes straight on.
export async function loader({ request }: LoaderFunctionArgs) {
  const { user } = await requireUser(request)
  const next = safeRedirectPath(new URL(request.url).searchParams.get('redirectTo'))
  const prompt = await loadGracePrompt(user.id)
  if (!prompt) throw redirectTo(next)
  return { prompt, next }
}

export async function action({ request }: ActionFunctionArgs) {
  await requireUser(request)
  const form = await request.formData().catch(() => null)
  throw redirectTo(safeRedirectPath(form?.get('redirectTo')))
}

export default function GracePrompt() {
  const { prompt, next } = useLoaderData<typeof loader>()
  return <GracePromptView {...prompt} setupHref="/settings/security" continueAction="/login/grace" redirectTo={next} />
}
