import { data, type ActionFunctionArgs, type LoaderFunctionArgs, type MetaFunction } from '@remix-run/node'
import { Form, useActionData, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { requireCsrf } from '../auth/csrf.server.js'
import { text } from '../auth/form.server.js'
import { requireRole } from '../auth/session.server.js'
import { formatWhen } from '../backoffice/format.js'
import { listPluginSignIns, revokePluginSignIn } from '../backoffice/plugin-tokens.server.js'
import { OperatorNav } from '../backoffice/portal-nav.js'
import { servicesFrom } from '../plugin-api/services.server.js'

export const meta: MetaFunction = () => [{ title: 'The plugin · Operator · perminute' }]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const { db, config } = servicesFrom(context)
  const [account, signIns] = await Promise.all([
    db.user.findUniqueOrThrow({ where: { id: user.id }, select: { callingProvider: true, callingHandle: true } }),
    listPluginSignIns(db, user.id),
  ])
  return { platformUrl: config.PUBLIC_URL, downloadUrl: config.PLUGIN_DOWNLOAD_URL, email: user.email, linked: account.callingHandle ? `${account.callingProvider}: ${account.callingHandle}` : null, signIns }
}

// Revoking one sign-in: only the operator's own (another operator's token id is "not found", like an unknown one).
export async function action({ request, context }: ActionFunctionArgs) {
  const user = await requireRole(request, 'operator', context)
  const formData = await request.formData()
  await requireCsrf(request, formData, context)
  if (formData.get('intent') !== 'revoke') return data({ message: 'Unknown request.' }, { status: 400 })
  const revoked = await revokePluginSignIn(servicesFrom(context).db, user.id, text(formData, 'tokenId', 64))
  if (!revoked) throw new Response('No such plugin sign-in.', { status: 404, statusText: 'Not Found' })
  return { message: 'Signed out: that plugin must sign in again.' }
}

export default function PluginPage() {
  const { platformUrl, downloadUrl, email, linked, signIns } = useLoaderData<typeof loader>()
  const result = useActionData<typeof action>()
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
        <dd>{signIns.length}</dd>
      </dl>
      <h2>Where the plugin is signed in</h2>
      {result?.message && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      {signIns.length === 0 ? (
        <p>No plugin is signed in to your account.</p>
      ) : (
        <ul className="cards sign-ins" aria-label="Plugin sign-ins">
          {signIns.map((signIn) => {
            const device = signIn.deviceName ?? 'Unnamed device'
            return (
              <li key={signIn.id} className="card">
                <h3 className="wrap">{device}</h3>
                <dl className="facts">
                  <dt>Signed in</dt>
                  <dd>{formatWhen(signIn.createdAt)}</dd>
                  <dt>Last used</dt>
                  <dd>{signIn.lastUsedAt ? formatWhen(signIn.lastUsedAt) : 'not yet'}</dd>
                  <dt>Expires</dt>
                  <dd>{formatWhen(signIn.expiresAt)}</dd>
                </dl>
                <Form method="post">
                  <CsrfInput />
                  <input type="hidden" name="tokenId" value={signIn.id} />
                  <button type="submit" name="intent" value="revoke" className="danger">
                    Sign out <span className="visually-hidden">{device}, signed in {formatWhen(signIn.createdAt)}</span>
                  </button>
                </Form>
              </li>
            )
          })}
        </ul>
      )}
      <p>Each sign-in lasts until it expires (the plugin renews it on its own while it is used) or until you sign it out here.</p>
    </>
  )
}
