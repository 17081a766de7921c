/** /api/organizations/:orgId/invitations — see app/api/registry.server.ts. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi('/api/organizations/:orgId/invitations', args)
export const action = (args: ActionFunctionArgs) => handleApi('/api/organizations/:orgId/invitations', args)
