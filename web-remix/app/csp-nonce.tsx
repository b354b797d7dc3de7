import { createContext, useContext } from 'react'

/**
 * The nonce of this response's Content-Security-Policy, for the inline scripts and styles a page must carry (Remix's
 * hydration data and module loader, scroll restoration). The server renders with it (entry.server.tsx); in the
 * browser it is undefined, as the browser hides nonces from the page anyway.
 */
export const CspNonce = createContext<string | undefined>(undefined)

export const useCspNonce = () => useContext(CspNonce)
