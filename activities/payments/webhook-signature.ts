import { createHmac, timingSafeEqual } from 'node:crypto'
import { WebhookVerificationError } from './provider.js'

/**
 * Webhook signatures in Stripe's scheme: the header `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`,
 * with the shared secret as the key. Several v1 values may be present (a secret being rotated). The timestamp is
 * inside the signed text, so an old delivery replayed later is refused once it falls outside the tolerance.
 */

export function signPayload(secret: string, rawBody: string, timestampS: number): string {
  return createHmac('sha256', secret).update(`${timestampS}.${rawBody}`, 'utf8').digest('hex')
}

export function signatureHeader(secret: string, rawBody: string, timestampS: number): string {
  return `t=${timestampS},v1=${signPayload(secret, rawBody, timestampS)}`
}

function parseHeader(header: string): { timestampS: number; signatures: string[] } {
  let timestampS: number | undefined
  const signatures: string[] = []
  for (const part of header.split(',')) {
    const [key, value] = part.split('=', 2).map((s) => s.trim())
    if (key === 't' && value && /^\d{1,12}$/.test(value)) timestampS = Number(value)
    if (key === 'v1' && value && /^[0-9a-f]{64}$/i.test(value)) signatures.push(value.toLowerCase())
  }
  if (timestampS === undefined || signatures.length === 0) throw new WebhookVerificationError('malformed signature header')
  return { timestampS, signatures }
}

/** Throws WebhookVerificationError unless one signature matches and the timestamp is within the tolerance. */
export function verifySignature(options: { secret: string; rawBody: string; header: string | null; now: Date; toleranceS: number }): void {
  if (!options.header) throw new WebhookVerificationError('missing signature header')
  const { timestampS, signatures } = parseHeader(options.header)
  const expected = Buffer.from(signPayload(options.secret, options.rawBody, timestampS), 'hex')
  const matches = signatures.some((signature) => timingSafeEqual(Buffer.from(signature, 'hex'), expected))
  if (!matches) throw new WebhookVerificationError('signature does not match')
  const skewS = Math.abs(Math.floor(options.now.getTime() / 1000) - timestampS)
  if (skewS > options.toleranceS) throw new WebhookVerificationError(`timestamp is ${skewS} s away from ours (tolerance ${options.toleranceS} s)`)
}
