import type { ActionFunctionArgs, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData, useNavigation } from '@remix-run/react'
import { formError } from '#app/http/domain-error.server.ts'
import { badRequest, parseForm } from '#app/http/forms.server.ts'
import { data } from '@remix-run/node'
import { requestMeta } from '#app/http/request.server.ts'
import { beginSignInAfterInvite } from '#app/sign-in/web.server.ts'
import { ACCOUNT_EXISTS } from '#app/orgs/invitation-words.ts'
import { acceptInviteInput, acceptInviteLink, findInvite } from '#app/orgs/invites.server.ts'
import { Field, FormError } from '#app/ui/form.tsx'
import { NewPasswordField } from '#app/ui/password-field.tsx'
import { useTranslation } from 'react-i18next'
import { pageTitle, rootLanguage, translateMessage } from '#app/i18n/i18n.ts'

export const meta: MetaFunction = ({ matches }) => [{ title: pageTitle(rootLanguage(matches), 'invite.title') }]
export const handle = { i18n: 'pages' }

export async function loader({ params }: LoaderFunctionArgs) {
  const found = await findInvite(params.token ?? '')
  if (!found) return { valid: false as const, email: null, organization: null, accountExists: false }
  return { valid: true as const, email: found.invitation.email, organization: found.org.name, accountExists: found.accountExists }
}

export async function action({ request, params, context }: ActionFunctionArgs) {
  const form = await parseForm(request, acceptInviteInput)
  if (!form.ok) return badRequest(form.errors)
  const meta = requestMeta(request, context)
  // Creates the account with this password (never on an existing account: decision 055) and joins.
  let result
  try {
    result = await acceptInviteLink(params.token ?? '', form.data.password, meta)
  } catch (e) {
    return formError(e)
  }
  // Signed in through the same policy decision as the login form: where the policy requires a
  // factor, enrollment (or the grace prompt) comes before anything else. The link proved the mailbox.
  const signedIn = await beginSignInAfterInvite(result.userId, meta)
  if (signedIn.ok) return signedIn.response
  return data({ refused: `Your password is set, but you cannot sign in yet. ${signedIn.message}`, errors: {} }, { status: signedIn.status })
}

export default function AcceptInvite() {
  const data = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
  const busy = useNavigation().state !== 'idle'
  const errors = (result?.errors ?? {}) as Record<string, string>
  const refused = result && 'refused' in result ? result.refused : null
  const { t } = useTranslation()
  if (refused) {
    // The link was just used (the password is set) but the policy refuses sign-in (block).
    return (
      <section className="card narrow">
        <h1>{t('invite.refused')}</h1>
        <FormError message={refused} />
      </section>
    )
  }
  if (!data.valid) {
    return (
      <section className="card narrow">
        <h1>{t('invite.invalidTitle')}</h1>
        <p>{t('invite.invalid')}</p>
      </section>
    )
  }
  if (data.accountExists) {
    return (
      <section className="card narrow">
        <h1>{t('invite.join', { organization: data.organization })}</h1>
        <p>{translateMessage(t, ACCOUNT_EXISTS)}</p>
        <p><a href="/login?redirectTo=%2Fsettings%2Fsecurity">{t('invite.signIn')}</a></p>
      </section>
    )
  }
  return (
    <section className="card narrow">
      <h1>{t('invite.join', { organization: data.organization })}</h1>
      <p className="muted">{t('invite.choose', { email: data.email })}</p>
      <FormError message={errors.form} />
      <Form method="post" noValidate>
        <input type="hidden" name="username" autoComplete="username" value={data.email} />
        <NewPasswordField label={t('invite.password')} error={errors.password} />
        <Field label={t('invite.repeat')} name="confirm" type="password" autoComplete="new-password" error={errors.confirm} required />
        <button type="submit" disabled={busy}>{busy ? t('invite.saving') : t('invite.submit')}</button>
      </Form>
    </section>
  )
}
