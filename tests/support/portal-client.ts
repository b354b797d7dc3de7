import { expect } from 'vitest'
import type { Db } from '../../prisma/client.js'

/**
 * A browser without the browser, for loader and action tests over HTTP: keeps cookies, reads the CSRF token from the
 * page's hidden field, and submits forms as a browser would (urlencoded, same-origin, redirects not followed so a
 * test sees where they lead).
 */
export class PortalClient {
  private readonly cookies = new Map<string, string>()

  /** `headers` go with every request (an X-Forwarded-For, so that a client comes from an address of its own). */
  constructor(
    readonly baseUrl: string,
    private readonly headers: Record<string, string> = {},
  ) {}

  cookie(name: string): string | undefined {
    return this.cookies.get(name)
  }

  private remember(response: Response): void {
    for (const line of response.headers.getSetCookie()) {
      const [pair, ...attributes] = line.split(';')
      const index = pair!.indexOf('=')
      const name = pair!.slice(0, index).trim()
      const value = pair!.slice(index + 1).trim()
      const expired = attributes.some((attribute) => /^\s*max-age=0\s*$/i.test(attribute) || /^\s*expires=thu, 01 jan 1970/i.test(attribute))
      if (expired || value === '') this.cookies.delete(name)
      else this.cookies.set(name, value)
    }
  }

  cookieHeader(): string {
    return [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
  }

  async get(path: string, headers: Record<string, string> = {}): Promise<Response> {
    const response = await fetch(new URL(path, this.baseUrl), {
      headers: { ...this.headers, cookie: this.cookieHeader(), ...headers },
      redirect: 'manual',
    })
    this.remember(response)
    return response
  }

  /** The page's HTML, failing the test unless it answered 200. */
  async page(path: string): Promise<string> {
    const response = await this.get(path)
    expect(response.status, `GET ${path}`).toBe(200)
    return response.text()
  }

  /** The CSRF token the pages hand this client (its cookie is set on the first page it loads). */
  async csrfToken(path = '/forgot-password'): Promise<string> {
    const html = await this.page(path)
    const match = /name="csrf" value="([^"]+)"/.exec(html)
    if (!match) throw new Error(`no CSRF field on ${path}`)
    return match[1]!
  }

  /** Posts a form; includes the CSRF token unless `csrf: false` or a token is given in the fields. */
  async post(
    path: string,
    fields: Record<string, string>,
    options: { csrf?: boolean; headers?: Record<string, string> } = {},
  ): Promise<Response> {
    const body = new URLSearchParams(fields)
    if (options.csrf !== false && !body.has('csrf')) body.set('csrf', await this.csrfToken())
    const response = await fetch(new URL(path, this.baseUrl), {
      method: 'POST',
      body,
      headers: {
        ...this.headers,
        cookie: this.cookieHeader(),
        'content-type': 'application/x-www-form-urlencoded',
        origin: new URL(this.baseUrl).origin,
        ...options.headers,
      },
      redirect: 'manual',
    })
    this.remember(response)
    return response
  }

  /**
   * Posts a multipart form (a file upload), as a browser does: the CSRF token first, as the upload forms carry it
   * (their first field); the page's token unless one is given.
   */
  async postMultipart(path: string, form: FormData, options: { headers?: Record<string, string> } = {}): Promise<Response> {
    const ordered = new FormData()
    ordered.set('csrf', form.get('csrf') ?? (await this.csrfToken()))
    for (const [name, value] of form) if (name !== 'csrf') ordered.append(name, value)
    const response = await fetch(new URL(path, this.baseUrl), {
      method: 'POST',
      body: ordered,
      headers: { ...this.headers, cookie: this.cookieHeader(), origin: new URL(this.baseUrl).origin, ...options.headers },
      redirect: 'manual',
    })
    this.remember(response)
    return response
  }

  async logIn(email: string, password: string): Promise<Response> {
    const response = await this.post('/login', { email, password })
    expect(response.status, `log-in of ${email}`).toBe(302)
    return response
  }
}

/** The newest mail to this address in the outbox, and the first link of its text. */
export async function latestMailLink(db: Db, to: string, template: string): Promise<string> {
  const mail = await db.mailMessage.findFirst({ where: { toAddress: to, template }, orderBy: { id: 'desc' } })
  if (!mail) throw new Error(`no ${template} mail to ${to}`)
  const link = /https?:\/\/\S+/.exec(mail.textBody)
  if (!link) throw new Error(`the ${template} mail to ${to} has no link`)
  return link[0]
}

/** An address of its own for a client (IPv6 documentation prefix), sent as X-Forwarded-For to a server that trusts
 *  its loopback proxy: throttles per address then count that client alone. */
export function ownAddress(): { 'x-forwarded-for': string } {
  const group = () => Math.floor(Math.random() * 0x10000).toString(16)
  return { 'x-forwarded-for': `2001:db8:${group()}:${group()}::${group()}` }
}
