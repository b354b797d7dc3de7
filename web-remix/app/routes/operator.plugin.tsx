import type { LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { useLoaderData } from '@remix-run/react'
import { requireRole } from '../auth/session.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'The plugin · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const { db, config } = servicesFrom(context)
  const [account, tokens] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: user.id }, select: { callingProvider: true, callingHandle: true } }),
    db.pluginToken.count({ where: { userId: user.id, revokedAt: null } }),
  ])
  return { platformUrl: config.PUBLIC_URL, downloadUrl: config.PLUGIN_DOWNLOAD_URL, email: user.email, linked: account.callingHandle ? `${account.callingProvider}: ${account.callingHandle}` : null, signedInPlugins: tokens }
}

export default function PluginPage() {
  const { platformUrl, downloadUrl, email, linked, signedInPlugins } = useLoaderData<typeof loader>()
  return (
    <>
      <OperatorNav />
      <h1>The perminute plugin</h1>
      <p>
        The plugin is a small desktop companion: it puts you online in the listing, shows who is calling, and tells the platform when a
        call starts and ends so that you are paid for every minute.
      </p>
      <h2>1. Download</h2>
      <p>
        <a className="button" href={downloadUrl}>
          Download the plugin
        </a>
      </p>
      <p>Installers for Windows, macOS and Linux. Or build it yourself from the <code>plugin/</code> folder of the source.</p>
      <h2>2. Sign in and link your calling account</h2>
      <ol>
        <li>
          Start the plugin and enter the platform address <code className="wrap">{platformUrl}</code>.
        </li>
        <li>
          Sign in with <strong>{email}</strong> and your password.
        </li>
        <li>Choose the calling service you take calls on and enter your handle there: members' calls to that handle are then billed to you.</li>
      </ol>
      <dl className="facts">
        <dt>Calling account</dt>
        <dd>{linked ?? 'not linked yet'}</dd>
        <dt>Plugins signed in</dt>
        <dd>{signedInPlugins}</dd>
      </dl>
    </>
  )
}
