import { randomUUID } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createUser } from '../../../activities/identity/users.js'
import type { PluginState } from '../../../plugin/src/core/plugin-state.js'
import { PortalClient } from '../../support/portal-client.js'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createOperator, fund, PASSWORD } from '../../web-remix/plugin-client.js'
import { openCore, tempDataDir, testKeychain, type CoreUnderTest } from '../support/core-harness.js'

// The call's chat as the plugin's core follows it against the real platform (docs/decisions/065-call-chat.md): the
// operator writes, the member's answers arrive from the event stream, a settled call takes no more, and the next call
// of the same member shows the earlier conversation above its own. The platform keeps the messages: a restarted core
// reads them again.

let stack: WebStack
const cleanups: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  stack = await startWebStack()
}, 180_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await stopAfterLedgerCheck(stack)
}, 60_000)

async function signedInCore() {
  const operator = await createOperator(stack.db, { ratePerMinuteCents: 100 })
  const dir = await tempDataDir()
  cleanups.push(dir.remove)
  const keychain = testKeychain()
  const plugin = await openCore({ platformUrl: stack.url, dataDir: dir.path, cipher: keychain })
  cleanups.push(() => plugin.core.shutdown())
  expect(await plugin.core.signIn(operator.email, PASSWORD)).toEqual({ ok: true })
  expect(await plugin.core.link('discord', `op-${randomUUID().slice(0, 8)}`)).toEqual({ ok: true })
  await plugin.waitFor((s) => s.stream === 'live' && s.presence === 'online', 'online with the event stream')
  return { ...plugin, operator, dataDir: dir.path, keychain }
}

async function memberOnTheWebsite() {
  const email = `plugin-chat-${randomUUID().slice(0, 8)}@example.test`
  const member = await createUser(stack.db, {
    role: 'member',
    email,
    password: PASSWORD,
    displayName: `Chatty ${email.slice(12, 16)}`,
    callingProvider: 'discord',
    callingHandle: `chatty-${randomUUID().slice(0, 8)}`,
  })
  await stack.db.user.update({ where: { id: member.id }, data: { emailVerifiedAt: new Date() } })
  await fund(stack.db, member.id, 1_000)
  const client = new PortalClient(stack.url)
  await client.logIn(email, PASSWORD)
  return { ...member, client }
}

/** The member asks; the operator accepts from the card: the call is connecting, and its chat is read. */
async function acceptRequest(plugin: CoreUnderTest & { operator: { id: string } }, member: { id: string }) {
  const requestId = await askForCall(stack.db, member, plugin.operator)
  await plugin.waitFor((s) => s.cards.some((c) => c.cardId === `request:${requestId}` && c.summary !== null), 'the request card')
  expect(await plugin.core.acceptCard(`request:${requestId}`)).toEqual({ ok: true })
  return plugin.waitFor((s) => s.call?.phase === 'connecting' && s.call.chat.loaded, 'the connecting call with its chat')
}

const bodies = (state: PluginState) => state.call!.chat.messages.map((line) => `${line.from}: ${line.body}`)

describe('the call’s chat in the plugin core', () => {
  it('sends, receives the member’s answers live, closes at the settlement, and shows the conversation at the next call', async () => {
    const plugin = await signedInCore()
    const member = await memberOnTheWebsite()

    const connecting = await acceptRequest(plugin, member)
    const firstCall = connecting.call!.callId
    expect(connecting.call!.chat).toEqual({ messages: [], earlier: [], loaded: true, open: true, sending: false, problem: null })

    expect(await plugin.core.sendChatMessage('  Hello! I am calling you on Discord now.  ')).toEqual({ ok: true })
    const sent = plugin.core.state.call!.chat.messages
    expect(sent).toEqual([{ id: expect.any(String), from: 'operator', body: 'Hello! I am calling you on Discord now.', sentAtMs: expect.any(Number) }])
    expect(await plugin.core.sendChatMessage('   ')).toMatchObject({ ok: false, code: 'blank' })

    // The member answers on their call page: the event stream brings it, once (the operator's own came back too).
    expect((await member.client.post(`/calls/${firstCall}/messages`, { body: 'Great, ringing you back' })).status).toBe(200)
    const answered = await plugin.waitFor((s) => s.call?.chat.messages.some((line) => line.from === 'member') === true, 'the member’s answer')
    expect(bodies(answered)).toEqual(['operator: Hello! I am calling you on Discord now.', 'member: Great, ringing you back'])

    // Hung up while connecting: settled with nothing charged; the conversation stays on screen, the field goes.
    expect(await plugin.core.endCall('operator_hangup')).toEqual({ ok: true })
    const ended = await plugin.waitFor((s) => s.call?.phase === 'ended' && s.call.settlement !== null, 'the settled call')
    expect(ended.call!.chat.open).toBe(false)
    expect(bodies(ended)).toHaveLength(2)
    // A message the window could still send after the settlement is refused by the platform, in words.
    const late = await plugin.core.sendChatMessage('One more thing')
    expect(late).toEqual({ ok: false, code: 'call_ended', message: 'The call is over: no more messages can be sent.' })
    expect(plugin.core.state.call!.chat.problem).toBe('The call is over: no more messages can be sent.')
    expect(await plugin.core.acknowledgeCallEnd()).toEqual({ ok: true })

    // The member calls again: this call's chat is empty, the earlier conversation is shown above it.
    const again = await acceptRequest(plugin, member)
    const secondCall = again.call!.callId
    expect(secondCall).not.toBe(firstCall)
    expect(again.call!.chat.messages).toEqual([])
    expect(again.call!.chat.earlier.map((line) => `${line.from}: ${line.body}`)).toEqual([
      'operator: Hello! I am calling you on Discord now.',
      'member: Great, ringing you back',
    ])
    const firstStartedAt = (await stack.db.call.findUniqueOrThrow({ where: { id: firstCall } })).startedAt.getTime()
    expect(again.call!.chat.earlier.every((line) => line.callStartedAtMs === firstStartedAt)).toBe(true)

    expect((await member.client.post(`/calls/${secondCall}/messages`, { body: 'Hi again' })).status).toBe(200)
    await plugin.waitFor((s) => s.call?.chat.messages.length === 1, 'the member’s message in the new call')

    // Restarted, the core keeps no messages of its own: it reads the call's and the earlier ones from the platform.
    await plugin.core.halt()
    const restarted = await openCore({ platformUrl: stack.url, dataDir: plugin.dataDir, cipher: plugin.keychain })
    cleanups.push(() => restarted.core.shutdown())
    const recovered = await restarted.waitFor((s) => s.call?.callId === secondCall && s.call.chat.loaded, 'the recovered call’s chat')
    expect(bodies(recovered)).toEqual(['member: Hi again'])
    expect(recovered.call!.chat.earlier).toHaveLength(2)
    expect(await restarted.core.sendChatMessage('Welcome back')).toEqual({ ok: true })
    expect(await stack.db.callMessage.count({ where: { callId: secondCall } })).toBe(2)
    expect(await restarted.core.endCall('operator_hangup')).toEqual({ ok: true })
    await restarted.waitFor((s) => s.call?.settlement != null, 'the second settlement')
  })
})
