import { apiError } from '../plugin-api/errors.server.js'

// Anything else under the plugin API is a JSON 404, not the storefront's HTML page.
const notFound = async () => apiError(404, 'not_found', 'no such endpoint in the plugin API (see docs/api.md)')

export const loader = notFound
export const action = notFound
