import { createContext, useCallback, useContext, useEffect, useState } from 'react'
import type { ActionResult } from '../core/plugin-state.js'
import type { PerminuteApi } from '../shared/ipc.js'

/** The preload's API (plugin/src/preload/api.ts), the renderer's only way out of its page. */
declare global {
  interface Window {
    perminute: PerminuteApi
  }
}

export const ApiContext = createContext<PerminuteApi | null>(null)

export function useApi(): PerminuteApi {
  const api = useContext(ApiContext)
  if (!api) throw new Error('the perminute API is missing (the preload did not run)')
  return api
}

/**
 * A button's action: runs it once at a time, and keeps the failure's message to show next to the button.
 * Answers [run, pending, error].
 */
export function useAction<Args extends unknown[]>(action: (...args: Args) => Promise<ActionResult>) {
  const [pending, setPending] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const run = useCallback(
    async (...args: Args): Promise<boolean> => {
      setPending(true)
      setError(null)
      try {
        const result = await action(...args)
        if (!result.ok) setError(result.message)
        return result.ok
      } catch {
        setError('The plugin did not answer. Try again.')
        return false
      } finally {
        setPending(false)
      }
    },
    [action],
  )
  return [run, pending, error, setError] as const
}

/** A clock for what moves with time on screen (a request's expiry), ticking every `ms`. */
export function useNow(ms = 1000): number {
  const [now, setNow] = useState(() => Date.now())
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), ms)
    return () => clearInterval(timer)
  }, [ms])
  return now
}
