/** /api/me/invitations/:id/accept — see app/api/registry.server.ts. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi('/api/me/invitations/:id/accept', args)
export const action = (args: ActionFunctionArgs) => handleApi('/api/me/invitations/:id/accept', args)
