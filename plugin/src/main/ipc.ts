import { z } from 'zod'
import type { PluginCore } from '../core/plugin-core.js'
import { PROVIDERS } from '../core/plugin-state.js'
import { INVOKE_CHANNELS, IpcChannel, MAX_CHAT_MESSAGE_CHARS, MAX_VIDEO_BYTES, type AutoStartState, type InvokeChannel } from '../shared/ipc.js'
import type { IpcMainInvokeEventLike, IpcMainLike } from './electron-shell.js'
import { isOwnPage } from './window.js'

/**
 * The main process's answers to the window. One entry point checks every call: the channel is on the allow-list
 * (shared/ipc.ts), the sender is the plugin's own page in one of its own windows, and the arguments have the
 * documented shape. The page is treated as untrusted input all the same: it can only ask the core to do what the
 * operator could do with the buttons.
 */

export interface AutoStart {
  readonly supported: boolean
  isEnabled(): Promise<boolean>
  setEnabled(enabled: boolean): Promise<void>
}

export class IpcRefusal extends Error {
  override name = 'IpcRefusal'
}

/** Accepts calls only from the top frame of one of `windows`, showing the plugin's own page. */
export function createSenderCheck(options: { windowContentIds: () => number[]; rendererUrl: string }) {
  return (event: IpcMainInvokeEventLike): boolean => {
    const frame = event.senderFrame
    if (!frame || frame.parent !== null) return false
    if (!options.windowContentIds().includes(event.sender.id)) return false
    return isOwnPage(frame.url, options.rendererUrl)
  }
}

const text = (max: number) => z.string().max(max)
const bytes = z.union([z.instanceof(ArrayBuffer), z.instanceof(Uint8Array)])

/** The shape of each channel's arguments. */
const argumentSchemas = {
  [IpcChannel.GetState]: z.tuple([]),
  [IpcChannel.SignIn]: z.tuple([z.object({ login: text(320), password: text(1024) }).strict()]),
  [IpcChannel.SignOut]: z.tuple([]),
  [IpcChannel.Link]: z.tuple([z.object({ provider: z.enum(PROVIDERS), handle: text(200) }).strict()]),
  [IpcChannel.LookUpCaller]: z.tuple([z.object({ handle: text(200) }).strict()]),
  [IpcChannel.AcceptCard]: z.tuple([z.object({ cardId: text(200) }).strict()]),
  [IpcChannel.DismissCard]: z.tuple([z.object({ cardId: text(200) }).strict()]),
  [IpcChannel.EndCall]: z.tuple([z.object({ reason: z.enum(['operator_hangup', 'member_hangup', 'other']) }).strict()]),
  // Counted in UTF-16 units here (at most twice the characters); the platform counts characters.
  [IpcChannel.SendChatMessage]: z.tuple([z.object({ body: text(MAX_CHAT_MESSAGE_CHARS * 2) }).strict()]),
  [IpcChannel.AcknowledgeCallEnd]: z.tuple([]),
  [IpcChannel.ReopenMemberCard]: z.tuple([z.object({ callId: text(100) }).strict()]),
  [IpcChannel.UploadVideo]: z.tuple([
    z
      .object({
        bytes: bytes.refine((b) => b.byteLength > 0 && b.byteLength <= MAX_VIDEO_BYTES, `a video of 1 to ${MAX_VIDEO_BYTES} bytes`),
        contentType: z.string().regex(/^video\/(webm|mp4)(;[\w=.,\- ]*)?$/i),
      })
      .strict(),
  ]),
  [IpcChannel.GetAutoStart]: z.tuple([]),
  [IpcChannel.SetAutoStart]: z.tuple([z.object({ enabled: z.boolean() }).strict()]),
} satisfies Record<InvokeChannel, z.ZodTypeAny>

type Args<C extends InvokeChannel> = z.infer<(typeof argumentSchemas)[C]>

export function registerIpcHandlers(deps: {
  ipcMain: IpcMainLike
  core: () => PluginCore | null
  autoStart: AutoStart | null
  isTrustedSender: (event: IpcMainInvokeEventLike) => boolean
  log: (message: string) => void
}): () => void {
  const core = () => {
    const current = deps.core()
    if (!current) throw new IpcRefusal('the plugin is starting')
    return current
  }
  const handlers: { [C in InvokeChannel]: (...args: Args<C>) => Promise<unknown> } = {
    [IpcChannel.GetState]: async () => core().state,
    [IpcChannel.SignIn]: ({ login, password }) => core().signIn(login, password),
    [IpcChannel.SignOut]: () => core().signOut(),
    [IpcChannel.Link]: ({ provider, handle }) => core().link(provider, handle),
    [IpcChannel.LookUpCaller]: ({ handle }) => core().lookUpCaller(handle),
    [IpcChannel.AcceptCard]: ({ cardId }) => core().acceptCard(cardId),
    [IpcChannel.DismissCard]: ({ cardId }) => core().dismissCard(cardId),
    [IpcChannel.EndCall]: ({ reason }) => core().endCall(reason),
    [IpcChannel.SendChatMessage]: ({ body }) => core().sendChatMessage(body),
    [IpcChannel.AcknowledgeCallEnd]: () => core().acknowledgeCallEnd(),
    [IpcChannel.ReopenMemberCard]: ({ callId }) => core().reopenMemberCard(callId),
    [IpcChannel.UploadVideo]: ({ bytes: video, contentType }) => {
      const body = video instanceof ArrayBuffer ? new Uint8Array(video) : new Uint8Array(video)
      return core().uploadProfileVideo(body, contentType)
    },
    [IpcChannel.GetAutoStart]: async (): Promise<AutoStartState> =>
      deps.autoStart?.supported ? { supported: true, enabled: await deps.autoStart.isEnabled() } : { supported: false, enabled: false },
    [IpcChannel.SetAutoStart]: async ({ enabled }) => {
      if (!deps.autoStart?.supported) return { ok: false, code: 'unsupported', message: 'Starting at log-in is not available on this system.' }
      await deps.autoStart.setEnabled(enabled)
      return { ok: true }
    },
  }

  for (const channel of INVOKE_CHANNELS) {
    deps.ipcMain.handle(channel, async (event, ...args) => {
      if (!deps.isTrustedSender(event)) {
        deps.log(`refused ${channel} from a frame that is not the plugin's page (${event.senderFrame?.url ?? 'no frame'})`)
        throw new IpcRefusal('refused')
      }
      const parsed = argumentSchemas[channel].safeParse(args)
      if (!parsed.success) throw new IpcRefusal(`invalid arguments for ${channel}`)
      return (handlers[channel] as (...a: unknown[]) => Promise<unknown>)(...(parsed.data as unknown[]))
    })
  }
  return () => {
    for (const channel of INVOKE_CHANNELS) deps.ipcMain.removeHandler(channel)
  }
}
