import { describe, expect, it } from 'vitest'
import { WebhookVerificationError } from '../../../activities/payments/provider.js'
import { signatureHeader, signPayload, verifySignature } from '../../../activities/payments/webhook-signature.js'
import { checkCard } from '../../../activities/payments/sandbox/test-cards.js'
import { ConfigError, DEV_PAYMENT_WEBHOOK_SECRET, parseConfig } from '../../../config/env.js'

const secret = 'a-webhook-secret-of-at-least-32-characters'
const body = '{"id":"evt_1","type":"checkout.session.completed"}'
const now = new Date('2027-01-01T12:00:00Z')
const nowS = now.getTime() / 1000

describe('webhook signatures', () => {
  it('accept the provider’s signature over the exact body within the tolerance, also beside a rotated one', () => {
    const header = signatureHeader(secret, body, nowS - 299)
    expect(() => verifySignature({ secret, rawBody: body, header, now, toleranceS: 300 })).not.toThrow()
    const rotated = `t=${nowS},v1=${signPayload('the-old-secret-that-is-being-rotated-out', body, nowS)},v1=${signPayload(secret, body, nowS)}`
    expect(() => verifySignature({ secret, rawBody: body, header: rotated, now, toleranceS: 300 })).not.toThrow()
  })

  it('refuse another secret, another body, an old or future timestamp, and malformed headers', () => {
    const verify = (header: string | null, rawBody = body) => () => verifySignature({ secret, rawBody, header, now, toleranceS: 300 })
    expect(verify(signatureHeader('another-secret-entirely-32-characters-long', body, nowS))).toThrow(WebhookVerificationError)
    expect(verify(signatureHeader(secret, body, nowS), `${body} `)).toThrow(/does not match/)
    expect(verify(signatureHeader(secret, body, nowS - 301))).toThrow(/timestamp/)
    expect(verify(signatureHeader(secret, body, nowS + 301))).toThrow(/timestamp/)
    // The timestamp is signed: moving it into the window breaks the signature.
    const old = signatureHeader(secret, body, nowS - 3_600)
    expect(verify(old.replace(`t=${nowS - 3_600}`, `t=${nowS}`))).toThrow(/does not match/)
    expect(verify(null)).toThrow(/missing/)
    expect(verify('v1=abc')).toThrow(/malformed/)
  })
})

describe('the sandbox’s card check', () => {
  it('knows the three test cards and refuses everything else without keeping it', () => {
    const at = new Date('2027-01-01T00:00:00Z')
    expect(checkCard({ number: '4242 4242 4242 4242', expiry: '12/34', cvc: '123' }, at)).toEqual({ ok: true, outcome: 'approve' })
    expect(checkCard({ number: '4000-0000-0000-0002', expiry: '1/2030', cvc: '1234' }, at)).toEqual({ ok: true, outcome: 'decline' })
    expect(checkCard({ number: '4000000000003220', expiry: '01/27', cvc: '000' }, at)).toEqual({ ok: true, outcome: 'authenticate' })
    expect(checkCard({ number: '4242424242424241', expiry: '12/34', cvc: '123' }, at)).toMatchObject({ ok: false, field: 'number' })
    expect(checkCard({ number: '4111111111111111', expiry: '12/34', cvc: '123' }, at)).toMatchObject({ ok: false, field: 'number' })
    expect(checkCard({ number: '4242424242424242', expiry: '12/26', cvc: '123' }, at)).toMatchObject({ ok: false, field: 'expiry' })
    expect(checkCard({ number: '4242424242424242', expiry: '13/30', cvc: '123' }, at)).toMatchObject({ ok: false, field: 'expiry' })
    expect(checkCard({ number: '4242424242424242', expiry: '12/34', cvc: '12' }, at)).toMatchObject({ ok: false, field: 'cvc' })
  })
})

describe('payment configuration', () => {
  const production = {
    NODE_ENV: 'production',
    SESSION_SECRET: 'a-production-session-secret-of-32-chars!',
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    ADMIN_ALLOWED_CIDRS: '203.0.113.0/24',
    // Production needs its LiveKit too (config/env.ts); beside the point here.
    LIVEKIT_URL: 'wss://media.example.com',
    LIVEKIT_API_KEY: 'APIxyz',
    LIVEKIT_API_SECRET: 'a-production-livekit-secret-of-32-chars',
  }
  it('uses a development webhook secret only with the development switch on', () => {
    expect(parseConfig({ NODE_ENV: 'development' }).PAYMENT_WEBHOOK_SECRET).toBe(DEV_PAYMENT_WEBHOOK_SECRET)
    expect(parseConfig({ NODE_ENV: 'test' }).PAYMENT_WEBHOOK_SECRET).toBe(DEV_PAYMENT_WEBHOOK_SECRET)
    expect(() => parseConfig({})).toThrow(/NODE_ENV: is not set/)
    expect(() => parseConfig({ ...production, PAYMENT_SANDBOX_IN_PRODUCTION: 'true' })).toThrow(/PAYMENT_WEBHOOK_SECRET/)
    expect(() => parseConfig({ ...production, PAYMENT_SANDBOX_IN_PRODUCTION: 'true', PAYMENT_WEBHOOK_SECRET: DEV_PAYMENT_WEBHOOK_SECRET })).toThrow(/PAYMENT_WEBHOOK_SECRET/)
    expect(() => parseConfig({ NODE_ENV: 'test', PAYMENT_WEBHOOK_SECRET: 'short' })).toThrow(ConfigError)
  })

  it('refuses the sandbox in production unless it is asked for', () => {
    expect(() => parseConfig({ ...production, PAYMENT_WEBHOOK_SECRET: secret })).toThrow(/PAYMENT_PROVIDER/)
    expect(parseConfig({ ...production, PAYMENT_WEBHOOK_SECRET: secret, PAYMENT_SANDBOX_IN_PRODUCTION: 'true' }).PAYMENT_PROVIDER).toBe('sandbox')
    expect(() => parseConfig({ NODE_ENV: 'test', TOPUP_MIN_CENTS: '1000', TOPUP_MAX_CENTS: '500' })).toThrow(/TOPUP_MIN_CENTS/)
  })
})
