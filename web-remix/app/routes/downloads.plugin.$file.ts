import type { LoaderFunctionArgs } from '@remix-run/node'
import { servePluginArtifact } from '../downloads/plugin-artifacts.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// GET /downloads/plugin/<file>: one of the plugin's installers, as packaged into PLUGIN_ARTIFACTS_DIR.
export async function loader({ params, context }: LoaderFunctionArgs) {
  return servePluginArtifact(servicesFrom(context), params.file)
}
