import { randomUUID } from 'node:crypto'
import { TokenVerifier } from 'livekit-server-sdk'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PluginState } from '../../../plugin/src/core/plugin-state.js'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createMember, createOperator, eventually, memberConfirms, PASSWORD } from '../../web-remix/plugin-client.js'
import { openCore, tempDataDir, testKeychain, type CoreUnderTest } from '../support/core-harness.js'

// A call's life as the plugin's core follows it against the real platform (docs/decisions/060 and 063): accepted, it
// connects (nothing billed, the operator busy), and runs only from the moment the platform saw both parties connected;
// a call in the platform's room carries its join in the state the window receives, with a token kept fresh; a call
// that never connects ends with nothing charged.

/** Short enough to see a call give up connecting, long enough for a restart in between. */
const CONNECT_TIMEOUT_MS = 10_000
/** Room tokens of 6 s: the plugin renews each one after 3 s, during the call's connection. */
const MEDIA_TOKEN_TTL_S = 6

let stack: WebStack
let verifier: TokenVerifier
const cleanups: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  stack = await startWebStack({ env: { CALL_CONNECT_TIMEOUT_MS: String(CONNECT_TIMEOUT_MS), MEDIA_TOKEN_TTL_S: String(MEDIA_TOKEN_TTL_S) } })
  verifier = new TokenVerifier(stack.config.LIVEKIT_API_KEY, stack.config.LIVEKIT_API_SECRET)
}, 180_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await stopAfterLedgerCheck(stack)
}, 60_000)

/** Every request a core made, as "METHOD /path" below /api/plugin/v1. */
function recordingFetch() {
  const requests: string[] = []
  const fetchAndRecord: typeof fetch = (input, init) => {
    const url = new URL(String(input instanceof Request ? input.url : input))
    requests.push(`${init?.method ?? 'GET'} ${url.pathname.replace('/api/plugin/v1', '')}`)
    return fetch(input, init)
  }
  return { requests, fetch: fetchAndRecord }
}

async function newDataDir(): Promise<string> {
  const dir = await tempDataDir()
  cleanups.push(dir.remove)
  return dir.path
}

/** A core signed in as a new operator and linked, with the event stream live. */
async function signedInCore(options: { fetch?: typeof fetch } = {}) {
  const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 })
  const dataDir = await newDataDir()
  const keychain = testKeychain()
  const plugin = await openCore({ platformUrl: stack.url, dataDir, cipher: keychain, fetch: options.fetch })
  cleanups.push(() => plugin.core.shutdown())
  expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
  expect(await plugin.core.link('discord', `op-${randomUUID().slice(0, 8)}`)).toEqual({ ok: true })
  await plugin.waitFor((s) => s.stream === 'live' && s.presence === 'online', 'online with the event stream')
  return { ...plugin, operator, dataDir, keychain }
}

