import type { ActionResult, CallingProvider, PluginEndReason, PluginState } from '../core/plugin-state.js'

/**
 * The one list of IPC channels between the window and the main process, shared by main, preload and renderer
 * (as Electron Fiddle does). The main process answers these channels and no others; the preload exposes them to
 * the page as the typed `window.perminute` API, and nothing else of Electron.
 */
export enum IpcChannel {
  GetState = 'perminute:get-state',
  SignIn = 'perminute:sign-in',
  SignOut = 'perminute:sign-out',
  Link = 'perminute:link',
  LookUpCaller = 'perminute:look-up-caller',
  AcceptCard = 'perminute:accept-card',
  DismissCard = 'perminute:dismiss-card',
  EndCall = 'perminute:end-call',
  SendChatMessage = 'perminute:send-chat-message',
  AcknowledgeCallEnd = 'perminute:acknowledge-call-end',
  ReopenMemberCard = 'perminute:reopen-member-card',
  UploadVideo = 'perminute:upload-video',
  GetAutoStart = 'perminute:get-auto-start',
  SetAutoStart = 'perminute:set-auto-start',
  /** main → window: the new PluginState. The only channel the window listens on. */
  StateChanged = 'perminute:state-changed',
}

export interface AutoStartState {
  /** Whether this operating system lets the plugin start at log-in. */
  supported: boolean
  enabled: boolean
}

export interface VideoUpload {
  bytes: ArrayBuffer | Uint8Array
  contentType: string
}

/** What each channel the window may invoke takes and answers. */
export interface InvokeContract {
  [IpcChannel.GetState]: { args: []; result: PluginState }
  [IpcChannel.SignIn]: { args: [{ login: string; password: string }]; result: ActionResult }
  [IpcChannel.SignOut]: { args: []; result: ActionResult }
  [IpcChannel.Link]: { args: [{ provider: CallingProvider; handle: string }]; result: ActionResult }
  [IpcChannel.LookUpCaller]: { args: [{ handle: string }]; result: ActionResult }
  [IpcChannel.AcceptCard]: { args: [{ cardId: string }]; result: ActionResult }
  [IpcChannel.DismissCard]: { args: [{ cardId: string }]; result: ActionResult }
  [IpcChannel.EndCall]: { args: [{ reason: PluginEndReason }]; result: ActionResult }
  [IpcChannel.SendChatMessage]: { args: [{ body: string }]; result: ActionResult }
  [IpcChannel.AcknowledgeCallEnd]: { args: []; result: ActionResult }
  [IpcChannel.ReopenMemberCard]: { args: [{ callId: string }]; result: ActionResult }
  [IpcChannel.UploadVideo]: { args: [VideoUpload]; result: ActionResult }
  [IpcChannel.GetAutoStart]: { args: []; result: AutoStartState }
  [IpcChannel.SetAutoStart]: { args: [{ enabled: boolean }]; result: ActionResult }
}

export type InvokeChannel = keyof InvokeContract

/** The allow-list: every channel the main process answers. */
export const INVOKE_CHANNELS = [
  IpcChannel.GetState,
  IpcChannel.SignIn,
  IpcChannel.SignOut,
  IpcChannel.Link,
  IpcChannel.LookUpCaller,
  IpcChannel.AcceptCard,
  IpcChannel.DismissCard,
  IpcChannel.EndCall,
  IpcChannel.SendChatMessage,
  IpcChannel.AcknowledgeCallEnd,
  IpcChannel.ReopenMemberCard,
  IpcChannel.UploadVideo,
  IpcChannel.GetAutoStart,
  IpcChannel.SetAutoStart,
] as const satisfies readonly InvokeChannel[]

/** `window.perminute`: everything the renderer can ask of the plugin. */
export interface PerminuteApi {
  getState(): Promise<PluginState>
  signIn(login: string, password: string): Promise<ActionResult>
  signOut(): Promise<ActionResult>
  link(provider: CallingProvider, handle: string): Promise<ActionResult>
  lookUpCaller(handle: string): Promise<ActionResult>
  acceptCard(cardId: string): Promise<ActionResult>
  dismissCard(cardId: string): Promise<ActionResult>
  endCall(reason: PluginEndReason): Promise<ActionResult>
  /** Writes in the call's chat. */
  sendChatMessage(body: string): Promise<ActionResult>
  acknowledgeCallEnd(): Promise<ActionResult>
  reopenMemberCard(callId: string): Promise<ActionResult>
  uploadVideo(video: VideoUpload): Promise<ActionResult>
  getAutoStart(): Promise<AutoStartState>
  setAutoStart(enabled: boolean): Promise<ActionResult>
  /** Calls `listener` with every new state; answers a function that stops it. */
  onState(listener: (state: PluginState) => void): () => void
}

/** The longest chat message the window may hand over (the platform's own limit, in characters). */
export const MAX_CHAT_MESSAGE_CHARS = 1000

/** The largest video the window may hand over (the platform's own limit). */
export const MAX_VIDEO_BYTES = 25 * 1024 * 1024
