import { randomUUID } from 'node:crypto'
import { TokenVerifier } from 'livekit-server-sdk'
import { describe, expect, it } from 'vitest'
import { callIdForRoom, createLiveKit, liveKitSettings, roomNameForCall } from '../../../activities/media/livekit.js'
import { ConfigError, DEV_LIVEKIT_API_SECRET, parseConfig } from '../../../config/env.js'

// The room control itself runs against the run's LiveKit in tests/media/livekit-media.test.ts; here, what needs none.

const settings = { url: 'ws://127.0.0.1:7880', apiUrl: 'http://127.0.0.1:7880', apiKey: 'key', apiSecret: 'a-secret-of-at-least-thirty-two-characters' }

describe('room names', () => {
  it('are made from call ids only, and read back', () => {
    const callId = randomUUID()
    expect(roomNameForCall(callId)).toBe(`call-${callId}`)
    expect(roomNameForCall(callId.toUpperCase())).toBe(`call-${callId}`)
    expect(callIdForRoom(roomNameForCall(callId))).toBe(callId)
    for (const bad of ['', 'x', `${callId}/../other`, `${callId} `, 'call-1']) expect(() => roomNameForCall(bad), bad).toThrow(TypeError)
    for (const other of [undefined, '', 'call-', 'call-nope', `room-${callId}`, `call-${callId}-x`]) expect(callIdForRoom(other), other).toBeUndefined()
  })
})

describe('join tokens', () => {
  const liveKit = createLiveKit(settings)

  it('let one identity join one room, for a while, with nothing more', async () => {
    const room = roomNameForCall(randomUUID())
    const before = Math.floor(Date.now() / 1000)
    const jwt = await liveKit.createJoinToken({ room, identity: 'member:1', name: 'Ann', ttlSeconds: 120, canPublish: true, canSubscribe: true })
    const claims = await new TokenVerifier(settings.apiKey, settings.apiSecret).verify(jwt)
    expect(claims.sub).toBe('member:1')
    expect(claims.name).toBe('Ann')
    expect(claims.exp! - before).toBeGreaterThanOrEqual(119)
    expect(claims.exp! - before).toBeLessThanOrEqual(121)
    expect(claims.video).toEqual({
      roomJoin: true,
      room,
      canPublish: true,
      canPublishSources: ['camera', 'microphone'],
      canSubscribe: true,
      canPublishData: false,
      canUpdateOwnMetadata: false,
    })
    for (const grant of ['roomAdmin', 'roomCreate', 'roomList', 'roomRecord', 'recorder', 'ingressAdmin', 'hidden', 'agent']) {
      expect(claims.video, grant).not.toHaveProperty(grant)
    }
    await expect(new TokenVerifier(settings.apiKey, `${settings.apiSecret}x`).verify(jwt)).rejects.toThrow()
  })

  it('refuse what they should not carry', async () => {
    const room = roomNameForCall(randomUUID())
    const listen = await liveKit.createJoinToken({ room, identity: 'member:1', ttlSeconds: 60, canPublish: false, canSubscribe: true })
    expect((await new TokenVerifier(settings.apiKey, settings.apiSecret).verify(listen)).video).toMatchObject({ canPublish: false, canPublishSources: [] })
    for (const ttlSeconds of [0, -1, 1.5, 24 * 3600 + 1, Number.NaN]) {
      await expect(liveKit.createJoinToken({ room, identity: 'a', ttlSeconds, canPublish: true, canSubscribe: true }), String(ttlSeconds)).rejects.toThrow(RangeError)
    }
    await expect(liveKit.createJoinToken({ room: '', identity: 'a', ttlSeconds: 60, canPublish: true, canSubscribe: true })).rejects.toThrow(TypeError)
    await expect(liveKit.createJoinToken({ room, identity: '', ttlSeconds: 60, canPublish: true, canSubscribe: true })).rejects.toThrow(TypeError)
  })
})

describe('LiveKit configuration', () => {
  const production = {
    NODE_ENV: 'production',
    SESSION_SECRET: 'a-production-session-secret-of-32-chars!',
    PAYMENT_WEBHOOK_SECRET: 'a-production-webhook-secret-of-32-chars!',
    PAYMENT_SANDBOX_IN_PRODUCTION: 'true',
    DATA_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
    ADMIN_ALLOWED_CIDRS: '203.0.113.0/24',
  }
  // The development switch (docs/decisions/056): development keys only with it on.
  const development = { NODE_ENV: 'development' }
  const liveKitEnv = { LIVEKIT_URL: 'wss://media.example.com', LIVEKIT_API_KEY: 'APIxyz', LIVEKIT_API_SECRET: 'a-production-livekit-secret-of-32-chars' }

  it('assumes a local LiveKit with development keys outside production', () => {
    expect(liveKitSettings(parseConfig(development))).toEqual({
      url: 'ws://127.0.0.1:7880',
      apiUrl: 'http://127.0.0.1:7880',
      apiKey: 'devkey',
      apiSecret: DEV_LIVEKIT_API_SECRET,
    })
    expect(parseConfig(development).LIVEKIT_RTC_UDP_PORTS).toEqual({ start: 50000, end: 50049 })
    expect(parseConfig(development).LIVEKIT_RTC_TCP_PORT).toBe(7881)
  })

  it('derives the API URL from the client URL unless told otherwise', () => {
    expect(parseConfig({ ...development, LIVEKIT_URL: 'wss://media.example.com/' }).LIVEKIT_API_URL).toBe('https://media.example.com')
    expect(parseConfig({ ...development, LIVEKIT_URL: 'ws://localhost:7880', LIVEKIT_API_URL: 'http://livekit:7880' }).LIVEKIT_API_URL).toBe('http://livekit:7880')
  })

  it('requires all three in production, and a secret of its own', () => {
    expect(liveKitSettings(parseConfig({ ...production, ...liveKitEnv }))).toMatchObject({ url: 'wss://media.example.com', apiKey: 'APIxyz' })
    for (const missing of ['LIVEKIT_URL', 'LIVEKIT_API_KEY', 'LIVEKIT_API_SECRET'] as const) {
      const env: Record<string, string> = { ...production, ...liveKitEnv }
      delete env[missing]
      expect(() => parseConfig(env), missing).toThrow(new RegExp(missing))
    }
    expect(() => parseConfig({ ...production, ...liveKitEnv, LIVEKIT_API_SECRET: DEV_LIVEKIT_API_SECRET })).toThrow(/LIVEKIT_API_SECRET/)
  })

  it('refuses malformed values', () => {
    expect(() => parseConfig({ LIVEKIT_API_SECRET: 'short' })).toThrow(ConfigError)
    expect(() => parseConfig({ LIVEKIT_URL: 'http://127.0.0.1:7880' })).toThrow(/LIVEKIT_URL/)
    expect(() => parseConfig({ LIVEKIT_API_URL: 'ws://127.0.0.1:7880' })).toThrow(/LIVEKIT_API_URL/)
    for (const range of ['50000', '50010-50000', '80-90', '60000-70000']) {
      expect(() => parseConfig({ LIVEKIT_RTC_UDP_PORTS: range }), range).toThrow(/LIVEKIT_RTC_UDP_PORTS/)
    }
    expect(() => parseConfig({ LIVEKIT_RTC_TCP_PORT: '70000' })).toThrow(/LIVEKIT_RTC_TCP_PORT/)
  })
})
