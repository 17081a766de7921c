/** /api/me/invitations/:id/decline — see app/api/registry.server.ts. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi('/api/me/invitations/:id/decline', args)
export const action = (args: ActionFunctionArgs) => handleApi('/api/me/invitations/:id/decline', args)
