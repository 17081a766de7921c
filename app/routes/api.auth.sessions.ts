/** /api/auth/sessions — see app/api/registry.server.ts. */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi('/api/auth/sessions', args)
export const action = (args: ActionFunctionArgs) => handleApi('/api/auth/sessions', args)
