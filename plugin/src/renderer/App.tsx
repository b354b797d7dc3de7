import { useEffect, useState } from 'react'
import type { PluginState } from '../core/plugin-state.js'
import { Dashboard } from './Dashboard.js'
import { LinkAccount } from './LinkAccount.js'
import { useApi } from './perminute.js'
import { SignIn } from './SignIn.js'

/** Draws the core's state: the main process pushes every change, the page only renders it. */
export function App() {
  const api = useApi()
  const [state, setState] = useState<PluginState | null>(null)
  const [changingLink, setChangingLink] = useState(false)

  useEffect(() => {
    const stop = api.onState(setState)
    // The first state, unless a pushed one came first; before the core is up this fails and the push will come.
    api.getState().then(
      (first) => setState((current) => current ?? first),
      () => undefined,
    )
    return stop
  }, [api])

  if (!state || state.screen === 'starting') {
    return (
      <main className="screen centred" aria-busy="true">
        <p>Starting perminute…</p>
      </main>
    )
  }
  if (state.screen === 'sign_in') return <SignIn state={state} />
  if (state.screen === 'link' || changingLink) {
    return <LinkAccount state={state} onDone={() => setChangingLink(false)} canCancel={state.screen !== 'link'} />
  }
  return <Dashboard state={state} onChangeLink={() => setChangingLink(true)} />
}
