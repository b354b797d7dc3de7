import { useRouteLoaderData } from '@remix-run/react'

/** The hidden CSRF field every state-changing form carries; the token comes from the root loader. */
export function CsrfInput() {
  const root = useRouteLoaderData<{ csrfToken: string }>('root')
  return <input type="hidden" name="csrf" value={root?.csrfToken ?? ''} />
}
