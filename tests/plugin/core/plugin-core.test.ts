import { randomUUID } from 'node:crypto'
import { watch } from 'node:fs'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { emitEvent } from '../../../activities/outbox.js'
import { createScheduledCallActivities } from '../../../activities/scheduled-calls.js'
import { PlatformApi } from '../../../plugin/src/core/platform-api.js'
import { platformUrlProblem } from '../../../plugin/src/core/platform-url.js'
import { CALL_REQUEST_TTL_MS, requestCall } from '../../../web-remix/app/calls/requests.server.js'
import type { PlatformServices } from '../../../web-remix/app/plugin-api/services.server.js'
import { MAX_FAILURES_PER_ACCOUNT } from '../../../web-remix/app/auth/throttle.server.js'
import { ownAddress } from '../../support/portal-client.js'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createMember, createOperator, eventually, memberConfirms, PASSWORD } from '../../web-remix/plugin-client.js'
import { openCore, tempDataDir, testKeychain, type CoreUnderTest } from '../support/core-harness.js'
import { startTcpProxy } from '../support/tcp-proxy.js'

// The plugin's headless core against the real platform (web, worker, Temporal, PostgreSQL) with 1-s billing periods:
// what an operator does with the plugin, and what happens to it when the network, the process or the token fails.

let stack: WebStack
let mediaDir: string
const cleanups: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'perminute-media-'))
  stack = await startWebStack({ env: { MEDIA_DIR: mediaDir, TRUST_PROXY: 'loopback' } })
}, 180_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await stopAfterLedgerCheck(stack)
  await rm(mediaDir, { recursive: true, force: true })
}, 60_000)

async function newDataDir(): Promise<string> {
  const dir = await tempDataDir()
  cleanups.push(dir.remove)
  return dir.path
}

/** A core on its own data directory, signed in as a new operator (and linked, unless told not to). */
async function signedInCore(options: { rate?: number; link?: boolean; platformUrl?: string; dataDir?: string; keychain?: ReturnType<typeof testKeychain>; fetch?: typeof fetch } = {}) {
  const operator = await createOperator(stack.db, { ratePerMinuteCents: options.rate ?? 100 })
  const dataDir = options.dataDir ?? (await newDataDir())
  const keychain = options.keychain ?? testKeychain()
  const plugin = await openCore({ platformUrl: options.platformUrl ?? stack.url, dataDir, cipher: keychain, fetch: options.fetch })
  cleanups.push(() => plugin.core.shutdown())
  expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
  const handle = `op-${randomUUID().slice(0, 8)}`
  if (options.link !== false) {
    expect(await plugin.core.link('discord', handle)).toEqual({ ok: true })
  }
  return { ...plugin, operator, dataDir, keychain, handle }
}

const presenceOf = async (operatorId: string) =>
  (await stack.db.operator.findUniqueOrThrow({ where: { userId: operatorId }, select: { presence: true } })).presence

type Member = Awaited<ReturnType<typeof createMember>>

/**
 * The call the operator accepted connects: on the operator's outside app it starts when the member confirms it on
 * their page (what the page's button does), and the plugin sees it run.
 */
async function connect(plugin: CoreUnderTest, member: Member) {
  const connecting = await plugin.waitFor((s) => s.call?.phase === 'connecting', 'the call to be connecting')
  await memberConfirms(stack, member, connecting.call!.callId)
  return plugin.waitFor((s) => s.call?.phase === 'active', 'the call to be active')
}

/** The member asks the operator for a call; the caller's card shows and the call starts from it, as the operator's click would. */
async function startCallWith(plugin: CoreUnderTest & { operator: { id: string } }, member: Member) {
  await askForCall(stack.db, member, plugin.operator)
  expect(await plugin.core.lookUpCaller(member.handle)).toEqual({ ok: true })
  const card = plugin.core.state.cards.find((c) => c.member.handle === member.handle && c.verified)!
  expect(await plugin.core.acceptCard(card.cardId)).toEqual({ ok: true })
  return connect(plugin, member)
}

