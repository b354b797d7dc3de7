import { timingSafeEqual } from 'node:crypto'
import { unstable_parseMultipartFormData, type AppLoadContext, type UploadHandler } from '@remix-run/node'
import { servicesFrom } from '../plugin-api/services.server.js'
import { portalCookies } from './cookies.server.js'
import { newSecret } from './tokens.server.js'

/**
 * CSRF protection for every form that changes state: a random token in a signed, httpOnly, SameSite=Lax cookie, and
 * the same token in a hidden field of each form (CsrfInput). Another site can make a browser post a form but can
 * neither read nor set our cookie, so it cannot make the two agree. A request whose Origin header names another site
 * is refused before the token is even compared.
 */

export const CSRF_FIELD = 'csrf'

/** The browser's token, minting one when it has none; setCookie is the header to send when it was minted. */
export async function csrfTokenFor(request: Request, context?: AppLoadContext): Promise<{ token: string; setCookie: string | null }> {
  const cookie = portalCookies(servicesFrom(context).config).csrf
  const existing: unknown = await cookie.parse(request.headers.get('Cookie'))
  if (typeof existing === 'string' && existing.length >= 32) return { token: existing, setCookie: null }
  const token = newSecret()
  return { token, setCookie: await cookie.serialize(token) }
}

function forbidden(message: string): Response {
  return new Response(message, { status: 403, statusText: 'Forbidden' })
}

/** A form whose Origin header names another site, refused before its body is read. */
function requireSameOrigin(request: Request): void {
  const origin = request.headers.get('Origin')
  if (origin && origin !== 'null' && origin !== new URL(request.url).origin) {
    throw forbidden('This form was sent from another site.')
  }
}

async function requireToken(request: Request, given: unknown, context?: AppLoadContext): Promise<void> {
  const cookie = portalCookies(servicesFrom(context).config).csrf
  const expected: unknown = await cookie.parse(request.headers.get('Cookie'))
  if (typeof expected !== 'string' || typeof given !== 'string') {
    throw forbidden('This form has expired. Reload the page and send it again.')
  }
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  if (a.length !== b.length || !timingSafeEqual(a, b)) {
    throw forbidden('This form has expired. Reload the page and send it again.')
  }
}

export async function requireCsrf(request: Request, formData: FormData, context?: AppLoadContext): Promise<void> {
  requireSameOrigin(request)
  await requireToken(request, formData.get(CSRF_FIELD), context)
}

/** A token is 43 characters (newSecret); a first field longer than this is no token and is not read further. */
const MAX_TOKEN_BYTES = 256

async function textOf(data: AsyncIterable<Uint8Array>, limit: number): Promise<string | null> {
  const chunks: Uint8Array[] = []
  let size = 0
  for await (const chunk of data) {
    size += chunk.byteLength
    if (size > limit) return null
    chunks.push(chunk)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/**
 * Reads a multipart form (a file upload) only once it has passed the CSRF check: its Origin first, then its first
 * part, which must be the token (CsrfInput is the first field of every upload form, and browsers send fields in
 * order). A file that comes before the token, or a wrong token, is refused with 403 before anything else of the body
 * is read; only then do the other parts go to `uploads`. The caller has checked the session and role already.
 */
export async function parseMultipartFormAfterCsrf(request: Request, context: AppLoadContext | undefined, uploads: UploadHandler): Promise<FormData> {
  requireSameOrigin(request)
  let tokenChecked = false
  const formData = await unstable_parseMultipartFormData(request, async (part) => {
    if (tokenChecked) return uploads(part)
    const token = part.name === CSRF_FIELD && !part.filename ? await textOf(part.data, MAX_TOKEN_BYTES) : null
    await requireToken(request, token, context)
    tokenChecked = true
    return token
  })
  if (!tokenChecked) throw forbidden('This form has expired. Reload the page and send it again.')
  return formData
}