/** The member asks for a call on `channel`; the operator accepts it from the card the request brings. */
async function acceptRequest(plugin: CoreUnderTest & { operator: { id: string } }, member: { id: string }, channel: 'audio' | 'video' | 'outside') {
  const requestId = await askForCall(stack.db, member, plugin.operator, { channel })
  const shown = await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${requestId}` && c.summary !== null), 'the request card')
  expect(shown.cards.find((c) => c.cardId === `request:${requestId}`)!.request).toMatchObject({ requestId, channel })
  expect(await plugin.core.acceptCard(`request:${requestId}`)).toEqual({ ok: true })
  return plugin.waitFor((s) => s.call?.phase === 'connecting', 'the call to be connecting')
}

const presenceOf = async (operatorId: string) =>
  (await stack.db.operator.findUniqueOrThrow({ where: { userId: operatorId }, select: { presence: true } })).presence

/** The member's money the call holds or has taken: none while it connects. */
const moneyMovedBy = (callId: string) => stack.db.transfer.count({ where: { callId } })

/** The token is LiveKit's, signed with the platform's key, for this call's room only, as this operator. */
async function expectJoinFor(media: NonNullable<NonNullable<PluginState['call']>['media']>, callId: string, operatorId: string) {
  expect(media).toMatchObject({ url: stack.config.LIVEKIT_URL, room: `call-${callId}`, identity: operatorId })
  expect(await verifier.verify(media.token)).toMatchObject({ sub: operatorId, video: { room: `call-${callId}`, roomJoin: true } })
}

describe('a call connecting, then running, in the plugin core', { timeout: 120_000 }, () => {
  it('on the operator’s outside app: connecting (busy, nothing held), running from the member’s confirmation, with heartbeats, to its end', async () => {
    const plugin = await signedInCore()
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const connecting = await acceptRequest(plugin, member, 'outside')
    const callId = connecting.call!.callId
    expect(connecting.cards).toEqual([])
    expect(connecting.call).toMatchObject({
      member: { id: member.id },
      channel: 'outside',
      media: null,
      memberFacts: { fundedMinutes: 10, paidCalls: 0, rating: { average: null, count: 0 } },
      elapsedSeconds: 0,
      billedMinutes: 0,
      chargedCents: 0,
      endedBy: null,
    })
    await plugin.waitFor((s) => s.presence === 'busy', 'busy while connecting')
    expect(await presenceOf(plugin.operator.id)).toBe('busy')

    // Waiting for the member costs nothing, and the meter does not run.
    await new Promise((resolve) => setTimeout(resolve, 1_500))
    expect(plugin.core.state.call).toMatchObject({ phase: 'connecting', elapsedSeconds: 0, billedMinutes: 0 })
    expect(await moneyMovedBy(callId)).toBe(0)
    expect(await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { status: true } })).toEqual({ status: 'connecting' })

    await memberConfirms(stack, member, callId)
    const active = await plugin.waitFor((s) => s.call?.phase === 'active', 'the call to run')
    expect(active.presence).toBe('busy')
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { startedAt: true, acceptedAt: true } })
    expect(row.startedAt.getTime()).toBeGreaterThan(row.acceptedAt!.getTime() + 1_000)
    // The meter runs from the platform's start: its minutes and its clock.
    const metered = await plugin.waitFor((s) => (s.call?.billedMinutes ?? 0) >= 2, 'the meter to run')
    const sinceStart = (Date.now() - row.startedAt.getTime()) / 1000
    expect(metered.call!.elapsedSeconds).toBeGreaterThanOrEqual(Math.floor(sinceStart) - 2)
    expect(metered.call!.elapsedSeconds).toBeLessThanOrEqual(Math.ceil(sinceStart) + 1)
    expect(metered.call!.chargedCents).toBe(metered.call!.billedMinutes * 100)

    // Heartbeats keep a call on an outside app alive: recorded after its start.
    await eventually(async () => {
      const { lastHeartbeatAt } = await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { lastHeartbeatAt: true } })
      return lastHeartbeatAt.getTime() > row.startedAt.getTime() + 500 ? true : undefined
    }, 15_000, 'a heartbeat recorded during the call')

    expect(await plugin.core.endCall('operator_hangup')).toEqual({ ok: true })
    const settled = await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement).toMatchObject({ endReason: 'operator_hangup', chargedCents: settled.call!.settlement!.billedMinutes * 100 })
    expect(settled.call!.settlement!.billedMinutes).toBeGreaterThanOrEqual(2)
    expect(await plugin.core.acknowledgeCallEnd()).toEqual({ ok: true })
    await plugin.waitFor((s) => s.presence === 'online', 'online again')
  })

  it('in the platform’s room: its join in the state, a fresh token halfway through its life, no heartbeats, and no charge when it never connects', async () => {
    const network = recordingFetch()
    const plugin = await signedInCore({ fetch: network.fetch })
    const member = await createMember(stack.db, { fundedCents: 500 })
    const connecting = await acceptRequest(plugin, member, 'video')
    const callId = connecting.call!.callId
    expect(connecting.call).toMatchObject({ channel: 'video', memberFacts: { fundedMinutes: 5 } })
    const first = connecting.call!.media!
    await expectJoinFor(first, callId, plugin.operator.id)
    expect(Date.parse(first.expiresAt) - Date.now()).toBeLessThanOrEqual(MEDIA_TOKEN_TTL_S * 1000)
    await plugin.waitFor((s) => s.presence === 'busy', 'busy while the member joins')

    // Halfway through the token's life the plugin asks for another, for the same room.
    const renewed = await plugin.waitFor((s) => s.call?.media != null && s.call.media.token !== first.token, 'a renewed room token', 8_000)
    await expectJoinFor(renewed.call!.media!, callId, plugin.operator.id)
    expect(network.requests).toContain(`POST /calls/${callId}/media-token`)

    // Nobody joined: the platform gives up, says why, and charges nothing.
    const ended = await plugin.waitFor((s) => s.call?.phase === 'ended' && s.call.endReason !== null, 'the call to give up connecting', CONNECT_TIMEOUT_MS + 20_000)
    expect(ended.call).toMatchObject({
      endedBy: 'platform',
      endReason: 'not_connected',
      media: null,
      hangUpPrompt: null,
      endNotice: 'The call never connected, so it never started. Nothing was charged.',
    })
    const settled = await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement).toEqual({ billedMinutes: 0, chargedCents: 0, operatorEarningsCents: 0, endReason: 'not_connected' })
    expect(plugin.notifications).toContainEqual({ kind: 'call_ended', title: `Call with ${member.displayName} ended`, body: 'The call never connected, so it never started. Nothing was charged.' })
    expect(await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { status: true, endReason: true, chargedCents: true } })).toEqual({
      status: 'settled',
      endReason: 'not_connected',
      chargedCents: 0n,
    })
    expect(await moneyMovedBy(callId)).toBe(0)
    // A call in the room lives by what the media server sees: the plugin sent it no heartbeat.
    expect(network.requests.filter((request) => request.includes(`/calls/${callId}/heartbeat`))).toEqual([])
    await plugin.core.acknowledgeCallEnd()
    await plugin.waitFor((s) => s.presence === 'online', 'online again')
  })

  it('recovers a call still connecting after a restart: busy again, and it connects and runs', async () => {
    const plugin = await signedInCore()
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const connecting = await acceptRequest(plugin, member, 'outside')
    const callId = connecting.call!.callId
    await plugin.core.halt()

    const restarted = await openCore({ platformUrl: stack.url, dataDir: plugin.dataDir, cipher: plugin.keychain })
    cleanups.push(() => restarted.core.shutdown())
    const recovered = await restarted.waitFor((s) => s.call?.callId === callId && s.presence === 'busy', 'the connecting call recovered')
    expect(recovered.call).toMatchObject({ phase: 'connecting', member: { id: member.id, displayName: member.displayName }, elapsedSeconds: 0 })

    const restartedAt = new Date()
    await memberConfirms(stack, member, callId)
    await restarted.waitFor((s) => s.call?.phase === 'active' && s.call.billedMinutes >= 1, 'the recovered call to run')
    await eventually(async () => {
      const { lastHeartbeatAt } = await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { lastHeartbeatAt: true } })
      return lastHeartbeatAt > restartedAt ? true : undefined
    }, 15_000, 'a heartbeat from the restarted plugin')
    expect(await restarted.core.endCall('operator_hangup')).toEqual({ ok: true })
    const settled = await restarted.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement!.billedMinutes).toBeGreaterThanOrEqual(1)
  })

  it('recovers a call in the platform’s room after a restart with a fresh token to rejoin, and a hang-up first costs nothing', async () => {
    const plugin = await signedInCore()
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const connecting = await acceptRequest(plugin, member, 'audio')
    const callId = connecting.call!.callId
    const before = connecting.call!.media!
    await plugin.core.halt()

    const network = recordingFetch()
    const restarted = await openCore({ platformUrl: stack.url, dataDir: plugin.dataDir, cipher: plugin.keychain, fetch: network.fetch })
    cleanups.push(() => restarted.core.shutdown())
    const recovered = await restarted.waitFor(
      (s) => s.call?.callId === callId && s.call.media != null && s.call.media.token !== before.token,
      'the call recovered with a fresh room token',
    )
    expect(recovered.call).toMatchObject({ phase: 'connecting', channel: 'audio' })
    await expectJoinFor(recovered.call!.media!, callId, plugin.operator.id)
    // Asked for at once, not when the old one would have been due.
    expect(network.requests.indexOf(`POST /calls/${callId}/media-token`)).toBeGreaterThanOrEqual(0)
    await restarted.waitFor((s) => s.presence === 'busy', 'busy again')

    // The operator hangs up before the member joined: the call ends, says so, and nothing is charged.
    expect(await restarted.core.endCall('operator_hangup')).toEqual({ ok: true })
    expect(restarted.core.state.call).toMatchObject({ phase: 'ending', media: null })
    const settled = await restarted.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call).toMatchObject({ phase: 'ended', endedBy: 'operator', endNotice: null, settlement: { billedMinutes: 0, chargedCents: 0, endReason: 'operator_hangup' } })
    expect(await moneyMovedBy(callId)).toBe(0)
  })
})
