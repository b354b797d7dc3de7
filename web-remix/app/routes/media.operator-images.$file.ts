import type { LoaderFunctionArgs } from '@remix-run/node'
import { serveProfileImage } from '../backoffice/profile-images.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /media/operator-images/<file>: a photo on an operator's profile, as uploaded from the portal.
export async function loader({ params, context }: LoaderFunctionArgs) {
  return serveProfileImage(servicesFrom(context), params.file)
}
