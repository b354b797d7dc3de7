import { exposePerminuteApi, type IpcRendererLike } from '../../../plugin/src/preload/api.js'

/**
 * The plugin's real preload code, run in the test browser's page before the renderer, with Electron's two objects
 * replaced at the module boundary: contextBridge puts the API on window (as it does in the page's world), and
 * ipcRenderer crosses to the test process through a function the test exposes (page.exposeFunction), where the
 * main process's IPC handlers and a real core answer. Pushes come back through window.__ipcDeliver.
 */

declare global {
  interface Window {
    __ipcInvoke(channel: string, args: unknown[]): Promise<unknown>
    __ipcDeliver(channel: string, payload: unknown): void
  }
}

type Listener = (event: unknown, ...args: unknown[]) => void
const listeners = new Map<string, Set<Listener>>()

/** Binary arguments (the recorded video) cross as base64: the bridge to the test process carries JSON. */
function encode(value: unknown): unknown {
  if (value instanceof ArrayBuffer || ArrayBuffer.isView(value)) {
    const bytes = value instanceof ArrayBuffer ? new Uint8Array(value) : new Uint8Array(value.buffer, value.byteOffset, value.byteLength)
    let binary = ''
    for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
    return { __bytes: btoa(binary) }
  }
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.fromEntries(Object.entries(value).map(([key, inner]) => [key, encode(inner)]))
  }
  return value
}

const ipcRenderer: IpcRendererLike = {
  invoke: (channel, ...args) => window.__ipcInvoke(channel, args.map(encode)),
  on(channel, listener) {
    let set = listeners.get(channel)
    if (!set) listeners.set(channel, (set = new Set()))
    set.add(listener)
  },
  removeListener(channel, listener) {
    listeners.get(channel)?.delete(listener)
  },
}

window.__ipcDeliver = (channel, payload) => {
  for (const listener of listeners.get(channel) ?? []) listener({ sender: 'main' }, payload)
}

exposePerminuteApi({
  contextBridge: {
    exposeInMainWorld(key, api) {
      Object.defineProperty(window, key, { value: api, enumerable: true, writable: false, configurable: false })
    },
  },
  ipcRenderer,
})
