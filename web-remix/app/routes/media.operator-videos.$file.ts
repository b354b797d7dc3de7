import type { LoaderFunctionArgs } from '@remix-run/node'
import { serveProfileVideo } from '../plugin-api/profile-video.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /media/operator-videos/<file>: an operator's video preview, as uploaded from the plugin.
export async function loader({ params, context }: LoaderFunctionArgs) {
  return serveProfileVideo(servicesFrom(context), params.file)
}
