import { data, type LinksFunction, type LoaderFunctionArgs } from '@remix-run/node'
import {
  Form,
  isRouteErrorResponse,
  Link,
  Links,
  Meta,
  NavLink,
  Outlet,
  Scripts,
  ScrollRestoration,
  useRouteError,
  useRouteLoaderData,
} from '@remix-run/react'
import type { ReactNode } from 'react'
import { CsrfInput } from './auth/csrf-input.js'
import { useCspNonce } from './csp-nonce.js'
import { csrfTokenFor } from './auth/csrf.server.js'
import { getSessionUser } from './auth/session.server.js'
import { servicesFrom } from './plugin-api/services.server.js'
import styles from './styles.css?url'

export const links: LinksFunction = () => [
  { rel: 'icon', href: 'data:,' },
  { rel: 'stylesheet', href: styles },
]

export async function loader({ request, context }: LoaderFunctionArgs) {
  const [user, csrf] = await Promise.all([getSessionUser(request, context), csrfTokenFor(request, context)])
  const { config } = servicesFrom(context)
  const headers = new Headers()
  if (csrf.setCookie) headers.append('Set-Cookie', csrf.setCookie)
  return data(
    {
      user: user && { displayName: user.displayName, role: user.role, emailVerified: user.emailVerified },
      csrfToken: csrf.token,
      // The dev mailbox exists with the development switch on only.
      showMailbox: config.DEVELOPMENT_FEATURES,
    },
    { headers },
  )
}

type RootData = Awaited<ReturnType<typeof loader>>['data']

function SiteHeader() {
  const root = useRouteLoaderData<typeof loader>('root') as RootData | undefined
  const user = root?.user
  return (
    <header className="site-header">
      <Link to="/" className="brand">
        perminute
      </Link>
      <nav aria-label="Main">
        <ul>
          <li>
            <NavLink to="/" end>
              Operators
            </NavLink>
          </li>
          {user?.role === 'member' && (
            <>
              <li>
                <NavLink to="/wallet">Wallet</NavLink>
              </li>
              <li>
                <NavLink to="/calls">Calls</NavLink>
              </li>
            </>
          )}
          {user && user.role !== 'member' && (
            <li>
              <NavLink to={`/${user.role}`}>{{ operator: 'Dashboard', company: 'Company', admin: 'Admin' }[user.role]}</NavLink>
            </li>
          )}
          {user ? (
            <>
              <li>
                <NavLink to="/account">Account</NavLink>
              </li>
              <li>
                <Form method="post" action="/logout">
                  <CsrfInput />
                  <button type="submit" className="link-button">
                    Log out
                  </button>
                </Form>
              </li>
            </>
          ) : (
            <>
              <li>
                <NavLink to="/login">Log in</NavLink>
              </li>
              <li>
                <NavLink to="/signup">Sign up</NavLink>
              </li>
            </>
          )}
          {root?.showMailbox && (
            <li>
              <NavLink to="/dev/mailbox">Mailbox</NavLink>
            </li>
          )}
        </ul>
      </nav>
    </header>
  )
}

export function Layout({ children }: { children: ReactNode }) {
  const nonce = useCspNonce()
  return (
    <html lang="en">
      <head>
        <meta charSet="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <Meta />
        <Links />
      </head>
      <body>
        <a className="skip-link" href="#main">
          Skip to content
        </a>
        <SiteHeader />
        <main id="main" tabIndex={-1}>
          {children}
        </main>
        <ScrollRestoration nonce={nonce} />
        <Scripts nonce={nonce} />
      </body>
    </html>
  )
}

export default function App() {
  return <Outlet />
}

export function ErrorBoundary() {
  const error = useRouteError()
  const title = isRouteErrorResponse(error) ? `${error.status} ${error.statusText || 'Error'}` : 'Something went wrong'
  const detail = isRouteErrorResponse(error) && typeof error.data === 'string' ? error.data : null
  return (
    <>
      <h1>{title}</h1>
      {detail && <p>{detail}</p>}
      <p>
        <a href="/">Back to the operators</a>
      </p>
    </>
  )
}
