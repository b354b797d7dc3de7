import { useState, type FormEvent } from 'react'
import type { PluginState } from '../core/plugin-state.js'
import { useAction, useApi } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

export function SignIn({ state }: { state: PluginState }) {
  const api = useApi()
  const [login, setLogin] = useState('')
  const [password, setPassword] = useState('')
  const [signIn, pending, error] = useAction(api.signIn)

  const submit = (event: FormEvent) => {
    event.preventDefault()
    void signIn(login, password).then((ok) => ok && setPassword(''))
  }

  return (
    <main className="screen">
      <h1>perminute</h1>
      <p className="lead">Sign in with your operator account to appear online and take calls.</p>
      {state.signInMessage && (
        <p className="notice warning" role="alert">
          {state.signInMessage}
        </p>
      )}
      <form className="stack" onSubmit={submit} aria-label="Sign in">
        <label>
          E-mail address
          <input type="email" autoComplete="username" required value={login} onChange={(e) => setLogin(e.target.value)} />
        </label>
        <label>
          Password
          <input type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
        </label>
        <ErrorMessage text={error} />
        <button type="submit" disabled={pending}>
          {pending ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
      <p className="fine">
        Platform: {state.platformUrl}.{' '}
        {state.tokenStorage === 'memory'
          ? 'This computer offers no keychain, so you will sign in again at each start.'
          : "Your session is kept encrypted in this computer's keychain."}
      </p>
    </main>
  )
}
