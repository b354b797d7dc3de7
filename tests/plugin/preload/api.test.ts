import { describe, expect, it } from 'vitest'
import { API_KEY, createPerminuteApi, type IpcRendererLike } from '../../../plugin/src/preload/api.js'
import { INVOKE_CHANNELS, IpcChannel, type PerminuteApi } from '../../../plugin/src/shared/ipc.js'
import { withElectronModule } from '../support/electron-module.js'

// The preload bridge, with Electron's contextBridge and ipcRenderer faked at the module boundary.

function recordingIpcRenderer() {
  const invoked: Array<{ channel: string; args: unknown[] }> = []
  const listeners = new Map<string, Set<(event: unknown, ...args: unknown[]) => void>>()
  const ipc: IpcRendererLike = {
    async invoke(channel, ...args) {
      invoked.push({ channel, args })
      return { ok: true }
    },
    on(channel, listener) {
      if (!listeners.has(channel)) listeners.set(channel, new Set())
      listeners.get(channel)!.add(listener)
    },
    removeListener(channel, listener) {
      listeners.get(channel)?.delete(listener)
    },
  }
  return { ipc, invoked, listeners }
}

describe('the preload bridge', () => {
  it('maps every function of window.perminute to one allow-listed channel, with plain arguments', async () => {
    const { ipc, invoked } = recordingIpcRenderer()
    const api = createPerminuteApi(ipc)
    const video = new Uint8Array([0x1a, 0x45, 0xdf, 0xa3])
    const calls: Array<[keyof PerminuteApi, () => Promise<unknown>, IpcChannel, unknown[]]> = [
      ['getState', () => api.getState(), IpcChannel.GetState, []],
      ['signIn', () => api.signIn('ada@example.test', 'pw'), IpcChannel.SignIn, [{ login: 'ada@example.test', password: 'pw' }]],
      ['signOut', () => api.signOut(), IpcChannel.SignOut, []],
      ['link', () => api.link('sip', 'sip:ada@example.test'), IpcChannel.Link, [{ provider: 'sip', handle: 'sip:ada@example.test' }]],
      ['lookUpCaller', () => api.lookUpCaller('grace'), IpcChannel.LookUpCaller, [{ handle: 'grace' }]],
      ['acceptCard', () => api.acceptCard('member:1'), IpcChannel.AcceptCard, [{ cardId: 'member:1' }]],
      ['dismissCard', () => api.dismissCard('member:1'), IpcChannel.DismissCard, [{ cardId: 'member:1' }]],
      ['endCall', () => api.endCall('member_hangup'), IpcChannel.EndCall, [{ reason: 'member_hangup' }]],
      ['sendChatMessage', () => api.sendChatMessage('Hello'), IpcChannel.SendChatMessage, [{ body: 'Hello' }]],
      ['acknowledgeCallEnd', () => api.acknowledgeCallEnd(), IpcChannel.AcknowledgeCallEnd, []],
      ['reopenMemberCard', () => api.reopenMemberCard('c1'), IpcChannel.ReopenMemberCard, [{ callId: 'c1' }]],
      ['uploadVideo', () => api.uploadVideo({ bytes: video, contentType: 'video/webm' }), IpcChannel.UploadVideo, [{ bytes: video, contentType: 'video/webm' }]],
      ['getAutoStart', () => api.getAutoStart(), IpcChannel.GetAutoStart, []],
      ['setAutoStart', () => api.setAutoStart(true), IpcChannel.SetAutoStart, [{ enabled: true }]],
    ]
    for (const [, call, channel, args] of calls) {
      invoked.length = 0
      await call()
      expect(invoked).toEqual([{ channel, args }])
    }
    // Every invoking function is covered above, and together they use exactly the allow-list.
    expect(calls.map(([name]) => name).sort()).toEqual(Object.keys(api).filter((name) => name !== 'onState').sort())
    expect(calls.map(([, , channel]) => channel).sort()).toEqual([...INVOKE_CHANNELS].sort())
  })

  it('hands the page the state only, never the IPC event, and stops when asked', () => {
    const { ipc, listeners } = recordingIpcRenderer()
    const api = createPerminuteApi(ipc)
    const received: unknown[][] = []
    const stop = api.onState((...args: unknown[]) => received.push(args))
    const deliver = (payload: unknown) => {
      for (const listener of listeners.get(IpcChannel.StateChanged) ?? []) listener({ sender: { id: 1 }, ports: [] }, payload)
    }
    deliver({ screen: 'sign_in' })
    expect(received).toEqual([[{ screen: 'sign_in' }]])
    stop()
    deliver({ screen: 'connected' })
    expect(received).toHaveLength(1)
    expect(listeners.get(IpcChannel.StateChanged)?.size).toBe(0)
    // Only the state channel is listened to.
    expect([...listeners.keys()]).toEqual([IpcChannel.StateChanged])
  })

  it('exposes nothing but functions, frozen, and no way to ipcRenderer', () => {
    const { ipc } = recordingIpcRenderer()
    const api = createPerminuteApi(ipc)
    expect(Object.isFrozen(api)).toBe(true)
    for (const value of Object.values(api)) {
      expect(typeof value).toBe('function')
      expect(value).not.toBe(ipc.invoke)
    }
    expect(Object.values(api)).not.toContain(ipc)
  })

  it('is exposed by the preload entry as window.perminute through contextBridge', async () => {
    const exposed: Array<{ key: string; api: unknown }> = []
    const { ipc } = recordingIpcRenderer()
    const electron = { contextBridge: { exposeInMainWorld: (key: string, api: unknown) => exposed.push({ key, api }) }, ipcRenderer: ipc }
    await withElectronModule(electron, () => import('../../../plugin/src/preload/index.js'))
    expect(exposed.map((entry) => entry.key)).toEqual([API_KEY])
    expect(API_KEY).toBe('perminute')
    expect(Object.keys(exposed[0]!.api as object).sort()).toEqual(Object.keys(createPerminuteApi(ipc)).sort())
  })
})
