import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { listPluginArtifacts } from '../downloads/plugin-artifacts.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'Download the plugin · perminute' }]

// GET /downloads/plugin: the installers this site has, or how to make them (PLUGIN_DOWNLOAD_URL points here unless
// the installers are published elsewhere).
export async function loader({ context }: LoaderFunctionArgs) {
  return { artifacts: await listPluginArtifacts(servicesFrom(context)) }
}

const megabytes = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`

export default function PluginDownloads() {
  const { artifacts } = useLoaderData<typeof loader>()
  return (
    <>
      <h1>Download the perminute plugin</h1>
      {artifacts.length > 0 ? (
        <>
          <p>Choose the installer for your computer.</p>
          <ul data-testid="plugin-artifacts">
            {artifacts.map((a) => (
              <li key={a.name}>
                <a href={`/downloads/plugin/${a.name}`} download>
                  {a.name}
                </a>{' '}
                ({megabytes(a.sizeBytes)})
              </li>
            ))}
          </ul>
        </>
      ) : (
        <div className="warning" data-testid="plugin-not-built">
          <p>No installers have been built on this server yet.</p>
          <p>
            From the source: <code>npm run plugin:build</code> builds the plugin's code into <code>plugin/dist/</code>; then{' '}
            <code>cd plugin && npm install && npm run dist</code> packages the installers into <code>plugin/out/</code>, which this page
            offers. A production site publishes them elsewhere and sets <code>PLUGIN_DOWNLOAD_URL</code> to that address.
          </p>
        </div>
      )}
    </>
  )
}