// Generous limits: the machine is shared, and these tests wait on real timers of a real platform.
describe('the plugin core against the platform', { timeout: 120_000 }, () => {
  it('signs in, links the calling account, appears online, keeps the token only encrypted, and goes offline at sign-out', async () => {
    const operator = await createOperator(stack.db, { ratePerMinuteCents: 150 })
    const dataDir = await newDataDir()
    const keychain = testKeychain()
    const plugin = await openCore({ platformUrl: stack.url, dataDir, cipher: keychain })
    expect(plugin.core.state).toMatchObject({ screen: 'sign_in', signInMessage: null, tokenStorage: 'keychain' })

    expect(await plugin.core.signIn(operator.email, 'not-the-password')).toMatchObject({ ok: false, code: 'invalid_credentials' })
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    // Signed in, not linked yet: not "Connected", not online.
    expect(plugin.core.state).toMatchObject({
      screen: 'link',
      connected: false,
      operator: { id: operator.id, displayName: operator.displayName, ratePerMinuteCents: 150 },
    })
    expect(await presenceOf(operator.id)).toBe('offline')

    // The token is on disk only encrypted: neither it nor the operator's name can be read from the file.
    const token = (await stack.db.pluginToken.count({ where: { userId: operator.id, revokedAt: null } })) === 1
    expect(token).toBe(true)
    const sessionFile = await readFile(join(dataDir, 'session.bin'))
    expect(sessionFile.toString('latin1')).not.toContain(operator.displayName)
    expect(sessionFile.toString('latin1')).not.toMatch(/[A-Za-z0-9_-]{43}/)

    const handle = `op-${randomUUID().slice(0, 8)}`
    expect(await plugin.core.link('sip', handle)).toEqual({ ok: true })
    await plugin.waitFor((s) => s.screen === 'connected' && s.connected && s.presence === 'online' && s.stream === 'live', 'Connected and online')
    expect(plugin.core.state.link).toEqual({ provider: 'sip', handle })
    expect(await presenceOf(operator.id)).toBe('online')
    const user = await stack.db.user.findUniqueOrThrow({ where: { id: operator.id } })
    expect({ provider: user.callingProvider, handle: user.callingHandle }).toEqual({ provider: 'sip', handle })

    // A handle another account holds is refused with the reason.
    const member = await createMember(stack.db)
    expect(await plugin.core.link('discord', member.handle)).toMatchObject({ ok: false, code: 'handle_taken', message: expect.stringContaining('another account') })

    // The next start needs no sign-in: the session comes back from the keychain and the operator is online again.
    await plugin.core.halt()
    const restarted = await openCore({ platformUrl: stack.url, dataDir, cipher: keychain })
    cleanups.push(() => restarted.core.shutdown())
    await restarted.waitFor((s) => s.screen === 'connected' && s.presence === 'online', 'the resumed session to be connected')
    expect(restarted.core.state.operator?.id).toBe(operator.id)

    expect(await restarted.core.signOut()).toEqual({ ok: true })
    expect(restarted.core.state).toMatchObject({ screen: 'sign_in', signInMessage: null, operator: null })
    expect(await presenceOf(operator.id)).toBe('offline')
    expect(await stack.db.pluginToken.count({ where: { userId: operator.id, revokedAt: null } })).toBe(0)
    await expect(readFile(join(dataDir, 'session.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
  })

  it('keeps the token in memory only where no keychain is available', async () => {
    const operator = await createOperator(stack.db)
    const dataDir = await newDataDir()
    const plugin = await openCore({ platformUrl: stack.url, dataDir, cipher: testKeychain({ available: false }) })
    cleanups.push(() => plugin.core.shutdown())
    expect(plugin.core.state.tokenStorage).toBe('memory')
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
    await expect(readFile(join(dataDir, 'session.bin'))).rejects.toMatchObject({ code: 'ENOENT' })
    await plugin.core.halt()
    const restarted = await openCore({ platformUrl: stack.url, dataDir, cipher: testKeychain({ available: false }) })
    expect(restarted.core.state.screen).toBe('sign_in')
    await restarted.core.shutdown()
  })

  it("shows a member's card with a notification for their handle, nothing for anyone else's, and reopens it later", async () => {
    const plugin = await signedInCore({ rate: 100 })
    const member = await createMember(stack.db, { fundedCents: 1_250 })

    expect(await plugin.core.lookUpCaller(`nobody-${randomUUID()}`)).toMatchObject({ ok: false, code: 'member_not_found' })
    const operatorHandle = await createOperator(stack.db)
    await stack.db.user.update({ where: { id: operatorHandle.id }, data: { callingHandle: `op-as-caller-${randomUUID().slice(0, 8)}` } })
    const user = await stack.db.user.findUniqueOrThrow({ where: { id: operatorHandle.id } })
    expect(await plugin.core.lookUpCaller(user.callingHandle!)).toMatchObject({ ok: false, code: 'member_not_found' })
    // A member who has not asked this operator for a call is a stranger too (a perminute:// link proves nothing).
    expect(await plugin.core.lookUpCaller(member.handle)).toMatchObject({ ok: false, code: 'member_not_found' })
    // Each sighting leaves a card marked unverified, which cannot start a call, and no notification.
    expect(plugin.core.state.cards).toHaveLength(3)
    for (const unverified of plugin.core.state.cards) {
      expect(unverified).toMatchObject({ source: 'caller', verified: false, member: { id: null }, refusal: expect.stringContaining('No member asking you') })
      expect(await plugin.core.acceptCard(unverified.cardId)).toMatchObject({ ok: false, code: 'call_request_required' })
      expect(await plugin.core.dismissCard(unverified.cardId)).toEqual({ ok: true })
    }
    expect(plugin.core.state.cards).toEqual([])
    expect(plugin.notifications).toEqual([])
    expect(plugin.core.state.call).toBeNull()

    // The member asks on the website: the request comes up with a notification of its own; then they call, and the
    // look-up of their handle turns it into the caller's card.
    const requestId = await askForCall(stack.db, member, plugin.operator)
    await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${requestId}`), 'the request card')
    expect(plugin.notifications).toEqual([{ kind: 'request', title: `${member.displayName} asks for a call`, body: expect.stringContaining('a call now') }])
    expect(await plugin.core.lookUpCaller(`  ${member.handle} `)).toEqual({ ok: true })
    expect(plugin.core.state.cards).toHaveLength(1)
    const [card] = plugin.core.state.cards
    expect(card).toMatchObject({
      source: 'caller',
      verified: true,
      member: { id: member.id, displayName: member.displayName, handle: member.handle },
      summary: { availableCents: 1_250, fundedMinutes: 12, averageSpendCents: 0, paidCalls: 0, rating: { average: null, count: 0 } },
      request: { requestId, mode: 'per_minute', prepaidMinutes: null, ratePerMinuteCents: 100 },
      status: 'waiting',
    })
    expect(plugin.notifications).toEqual([
      expect.objectContaining({ kind: 'request' }),
      { kind: 'caller', title: `${member.displayName} is calling`, body: expect.stringContaining('12 min') },
    ])

    // A short call, so the member appears in today's list; then the card comes back from that list.
    expect(await plugin.core.acceptCard(card!.cardId)).toEqual({ ok: true })
    await connect(plugin, member)
    await plugin.waitFor((s) => s.call?.phase === 'active' && s.call.billedMinutes >= 1, 'a billed minute')
    expect(await plugin.core.endCall('member_hangup')).toEqual({ ok: true })
    const ended = await plugin.waitFor((s) => s.call?.settlement !== null && s.call?.settlement !== undefined, 'the settlement')
    expect(ended.call).toMatchObject({ phase: 'ended', endedBy: 'operator', hangUpPrompt: null, settlement: { endReason: 'member_hangup' } })
    expect(await plugin.core.acknowledgeCallEnd()).toEqual({ ok: true })
    expect(plugin.core.state.call).toBeNull()
    const callId = plugin.core.state.today.calls[0]!.callId
    expect(await plugin.core.dismissCard(`member:${member.id}`)).toEqual({ ok: true })
    // Without a new request the card comes back unverified: it shows who, and cannot start a call.
    expect(await plugin.core.reopenMemberCard(callId)).toEqual({ ok: true })
    expect(plugin.core.state.cards[0]).toMatchObject({ source: 'reopened', verified: false, member: { id: member.id }, summary: null })
    await askForCall(stack.db, member, plugin.operator)
    expect(await plugin.core.reopenMemberCard(callId)).toEqual({ ok: true })
    const reopened = plugin.core.state.cards[0]!
    expect(reopened).toMatchObject({ source: 'reopened', verified: true, member: { id: member.id }, summary: { paidCalls: 1 } })
    expect(reopened.summary!.availableCents).toBeLessThan(1_250)
    // Reopening is the operator's own doing: no notification for it.
    expect(plugin.notifications.filter((n) => n.kind === 'caller')).toHaveLength(1)
  })

  it("keeps the caller's card that a look-up shows while the member's request is coming in", async () => {
    // The two meet on purpose: the request event is held until the look-up's answer has arrived, and that answer is
    // held until the plugin, handling the event, writes its record (where it used to wait before showing the request).
    // The request must then not replace the caller's card the look-up shows meanwhile (one being started, say).
    const signal = () => {
      let resolve = () => {}
      const promise = new Promise<void>((done) => (resolve = done))
      return { promise, resolve }
    }
    const hold = { armed: false, lookupArrived: signal(), recordWritten: signal() }
    const urlOf = (input: Parameters<typeof fetch>[0]) => String(input instanceof Request ? input.url : input)
    const meeting: typeof fetch = async (input, init) => {
      const response = await fetch(input, init)
      if (urlOf(input).endsWith('/api/plugin/v1/events') && response.body) {
        const held = response.body.pipeThrough(
          new TransformStream<Uint8Array, Uint8Array>({
            async transform(chunk, controller) {
              if (hold.armed && new TextDecoder().decode(chunk).includes('call.requested')) await hold.lookupArrived.promise
              controller.enqueue(chunk)
            },
          }),
        )
        return new Response(held, { status: response.status, headers: response.headers })
      }
      if (hold.armed && urlOf(input).includes('/api/plugin/v1/members/lookup')) {
        hold.armed = false
        const body = await response.arrayBuffer()
        hold.lookupArrived.resolve()
        await hold.recordWritten.promise
        return new Response(body, { status: response.status, headers: response.headers })
      }
      return response
    }
    const plugin = await signedInCore({ rate: 100, fetch: meeting })
    await plugin.waitFor((s) => s.stream === 'live', 'the event stream')
    const member = await createMember(stack.db, { fundedCents: 1_000 })
    const watcher = watch(join(plugin.dataDir, 'operators'), (_change, name) => {
      if (String(name).endsWith('.tmp')) hold.recordWritten.resolve()
    })
    cleanups.push(async () => watcher.close())
    // Never longer than this, whatever happens.
    setTimeout(() => hold.recordWritten.resolve(), 10_000).unref()

    hold.armed = true
    const requestId = await askForCall(stack.db, member, plugin.operator)
    expect(await plugin.core.lookUpCaller(member.handle)).toEqual({ ok: true })
    await eventually(async () => plugin.notifications.find((n) => n.kind === 'request'), 15_000, 'the request notification')
    expect(plugin.core.state.cards).toHaveLength(1)
    expect(plugin.core.state.cards[0]).toMatchObject({
      cardId: `member:${member.id}`,
      source: 'caller',
      verified: true,
      status: 'waiting',
      summary: { fundedMinutes: 10 },
      request: { requestId },
    })
    expect(plugin.notifications.map((n) => n.kind)).toEqual(['request', 'caller'])
    expect(await plugin.core.dismissCard(`member:${member.id}`)).toEqual({ ok: true })
  })

  it('runs a whole call: the meter, the low-balance warning, the forced end with a prompt to hang up, and today’s earnings', async () => {
    const plugin = await signedInCore({ rate: 100 })
    // 5 periods of money: the warning comes with the 4th hold (one more period funded), the 6th hold fails.
    const member = await createMember(stack.db, { fundedCents: 500 })
    const broke = await createMember(stack.db, { fundedCents: 50 })

    // A member without the money for one minute: refused with the reason, nothing starts.
    await askForCall(stack.db, broke, plugin.operator)
    await plugin.core.lookUpCaller(broke.handle)
    expect(await plugin.core.acceptCard(`member:${broke.id}`)).toMatchObject({ ok: false, code: 'insufficient_funds' })
    expect(plugin.core.state.cards[0]).toMatchObject({ status: 'refused', refusal: expect.stringContaining('does not have enough money') })
    expect(plugin.core.state.call).toBeNull()
    // Busy while the start was tried, online again after the refusal.
    await eventually(async () => ((await presenceOf(plugin.operator.id)) === 'online' ? true : undefined), 15_000, 'online after the refusal')

    const active = await startCallWith(plugin, member)
    expect(active.call).toMatchObject({ member: { id: member.id }, ratePerMinuteCents: 100, lowBalance: false, endedBy: null })
    await plugin.waitFor((s) => s.presence === 'busy', 'busy during the call')
    expect(await presenceOf(plugin.operator.id)).toBe('busy')

    const metered = await plugin.waitFor((s) => (s.call?.billedMinutes ?? 0) >= 2 && (s.call?.elapsedSeconds ?? 0) >= 1, 'the meter to run')
    expect(metered.call!.chargedCents).toBe(metered.call!.billedMinutes * 100)
    expect(metered.call!.memberAvailableCents).not.toBeNull()

    const low = await plugin.waitFor((s) => s.call?.lowBalance === true, 'the low-balance warning')
    expect(low.call!.memberMinutesLeft).toBeLessThanOrEqual(1)
    // The meter's poll may show the warning before the event that notifies arrives.
    await eventually(async () => plugin.notifications.find((n) => n.kind === 'low_balance' && n.title.includes(member.displayName)), 15_000, 'the low-balance notification')

    // The money runs out: the platform ends the call and the plugin says so at once.
    // Stopped at once (by the call.ending event or a heartbeat's 410), with the reason as soon as it is known.
    await plugin.waitFor((s) => s.call?.phase === 'ended', 'the forced end')
    const forced = await plugin.waitFor((s) => s.call?.endReason != null, 'the reason of the forced end')
    expect(forced.call).toMatchObject({ endedBy: 'platform', endReason: 'funds_exhausted' })
    expect(forced.call!.hangUpPrompt).toMatch(/money ran out.*hang up/i)
    await eventually(async () => plugin.notifications.find((n) => n.kind === 'call_ended' && /hang up/i.test(n.body)), 15_000, 'the hang-up notification')
    // The meter stopped: it no longer moves.
    const stoppedAt = forced.call!.elapsedSeconds
    await new Promise((resolve) => setTimeout(resolve, 1_200))
    expect(plugin.core.state.call!.elapsedSeconds).toBe(stoppedAt)

    const settled = await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement).toMatchObject({ billedMinutes: 5, chargedCents: 500, endReason: 'funds_exhausted' })
    await plugin.waitFor((s) => s.presence === 'online', 'online again after the call')

    const today = plugin.core.state.today
    expect(today.calls).toHaveLength(1)
    const row = await stack.db.call.findFirstOrThrow({ where: { operatorId: plugin.operator.id } })
    expect(today.calls[0]).toMatchObject({ callId: row.id, member: { id: member.id }, billedMinutes: 5, chargedCents: 500, endReason: 'funds_exhausted' })
    expect(today).toMatchObject({ chargedCents: 500, earningsCents: Number(row.operatorEarningsCents) })
    expect(today.earningsCents).toBeGreaterThan(0)

    expect(await plugin.core.acknowledgeCallEnd()).toEqual({ ok: true })
    expect(plugin.core.state.call).toBeNull()
  })

  it('stops the meter and tells the operator when a heartbeat is answered 410', async () => {
    // The event stream is unreachable for this plugin, so the heartbeat is the only way it can learn of the end.
    const blockStream: typeof fetch = (input, init) =>
      String(input instanceof Request ? input.url : input).endsWith('/api/plugin/v1/events')
        ? Promise.reject(new TypeError('fetch failed'))
        : fetch(input, init)
    const plugin = await signedInCore({ fetch: blockStream })
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    const active = await startCallWith(plugin, member)

    // The call is ended from elsewhere (another device of the same operator).
    const other = new PlatformApi({ baseUrl: stack.url })
    await other.login(plugin.operator.email, PASSWORD)
    expect((await other.endCall(active.call!.callId, 'other')).status).toBe('settled')

    const ended = await plugin.waitFor((s) => s.call?.phase === 'ended', 'the 410 to end the call')
    expect(ended.call).toMatchObject({ endedBy: 'platform' })
    expect(ended.call!.hangUpPrompt).toMatch(/hang up/i)
    const settled = await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement!.endReason).toBe('other')
    expect(settled.call!.hangUpPrompt).toMatch(/ended outside this plugin.*hang up/i)
    expect(plugin.core.state.stream).not.toBe('live')
  })

  it('queues a call end on disk when the network drops, and delivers it with the same key after reconnection', async () => {
    const proxy = await startTcpProxy(stack.url)
    cleanups.push(() => proxy.close())
    const plugin = await signedInCore({ platformUrl: proxy.url })
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    await plugin.waitFor((s) => s.stream === 'live', 'the event stream')
    // A first call gives the stream a position to resume from (its settled event's id).
    await startCallWith(plugin, member)
    await plugin.core.endCall('operator_hangup')
    await plugin.waitFor((s) => s.call?.settlement != null && s.today.calls.length === 1, 'the first call settled')
    await eventually(async () => {
      const record = JSON.parse(await readFile(join(plugin.dataDir, 'operators', `${plugin.operator.id}.json`), 'utf8')) as { lastEventId: string | null }
      return record.lastEventId ?? undefined
    }, 15_000, 'a saved stream position')
    await plugin.core.acknowledgeCallEnd()

    const active = await startCallWith(plugin, member)
    const callId = active.call!.callId
    await plugin.waitFor((s) => (s.call?.billedMinutes ?? 0) >= 1, 'a billed minute')

    await proxy.cut()
    expect(await plugin.core.endCall('operator_hangup')).toEqual({ ok: true })
    const waiting = await plugin.waitFor((s) => s.stream === 'reconnecting' && s.problem !== null, 'the plugin to notice the drop')
    expect(waiting.pendingCallEnds).toBe(1)
    expect(waiting.call).toMatchObject({ phase: 'ending', endedBy: 'operator' })

    // On disk, with the reason first chosen, tried and not yet answered; the platform has not heard of it.
    const queued = await eventually(async () => {
      const file = JSON.parse(await readFile(join(plugin.dataDir, 'call-ends.json'), 'utf8')) as { ends: Array<Record<string, unknown>> }
      const end = file.ends.find((e) => e.callId === callId)
      return end && (end.attempts as number) >= 2 ? end : undefined
    }, 15_000, 'failed attempts recorded on disk')
    expect(queued).toMatchObject({ reason: 'operator_hangup', acknowledged: false, lastError: expect.any(String) })
    expect(await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { status: true, endRequestedAt: true } })).toEqual({
      status: 'active',
      endRequestedAt: null,
    })

    await proxy.restore()
    const settled = await plugin.waitFor((s) => s.call?.settlement != null && s.pendingCallEnds === 0, 'the end to be delivered', 30_000)
    expect(settled.call!.settlement!.endReason).toBe('operator_hangup')
    const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId } })
    expect(row).toMatchObject({ status: 'settled', endReason: 'operator_hangup', endRequestReason: 'operator_hangup' })
    expect(Number(row.chargedCents)).toBe(settled.call!.settlement!.chargedCents)
    expect(JSON.parse(await readFile(join(plugin.dataDir, 'call-ends.json'), 'utf8')).ends).toEqual([])

    // The stream came back and resumed after the last event it had: the settled event reached today's list with
    // the platform's own times.
    await plugin.waitFor((s) => s.stream === 'live', 'the stream to reconnect')
    const today = await plugin.waitFor((s) => s.today.calls.some((c) => c.callId === callId && c.startedAtMs === row.startedAt.getTime()), "the platform's times in today's list")
    expect(today.today.calls.filter((c) => c.callId === callId)).toHaveLength(1)
  })

  it('delivers a call end queued before a restart from the next run', async () => {
    const proxy = await startTcpProxy(stack.url)
    cleanups.push(() => proxy.close())
    const plugin = await signedInCore({ platformUrl: proxy.url })
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    const active = await startCallWith(plugin, member)
    const callId = active.call!.callId

    await proxy.cut()
    expect(await plugin.core.endCall('member_hangup')).toEqual({ ok: true })
    await plugin.core.halt()
    expect(JSON.parse(await readFile(join(plugin.dataDir, 'call-ends.json'), 'utf8')).ends).toMatchObject([{ callId, reason: 'member_hangup' }])

    await proxy.restore()
    const next = await openCore({ platformUrl: proxy.url, dataDir: plugin.dataDir, cipher: plugin.keychain })
    cleanups.push(() => next.core.shutdown())
    const settled = await next.waitFor((s) => s.call?.settlement != null && s.pendingCallEnds === 0, 'the queued end to be delivered')
    expect(settled.call).toMatchObject({ callId, endedBy: 'operator', settlement: { endReason: 'member_hangup' } })
    expect(await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { endRequestReason: true, status: true } })).toEqual({
      endRequestReason: 'member_hangup',
      status: 'settled',
    })
  })

  it('recovers a call from the platform after a restart mid-call and carries on', async () => {
    const plugin = await signedInCore({ rate: 100 })
    const member = await createMember(stack.db, { fundedCents: 5_000 })
    const active = await startCallWith(plugin, member)
    const callId = active.call!.callId
    const before = await plugin.waitFor((s) => (s.call?.billedMinutes ?? 0) >= 2, 'two billed minutes')

    await plugin.core.halt()
    const haltedAt = new Date()
    const restarted = await openCore({ platformUrl: stack.url, dataDir: plugin.dataDir, cipher: plugin.keychain })
    cleanups.push(() => restarted.core.shutdown())
    const recovered = await restarted.waitFor(
      (s) => s.call?.phase === 'active' && s.call.callId === callId && s.call.memberAvailableCents !== null,
      'the call to be recovered',
    )
    expect(recovered.call!.member).toEqual({ id: member.id, displayName: member.displayName, handle: member.handle })
    expect(recovered.call!.billedMinutes).toBeGreaterThanOrEqual(before.call!.billedMinutes)
    expect(recovered.call!.elapsedSeconds).toBeGreaterThanOrEqual(before.call!.elapsedSeconds)
    await restarted.waitFor((s) => s.presence === 'busy', 'busy again')

    // Heartbeats flow again from the new run.
    await eventually(async () => {
      const row = await stack.db.call.findUniqueOrThrow({ where: { id: callId }, select: { lastHeartbeatAt: true } })
      return row.lastHeartbeatAt > haltedAt ? row : undefined
    }, 15_000, 'a heartbeat from the restarted plugin')

    expect(await restarted.core.endCall('operator_hangup')).toEqual({ ok: true })
    const settled = await restarted.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement!.billedMinutes).toBeGreaterThanOrEqual(before.call!.billedMinutes)
    expect(settled.today.calls.map((c) => c.callId)).toContain(callId)
  })

  it('sends the operator back to sign-in with a clear message when the token is revoked or the account disabled', async () => {
    const plugin = await signedInCore()
    await plugin.waitFor((s) => s.presence === 'online', 'online')
    // Signed out from elsewhere: the same token revoked.
    const session = await stack.db.pluginToken.findFirstOrThrow({ where: { userId: plugin.operator.id, revokedAt: null } })
    await stack.db.pluginToken.update({ where: { tokenHash: session.tokenHash }, data: { revokedAt: new Date() } })

    const out = await plugin.waitFor((s) => s.screen === 'sign_in', 'the sign-in screen')
    expect(out.signInMessage).toMatch(/expired or was revoked.*sign in again/i)
    expect(plugin.notifications.some((n) => n.kind === 'signed_out')).toBe(true)
    await expect(readFile(join(plugin.dataDir, 'session.bin'))).rejects.toMatchObject({ code: 'ENOENT' })

    // Signing in again works, and a token revoked while the plugin was closed is caught at the next start.
    expect(await plugin.core.signIn(plugin.operator.email, PASSWORD)).toEqual({ ok: true })
    await plugin.waitFor((s) => s.screen === 'connected', 'connected again (the link was kept)')
    await plugin.core.halt()
    await stack.db.pluginToken.updateMany({ where: { userId: plugin.operator.id }, data: { revokedAt: new Date() } })
    const next = await openCore({ platformUrl: stack.url, dataDir: plugin.dataDir, cipher: plugin.keychain })
    cleanups.push(() => next.core.shutdown())
    expect(next.core.state).toMatchObject({ screen: 'sign_in', signInMessage: expect.stringMatching(/expired or was revoked/) })

    // A disabled account says so.
    expect(await next.core.signIn(plugin.operator.email, PASSWORD)).toEqual({ ok: true })
    await stack.db.user.update({ where: { id: plugin.operator.id }, data: { status: 'disabled' } })
    const disabled = await next.waitFor((s) => s.screen === 'sign_in', 'the sign-in screen after disabling')
    expect(disabled.signInMessage).toMatch(/disabled/)
    expect(await next.core.signIn(plugin.operator.email, PASSWORD)).toMatchObject({ ok: false, code: 'account_disabled', message: expect.stringMatching(/disabled/) })
  })

  it('says how long to wait, in minutes, when the platform throttles sign-in', async () => {
    const operator = await createOperator(stack.db)
    // From an address of its own (the stack believes X-Forwarded-For from loopback), so no other test's failures count.
    const from = ownAddress()
    const viaOwnAddress: typeof fetch = (input, init) => fetch(input, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...from } })
    const plugin = await openCore({ platformUrl: stack.url, dataDir: await newDataDir(), cipher: testKeychain(), fetch: viaOwnAddress })
    cleanups.push(() => plugin.core.shutdown())
    for (let i = 0; i < MAX_FAILURES_PER_ACCOUNT; i++) {
      expect(await plugin.core.signIn(operator.email, `wrong-${i}`)).toMatchObject({ ok: false, code: 'invalid_credentials' })
    }
    expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: false, code: 'too_many_attempts', message: 'Too many attempts, try again in 15 minutes.' })
    expect(plugin.core.state).toMatchObject({ screen: 'sign_in', operator: null })
  })

  it('shows requests from the website as cards, starts the call that answers one, and declines another', async () => {
    const plugin = await signedInCore({ rate: 100 })
    await plugin.waitFor((s) => s.stream === 'live' && s.presence === 'online', 'online with the event stream')
    const member = await createMember(stack.db, { fundedCents: 900 })
    // The member side's own code makes the requests (what the profile page's "Call now" does).
    const services = { db: stack.db, config: stack.config } as PlatformServices
    const asMember = (who: { id: string; email: string; displayName: string }) => ({ ...who, role: 'member' as const, emailVerified: true })
    const ask = async (
      who: Awaited<ReturnType<typeof createMember>>,
      input: { mode: 'per_minute' | 'prepaid'; prepaidMinutes: number | null; channel?: 'audio' | 'video' | 'outside' },
      now?: Date,
    ) => {
      const outcome = await requestCall(services, asMember(who), { operatorId: plugin.operator.id, ...input }, now)
      if (!outcome.ok) throw new Error(`the request was refused: ${outcome.message}`)
      return outcome.requestId
    }

    // One that lapsed already (replayed, say) is not shown.
    await stack.db.$transaction((tx) =>
      emitEvent(tx, {
        type: 'call.requested',
        memberId: null,
        operatorId: plugin.operator.id,
        callId: null,
        payload: { requestId: randomUUID(), memberId: member.id, memberDisplayName: member.displayName, memberHandle: member.handle, mode: 'per_minute', prepaidMinutes: null, ratePerMinuteCents: 100, requestedAt: new Date(Date.now() - 180_000).toISOString(), expiresAt: new Date(Date.now() - 60_000).toISOString() },
      }),
    )
    // On the operator's linked app: the member confirms on their page once the operator has picked up there.
    const requestId = await ask(member, { mode: 'per_minute', prepaidMinutes: null, channel: 'outside' })
    const shown = await plugin.waitFor((s) => s.cards.some((c) => c.source === 'request' && c.summary !== null), 'the request card with funds')
    expect(shown.cards).toHaveLength(1)
    expect(shown.cards[0]).toMatchObject({
      cardId: `request:${requestId}`,
      member: { id: member.id, displayName: member.displayName, handle: member.handle },
      summary: { fundedMinutes: 9 },
      request: { requestId, mode: 'per_minute', prepaidMinutes: null, channel: 'outside' },
    })
    expect(plugin.notifications).toMatchObject([{ kind: 'request', title: `${member.displayName} asks for a call`, body: expect.stringContaining('a call now') }])

    // Accepted: the call starts and answers the request.
    expect(await plugin.core.acceptCard(`request:${requestId}`)).toEqual({ ok: true })
    const active = await connect(plugin, member)
    expect(active.cards).toEqual([])
    expect(active.call!.member.id).toBe(member.id)
    const answered = await stack.db.callRequest.findUniqueOrThrow({ where: { id: requestId } })
    expect(answered).toMatchObject({ status: 'accepted', callId: active.call!.callId })
    expect(await plugin.core.endCall('operator_hangup')).toEqual({ ok: true })
    await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    await plugin.core.acknowledgeCallEnd()
    await plugin.waitFor((s) => s.presence === 'online', 'online again')

    // A prepaid block from a member without a calling handle: the card shows what is known; declining it tells them.
    const noHandle = await createMember(stack.db, { fundedCents: 1_000 })
    await stack.db.user.update({ where: { id: noHandle.id }, data: { callingHandle: null } })
    const block = await ask(noHandle, { mode: 'prepaid', prepaidMinutes: 5 })
    const bare = await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${block}`), 'the prepaid request')
    // Asked in the platform's room by default: an audio call.
    expect(bare.cards.find((c) => c.cardId === `request:${block}`)).toMatchObject({ summary: null, member: { handle: null }, request: { mode: 'prepaid', prepaidMinutes: 5, channel: 'audio' } })
    expect(await plugin.core.dismissCard(`request:${block}`)).toEqual({ ok: true })
    expect(plugin.core.state.cards).toEqual([])
    expect((await stack.db.callRequest.findUniqueOrThrow({ where: { id: block } })).status).toBe('declined')

    // A request about to lapse disappears by itself, and accepting one that closed meanwhile says so.
    const lapsing = await ask(member, { mode: 'per_minute', prepaidMinutes: null }, new Date(Date.now() - CALL_REQUEST_TTL_MS + 3_000))
    await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${lapsing}`), 'the short-lived request')
    await plugin.waitFor((s) => !s.cards.some((c) => c.cardId === `request:${lapsing}`), 'the request to lapse')
    const cancelled = await ask(member, { mode: 'prepaid', prepaidMinutes: 3 })
    await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${cancelled}`), 'the request to cancel')
    await stack.db.callRequest.update({ where: { id: cancelled }, data: { status: 'cancelled' } })
    expect(await plugin.core.acceptCard(`request:${cancelled}`)).toMatchObject({ ok: false, code: 'call_request_closed', message: expect.stringContaining('cancelled or has expired') })
    expect(plugin.core.state.call).toBeNull()
  })

  it('shows a scheduled call that is due as a card, and starts it at the booked terms whatever the price is now', async () => {
    const plugin = await signedInCore({ rate: 100 })
    await plugin.waitFor((s) => s.stream === 'live', 'the event stream')
    const member = await createMember(stack.db, { fundedCents: 2_000 })
    const bookingId = randomUUID()
    await stack.db.scheduledCall.create({
      data: {
        id: bookingId,
        memberId: member.id,
        operatorId: plugin.operator.id,
        startsAt: new Date(),
        minutes: 4,
        memberTimeZone: 'UTC',
        ratePerMinuteCents: 100,
        commissionBps: 2_000,
        companyShareBps: 0,
        status: 'accepted',
        workflowId: `scheduled-call-${bookingId}`,
      },
    })
    // The operator raised the price after the booking was agreed: the call keeps the member's price.
    await stack.db.operator.update({ where: { userId: plugin.operator.id }, data: { ratePerMinuteCents: 300 } })
    // Its time has come: the money is reserved, as the booking's workflow does it, and the plugin is told.
    const schedule = createScheduledCallActivities({ db: stack.db, publicUrl: stack.url })
    expect(await schedule.reserveScheduledFunds({ scheduledCallId: bookingId })).toMatchObject({ status: 'reserved' })
    const shown = await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `booking:${bookingId}`), 'the booking card')
    expect(shown.cards.find((c) => c.cardId === `booking:${bookingId}`)).toMatchObject({
      source: 'booking',
      verified: true,
      member: { id: member.id },
      booking: { scheduledCallId: bookingId, prepaidMinutes: 4, ratePerMinuteCents: 100 },
    })
    expect(plugin.notifications.some((n) => n.kind === 'request' && n.title.includes('is due'))).toBe(true)
    expect(await plugin.core.acceptCard(`booking:${bookingId}`)).toEqual({ ok: true })
    // A booked call is a video call in the platform's room: accepted at the booked terms, connecting, its room joinable.
    const accepted = await plugin.waitFor((s) => s.call?.phase === 'connecting' && s.call.media !== null, 'the booked call')
    expect(accepted.call).toMatchObject({ ratePerMinuteCents: 100, prepaidMinutes: 4, channel: 'video', media: { room: `call-${accepted.call!.callId}` } })
    // The member's money stays reserved for the booking until the call starts (when both are connected).
    const booking = await stack.db.scheduledCall.findUniqueOrThrow({ where: { id: bookingId } })
    expect(booking).toMatchObject({ status: 'reserved' })
    expect(await stack.db.call.findUniqueOrThrow({ where: { id: accepted.call!.callId } })).toMatchObject({ ratePerMinuteCents: 100, prepaidMinutes: 4, status: 'connecting' })
    // Hung up before the member joined: settled at those terms with nothing charged.
    expect(await plugin.core.endCall('operator_hangup')).toEqual({ ok: true })
    const settled = await plugin.waitFor((s) => s.call?.settlement != null, 'the settlement')
    expect(settled.call!.settlement).toMatchObject({ billedMinutes: 0, chargedCents: 0, endReason: 'operator_hangup' })
  })

  it("uploads a video preview to the operator's profile", async () => {
    const plugin = await signedInCore()
    // A WebM file's first bytes (its EBML header), then some payload.
    const video = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, ...Array.from({ length: 4_096 }, (_, i) => i % 251)])
    expect(await plugin.core.uploadProfileVideo(video, 'video/webm;codecs=vp8')).toEqual({ ok: true })
    const { video: uploaded } = plugin.core.state
    expect(uploaded).toMatchObject({ status: 'uploaded', message: null })
    expect(uploaded.videoUrl).toMatch(new RegExp(`^${stack.url}/media/operator-videos/${plugin.operator.id}-[0-9a-f-]{36}\\.webm$`))
    const stored = await stack.db.operator.findUniqueOrThrow({ where: { userId: plugin.operator.id }, select: { videoUrl: true } })
    expect(new URL(uploaded.videoUrl!).pathname).toBe(stored.videoUrl)
    const served = await fetch(uploaded.videoUrl!)
    expect(served.headers.get('content-type')).toBe('video/webm')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(video)

    expect(await plugin.core.uploadProfileVideo(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), 'video/webm')).toMatchObject({ ok: false, code: 'invalid_body' })
    expect(plugin.core.state.video).toMatchObject({ status: 'failed', videoUrl: uploaded.videoUrl })
  })
})

