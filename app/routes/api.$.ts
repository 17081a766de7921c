/**
 * The whole JSON API: every /api path is matched against the endpoint registry
 * (app/api/registry.server.ts); a path nobody registered answers 404 in the API's error shape
 * (decision 065).
 */
import type { ActionFunctionArgs, LoaderFunctionArgs } from '@remix-run/node'
import { handleApi } from '#app/api/handler.server.ts'

export const loader = (args: LoaderFunctionArgs) => handleApi(args)
export const action = (args: ActionFunctionArgs) => handleApi(args)
