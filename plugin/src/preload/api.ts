import { IpcChannel, type InvokeChannel, type InvokeContract, type PerminuteApi } from '../shared/ipc.js'

/**
 * The bridge between the page and the main process. The page gets `window.perminute`: a fixed set of functions
 * over the allow-listed channels of shared/ipc.ts. It never sees ipcRenderer, the IPC event, or anything of Node.
 */

/** The part of Electron's ipcRenderer the bridge uses. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
  removeListener(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown
}

export interface ContextBridgeLike {
  exposeInMainWorld(apiKey: string, api: unknown): void
}

/** The name the renderer finds the API under. */
export const API_KEY = 'perminute'

export function createPerminuteApi(ipc: IpcRendererLike): PerminuteApi {
  const invoke = <C extends InvokeChannel>(channel: C, ...args: InvokeContract[C]['args']) =>
    ipc.invoke(channel, ...args) as Promise<InvokeContract[C]['result']>
  return Object.freeze({
    getState: () => invoke(IpcChannel.GetState),
    signIn: (login: string, password: string) => invoke(IpcChannel.SignIn, { login, password }),
    signOut: () => invoke(IpcChannel.SignOut),
    link: (provider, handle) => invoke(IpcChannel.Link, { provider, handle }),
    lookUpCaller: (handle: string) => invoke(IpcChannel.LookUpCaller, { handle }),
    acceptCard: (cardId: string) => invoke(IpcChannel.AcceptCard, { cardId }),
    dismissCard: (cardId: string) => invoke(IpcChannel.DismissCard, { cardId }),
    endCall: (reason) => invoke(IpcChannel.EndCall, { reason }),
    sendChatMessage: (body: string) => invoke(IpcChannel.SendChatMessage, { body }),
    acknowledgeCallEnd: () => invoke(IpcChannel.AcknowledgeCallEnd),
    reopenMemberCard: (callId: string) => invoke(IpcChannel.ReopenMemberCard, { callId }),
    uploadVideo: (video) => invoke(IpcChannel.UploadVideo, { bytes: video.bytes, contentType: video.contentType }),
    getAutoStart: () => invoke(IpcChannel.GetAutoStart),
    setAutoStart: (enabled: boolean) => invoke(IpcChannel.SetAutoStart, { enabled }),
    onState(listener) {
      // The page gets the state only: the IPC event (its sender, its ports) stays on this side of the bridge.
      const forward = (_event: unknown, state: unknown) => listener(state as Parameters<typeof listener>[0])
      ipc.on(IpcChannel.StateChanged, forward)
      return () => {
        ipc.removeListener(IpcChannel.StateChanged, forward)
      }
    },
  } satisfies PerminuteApi)
}

export function exposePerminuteApi(electron: { contextBridge: ContextBridgeLike; ipcRenderer: IpcRendererLike }): void {
  electron.contextBridge.exposeInMainWorld(API_KEY, createPerminuteApi(electron.ipcRenderer))
}
