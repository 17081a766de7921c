/** /api/organizations/:orgId/invitations/:invitationId — see app/api/registry.server.ts. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi('/api/organizations/:orgId/invitations/:invitationId', args)
export const action = (args: ActionFunctionArgs) => handleApi('/api/organizations/:orgId/invitations/:invitationId', args)