describe('the platform address', () => {
  const PLAIN = 'http://calls.perminute.example'
  /** The network between the plugin and a platform served over plain HTTP: every request it carries, in the clear. */
  function plainNetwork() {
    const carried: Array<{ url: string; body: string | null; authorization: string | null }> = []
    const fetchOverPlainHttp: typeof fetch = async (input, init) => {
      const url = String(input instanceof Request ? input.url : input)
      const headers = new Headers(init?.headers)
      carried.push({ url, body: typeof init?.body === 'string' ? init.body : null, authorization: headers.get('authorization') })
      return fetch(url.replace(PLAIN, stack.url), init)
    }
    return { carried, fetch: fetchOverPlainHttp }
  }

  it('is https://, or http:// to this computer only: the core refuses to sign in over plain HTTP elsewhere', async () => {
    const operator = await createOperator(stack.db)
    const network = plainNetwork()
    const plugin = await openCore({ platformUrl: PLAIN, dataDir: await newDataDir(), cipher: testKeychain(), fetch: network.fetch })
    cleanups.push(() => plugin.core.shutdown())
    expect(plugin.core.state).toMatchObject({ screen: 'sign_in', signInMessage: expect.stringMatching(/not secure \(http:\/\/\)/) })
    const refused = await plugin.core.signIn(operator.email, PASSWORD)
    expect(refused).toMatchObject({ ok: false, code: 'insecure_platform_url', message: expect.stringContaining('only over https://') })
    // Neither the password nor anything else went out.
    expect(network.carried).toEqual([])
    expect(() => new PlatformApi({ baseUrl: PLAIN })).toThrow(/not secure/)
  })

  it('does not send a saved session over plain HTTP either', async () => {
    const first = await signedInCore()
    await first.core.shutdown()
    const network = plainNetwork()
    const again = await openCore({ platformUrl: PLAIN, dataDir: first.dataDir, cipher: first.keychain, fetch: network.fetch })
    cleanups.push(() => again.core.shutdown())
    expect(again.core.state).toMatchObject({ screen: 'sign_in', operator: null, signInMessage: expect.stringMatching(/not secure/) })
    expect(network.carried).toEqual([])
  })

  it('tells loopback from names that only look like it', () => {
    for (const allowed of ['https://calls.perminute.example', 'http://127.0.0.1:3000', 'http://127.8.9.10', 'http://localhost:3000/', 'http://LOCALHOST', 'http://[::1]:3000']) {
      expect(platformUrlProblem(allowed), allowed).toBeNull()
    }
    for (const refused of ['http://127.0.0.1.nip.example', 'http://localhost.example', 'http://10.0.0.7:3000', 'http://[::2]', 'http://0.0.0.0:3000', 'ftp://calls.perminute.example', 'calls.perminute.example']) {
      expect(platformUrlProblem(refused), refused).not.toBeNull()
    }
  })
})
