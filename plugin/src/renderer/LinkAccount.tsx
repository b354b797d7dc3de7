import { useState, type FormEvent } from 'react'
import { PROVIDERS, type CallingProvider, type PluginState } from '../core/plugin-state.js'
import { useAction, useApi } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

const PROVIDER_NAMES: Record<CallingProvider, string> = {
  discord: 'Discord',
  sip: 'SIP address',
  whatsapp: 'WhatsApp',
  telegram: 'Telegram',
  zoom: 'Zoom',
  other: 'Another app',
}

export function LinkAccount({ state, onDone, canCancel }: { state: PluginState; onDone: () => void; canCancel: boolean }) {
  const api = useApi()
  const [provider, setProvider] = useState<CallingProvider>(state.link?.provider ?? 'discord')
  const [handle, setHandle] = useState(state.link?.handle ?? '')
  const [link, pending, error] = useAction(api.link)
  const [signOut, signingOut, signOutError] = useAction(api.signOut)

  const submit = (event: FormEvent) => {
    event.preventDefault()
    void link(provider, handle).then((ok) => ok && onDone())
  }

  return (
    <main className="screen">
      <h1>Link your calling account</h1>
      <p className="lead">
        Signed in as <strong>{state.operator?.displayName}</strong>. Tell the platform which account members call you on, so the
        plugin can recognise them.
      </p>
      <form className="stack" onSubmit={submit} aria-label="Link your calling account">
        <label>
          App you take calls in
          <select value={provider} onChange={(e) => setProvider(e.target.value as CallingProvider)}>
            {PROVIDERS.map((p) => (
              <option key={p} value={p}>
                {PROVIDER_NAMES[p]}
              </option>
            ))}
          </select>
        </label>
        <label>
          Your handle in that app
          <input required maxLength={200} value={handle} onChange={(e) => setHandle(e.target.value)} placeholder="e.g. ada#1234 or sip:ada@example.com" />
        </label>
        <ErrorMessage text={error} />
        <div className="actions">
          <button type="submit" disabled={pending}>
            {pending ? 'Linking…' : 'Link account'}
          </button>
          {canCancel && (
            <button type="button" className="secondary" onClick={onDone}>
              Cancel
            </button>
          )}
        </div>
      </form>
      {!canCancel && (
        <p className="fine">
          <button type="button" className="link" onClick={() => void signOut()} disabled={signingOut}>
            Sign out
          </button>
          {signOutError && <span role="alert"> {signOutError}</span>}
        </p>
      )}
    </main>
  )
}

export function providerName(provider: CallingProvider): string {
  return PROVIDER_NAMES[provider]
}
