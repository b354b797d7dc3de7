import { describe, expect, it } from 'vitest'
import { ConfigError, parseConfig } from '../../config/env.js'
import { contentSecurityPolicy, mediaOrigins } from '../../web-remix/http/security-headers.js'

// What the member's call page is allowed to reach and which ICE servers its browser uses (docs/decisions/061).

const production = {
  NODE_ENV: 'production',
  SESSION_SECRET: 'a-production-session-secret-of-32-chars!',
  PAYMENT_WEBHOOK_SECRET: 'a-production-webhook-secret-of-32-chars!',
  PAYMENT_SANDBOX_IN_PRODUCTION: 'true',
  DATA_ENCRYPTION_KEY: Buffer.from('a-production-data-key-of-32-byte').toString('base64'),
  LIVEKIT_URL: 'wss://media.example.com',
  LIVEKIT_API_KEY: 'APIxyz',
  LIVEKIT_API_SECRET: 'a-production-livekit-secret-of-32-chars',
  ADMIN_ALLOWED_CIDRS: '203.0.113.0/24',
}

describe("the call page's media origins", () => {
  it('let pages reach LiveKit by WebSocket and by HTTP(S), and nothing else', () => {
    expect(mediaOrigins(parseConfig({ NODE_ENV: 'test', LIVEKIT_URL: 'ws://127.0.0.1:7880' }))).toEqual(['ws://127.0.0.1:7880', 'http://127.0.0.1:7880'])
    expect(mediaOrigins(parseConfig(production))).toEqual(['wss://media.example.com', 'https://media.example.com'])
    const policy = contentSecurityPolicy(parseConfig(production))
    expect(policy['connect-src']).toEqual(["'self'", 'wss://media.example.com', 'https://media.example.com'])
    // No worker, no eval, no inline anything for LiveKit's sake.
    expect(policy['worker-src']).toEqual(["'self'"])
    expect(JSON.stringify(policy)).not.toMatch(/unsafe|blob:|\*/)
  })
})

describe('LIVEKIT_ICE_SERVERS', () => {
  it('is none with the development switch on, and LiveKit’s own in production, unless set', () => {
    expect(parseConfig({ NODE_ENV: 'development' }).LIVEKIT_ICE_SERVERS).toEqual([])
    expect(parseConfig({ NODE_ENV: 'test' }).LIVEKIT_ICE_SERVERS).toEqual([])
    expect(parseConfig(production).LIVEKIT_ICE_SERVERS).toBeNull()
    const turn = [{ urls: ['turns:turn.example.com:443'], username: 'u', credential: 'c' }, { urls: 'stun:stun.example.com:3478' }]
    expect(parseConfig({ ...production, LIVEKIT_ICE_SERVERS: JSON.stringify(turn) }).LIVEKIT_ICE_SERVERS).toEqual(turn)
    expect(parseConfig({ ...production, LIVEKIT_ICE_SERVERS: '[]' }).LIVEKIT_ICE_SERVERS).toEqual([])
  })

  it('refuses what is not a list of STUN/TURN servers', () => {
    for (const value of ['stun:stun.example.com', '{"urls":"stun:x"}', '[{"urls":"https://x"}]', '[{"urls":"stun:x","extra":1}]', '[{"urls":[]}]', '[1]']) {
      expect(() => parseConfig({ NODE_ENV: 'test', LIVEKIT_ICE_SERVERS: value }), value).toThrow(ConfigError)
      expect(() => parseConfig({ NODE_ENV: 'test', LIVEKIT_ICE_SERVERS: value }), value).toThrow(/LIVEKIT_ICE_SERVERS/)
    }
  })
})
