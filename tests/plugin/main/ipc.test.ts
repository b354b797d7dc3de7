import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { PluginCore } from '../../../plugin/src/core/plugin-core.js'
import { createSenderCheck, IpcRefusal, registerIpcHandlers, type AutoStart } from '../../../plugin/src/main/ipc.js'
import { INVOKE_CHANNELS, IpcChannel, MAX_VIDEO_BYTES } from '../../../plugin/src/shared/ipc.js'
import { openCore, tempDataDir, testKeychain } from '../support/core-harness.js'
import { fakeElectron } from '../support/fake-electron.js'

// The main process's IPC entry point, with Electron faked at the module boundary and a real core behind it (on a
// platform address where nothing listens: what reaches the core comes back as the core's own answer).

const rendererUrl = 'file:///opt/perminute/dist/renderer/index.html'
const WINDOW = { id: 7 }
const own = { contents: WINDOW, url: rendererUrl }

let core: PluginCore
let removeDataDir: () => Promise<void>
let platformUrl: string

beforeAll(async () => {
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  platformUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`
  await new Promise((resolve) => closed.close(resolve))
  const dataDir = await tempDataDir()
  removeDataDir = dataDir.remove
  core = (await openCore({ platformUrl, dataDir: dataDir.path, cipher: testKeychain(), requestTimeoutMs: 2_000 })).core
})

afterAll(async () => {
  await core?.shutdown()
  await removeDataDir?.()
})

function setUp(options: { autoStart?: AutoStart | null } = {}) {
  const electron = fakeElectron({ userData: '/tmp/none' })
  const refusals: string[] = []
  const unregister = registerIpcHandlers({
    ipcMain: electron.ipcMain,
    core: () => core,
    autoStart: options.autoStart ?? null,
    isTrustedSender: createSenderCheck({ windowContentIds: () => [WINDOW.id], rendererUrl }),
    log: (message) => refusals.push(message),
  })
  return { electron, refusals, unregister }
}

describe('the IPC entry point', () => {
  it('answers exactly the allow-listed channels, and stops answering when unregistered', () => {
    const { electron, unregister } = setUp()
    expect([...electron.handlers.keys()].sort()).toEqual([...INVOKE_CHANNELS].sort())
    // Every channel of the shared list but the one the window listens on.
    expect([...INVOKE_CHANNELS].sort()).toEqual(Object.values(IpcChannel).filter((c) => c !== IpcChannel.StateChanged).sort())
    unregister()
    expect(electron.handlers.size).toBe(0)
  })

  it('serves the plugin page and passes its requests to the core', async () => {
    const { electron, refusals } = setUp()
    expect(await electron.invoke(IpcChannel.GetState, own)).toMatchObject({ screen: 'sign_in', platformUrl })
    // The sign-in went to the (unreachable) platform and came back as the core's answer.
    expect(await electron.invoke(IpcChannel.SignIn, own, { login: 'ada@example.test', password: 'secret' })).toMatchObject({
      ok: false,
      code: 'network_error',
      message: expect.stringContaining(platformUrl),
    })
    expect(await electron.invoke(IpcChannel.EndCall, own, { reason: 'operator_hangup' })).toMatchObject({ ok: false, code: 'signed_out' })
    expect(await electron.invoke(IpcChannel.GetAutoStart, own)).toEqual({ supported: false, enabled: false })
    expect(refusals).toEqual([])
  })

  it('refuses every sender but the top frame of its own page in its own window, without touching the core', async () => {
    const { electron, refusals } = setUp()
    const strangers = [
      { contents: { id: 99 }, url: rendererUrl },
      { contents: WINDOW, url: 'https://evil.example/' },
      { contents: WINDOW, url: 'file:///tmp/downloaded.html' },
      { contents: WINDOW, url: rendererUrl, parent: { url: rendererUrl } },
    ]
    for (const sender of strangers) {
      await expect(electron.invoke(IpcChannel.SignIn, sender, { login: 'a@b.c', password: 'x' })).rejects.toBeInstanceOf(IpcRefusal)
      await expect(electron.invoke(IpcChannel.GetState, sender)).rejects.toThrow('refused')
    }
    // A message with no frame at all (a frame that has gone away).
    const handler = electron.handlers.get(IpcChannel.GetState)!
    await expect(handler({ sender: WINDOW, senderFrame: null })).rejects.toThrow('refused')
    expect(refusals).toHaveLength(strangers.length * 2 + 1)
  })

  it('refuses arguments that do not have the documented shape', async () => {
    const { electron } = setUp()
    const bad: Array<[IpcChannel, unknown[]]> = [
      [IpcChannel.SignIn, []],
      [IpcChannel.SignIn, [{ login: 'a@b.c' }]],
      [IpcChannel.SignIn, [{ login: 'a@b.c', password: 'x', admin: true }]],
      [IpcChannel.SignIn, [{ login: 42, password: 'x' }]],
      [IpcChannel.Link, [{ provider: 'skype', handle: 'ada' }]],
      [IpcChannel.Link, [{ provider: 'discord', handle: 'x'.repeat(201) }]],
      [IpcChannel.EndCall, [{ reason: 'funds_exhausted' }]],
      [IpcChannel.SendChatMessage, [{ body: 42 }]],
      [IpcChannel.SendChatMessage, [{ body: 'x'.repeat(2001) }]],
      [IpcChannel.SendChatMessage, [{ body: 'hi', callId: 'someone-else' }]],
      [IpcChannel.GetState, [{ anything: 1 }]],
      [IpcChannel.UploadVideo, [{ bytes: 'AAAA', contentType: 'video/webm' }]],
      [IpcChannel.UploadVideo, [{ bytes: new Uint8Array(10), contentType: 'text/html' }]],
      [IpcChannel.UploadVideo, [{ bytes: new Uint8Array(0), contentType: 'video/webm' }]],
      [IpcChannel.UploadVideo, [{ bytes: new ArrayBuffer(MAX_VIDEO_BYTES + 1), contentType: 'video/webm' }]],
      [IpcChannel.SetAutoStart, [{ enabled: 'yes' }]],
    ]
    for (const [channel, args] of bad) {
      await expect(electron.invoke(channel, own, ...args), `${channel} ${JSON.stringify(args).slice(0, 80)}`).rejects.toThrow(`invalid arguments for ${channel}`)
    }
  })

  it('switches starting at log-in through the operating system when it can', async () => {
    let enabled = false
    const { electron } = setUp({
      autoStart: { supported: true, isEnabled: async () => enabled, setEnabled: async (value) => void (enabled = value) },
    })
    expect(await electron.invoke(IpcChannel.SetAutoStart, own, { enabled: true })).toEqual({ ok: true })
    expect(await electron.invoke(IpcChannel.GetAutoStart, own)).toEqual({ supported: true, enabled: true })
    const unsupported = setUp({ autoStart: { supported: false, isEnabled: async () => false, setEnabled: async () => undefined } })
    expect(await unsupported.electron.invoke(IpcChannel.SetAutoStart, own, { enabled: true })).toMatchObject({ ok: false, code: 'unsupported' })
  })
})
