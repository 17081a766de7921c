/** Every /api path that no endpoint claims: 404 in the API's error shape, for any method. */
import { apiNotFound } from '#app/api/handler.server.ts'

export const loader = () => apiNotFound()
export const action = () => apiNotFound()
