import type { LinksFunction } from '@remix-run/node'
import { isRouteErrorResponse, Links, Meta, Outlet, Scripts, ScrollRestoration, useRouteError } from '@remix-run/react'
import type { ReactNode } from 'react'

export const links: LinksFunction = () => [{ rel: 'icon', href: 'data:,' }]

// Until the storefront issue brings a design system, a few rules keep the page readable.
const baseStyles = `
  :root { color-scheme: light; font-family: system-ui, sans-serif; line-height: 1.5; }
  body { margin: 0 auto; max-width: 56rem; padding: 2rem 1rem; color: #1f2328; }
  h1 { font-size: 1.75rem; margin: 0 0 1.5rem; }
  ul.operators { list-style: none; padding: 0; display: grid; gap: .75rem; }
  ul.operators li { border: 1px solid #d0d7de; border-radius: .5rem; padding: .75rem 1rem; display: grid;
    grid-template-columns: 1fr auto; gap: .25rem 1rem; }
  .headline { color: #57606a; grid-column: 1; }
  .price { font-weight: 600; grid-row: 1; grid-column: 2; }
  .presence { grid-column: 2; font-size: .875rem; display: inline-flex; align-items: center; gap: .375rem; }
  .presence::before { content: ""; width: .625rem; height: .625rem; border-radius: 50%; background: currentColor; }
  .presence-online { color: #1a7f37; } .presence-busy { color: #9a6700; } .presence-offline { color: #cf222e; }
`

export function Layout({ children }: { children: ReactNode }) {
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
        <style dangerouslySetInnerHTML={{ __html: baseStyles }} />
      </head>
      <body>
        {children}
        <ScrollRestoration />
        <Scripts />
      </body>
    </html>
  )
}

export default function App() {
  return <Outlet />
}

export function ErrorBoundary() {
  const error = useRouteError()
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText}` : 'Something went wrong'
  return (
    <main>
      <h1>{title}</h1>
      <p>
        <a href="/">Back to the operators</a>
      </p>
    </main>
  )
}
