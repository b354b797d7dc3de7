import type {
  BrowserWindowLike,
  BrowserWindowOptionsLike,
  ElectronShell,
  IpcMainInvokeEventLike,
  MenuItemOptionsLike,
  NativeImageLike,
  NotificationLike,
  WebContentsLike,
} from '../../../plugin/src/main/electron-shell.js'

/**
 * Electron, faked at the module boundary the main process is written against (plugin/src/main/electron-shell.ts):
 * each object records what the main process asked of it and lets a test fire the events Electron would.
 * plugin/types/electron-shell.check.js keeps that boundary honest against Electron's real types.
 */

type Listener = (...args: never[]) => unknown

class Emitter {
  readonly listeners = new Map<string, Listener[]>()
  on(event: string, listener: Listener) {
    this.listeners.set(event, [...(this.listeners.get(event) ?? []), listener])
    return this
  }
  once(event: string, listener: Listener) {
    return this.on(event, listener)
  }
  /** Calls the listeners of `event` as Electron would, answering whatever they returned. */
  emit(event: string, ...args: unknown[]): unknown[] {
    return (this.listeners.get(event) ?? []).map((listener) => (listener as (...a: unknown[]) => unknown)(...args))
  }
}

/** An Electron event: records whether a listener prevented its default. */
export function fakeEvent(fields: Record<string, unknown> = {}) {
  const event = { defaultPrevented: false, preventDefault: () => void (event.defaultPrevented = true), ...fields }
  return event
}

let nextContentsId = 1

export class FakeWebContents extends Emitter implements WebContentsLike {
  readonly id = nextContentsId++
  readonly sent: Array<{ channel: string; args: unknown[] }> = []
  windowOpenHandler: ((details: { url: string }) => { action: 'deny' } | { action: 'allow' }) | null = null
  destroyed = false
  send(channel: string, ...args: unknown[]) {
    this.sent.push({ channel, args })
  }
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }) {
    this.windowOpenHandler = handler
  }
  isDestroyed() {
    return this.destroyed
  }
}

export class FakeBrowserWindow extends Emitter implements BrowserWindowLike {
  static created: FakeBrowserWindow[] = []
  readonly webContents = new FakeWebContents()
  loaded: string | null = null
  visible = false
  focused = false
  constructor(readonly options: BrowserWindowOptionsLike) {
    super()
    FakeBrowserWindow.created.push(this)
  }
  async loadFile(filePath: string) {
    this.loaded = filePath
    this.emit('ready-to-show')
  }
  show() {
    this.visible = true
  }
  focus() {
    this.focused = true
  }
  hide() {
    this.visible = false
  }
  restore() {}
  isMinimized() {
    return false
  }
  isDestroyed() {
    return false
  }
}

export class FakeTray extends Emitter {
  static created: FakeTray[] = []
  image: NativeImageLike
  toolTip = ''
  menu: MenuItemOptionsLike[] = []
  destroyed = false
  constructor(image: NativeImageLike) {
    super()
    this.image = image
    FakeTray.created.push(this)
  }
  setImage(image: NativeImageLike) {
    this.image = image
  }
  setToolTip(toolTip: string) {
    this.toolTip = toolTip
  }
  setContextMenu(menu: object | null) {
    this.menu = (menu as { template?: MenuItemOptionsLike[] } | null)?.template ?? []
  }
  destroy() {
    this.destroyed = true
  }
  /** Clicks the menu item with this label, as the operator would. */
  click(label: string) {
    const item = this.menu.find((entry) => entry.label === label)
    if (!item?.click) throw new Error(`no menu item "${label}" in ${JSON.stringify(this.menu.map((entry) => entry.label))}`)
    item.click()
  }
}

export class FakeNotification extends Emitter implements NotificationLike {
  static shown: FakeNotification[] = []
  static supported = true
  constructor(readonly options: { title: string; body: string }) {
    super()
  }
  static isSupported() {
    return FakeNotification.supported
  }
  show() {
    FakeNotification.shown.push(this)
  }
}

export interface FakeElectron extends ElectronShell {
  app: ElectronShell['app'] & Emitter & { quitCalls: number; exitCode: number | null; singleInstance: boolean; protocols: string[]; loginItem: { openAtLogin: boolean; args?: string[] } }
  handlers: Map<string, (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown>
  powerMonitorEmitter: Emitter
  permissionRequestHandler: Parameters<ElectronShell['session']['defaultSession']['setPermissionRequestHandler']>[0]
  permissionCheckHandler: Parameters<ElectronShell['session']['defaultSession']['setPermissionCheckHandler']>[0]
  /** Calls an IPC handler as Electron would for a message from `contents`' top frame at `url`. */
  invoke(channel: string, from: { contents: { id: number }; url: string; parent?: null | object }, ...args: unknown[]): Promise<unknown>
}

export function fakeElectron(options: { userData: string; encryption?: boolean; storageBackend?: string }): FakeElectron {
  FakeBrowserWindow.created = []
  FakeTray.created = []
  FakeNotification.shown = []
  FakeNotification.supported = true
  const handlers = new Map<string, (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown>()
  const app = Object.assign(new Emitter(), {
    quitCalls: 0,
    exitCode: null as number | null,
    singleInstance: true,
    protocols: [] as string[],
    loginItem: { openAtLogin: false } as { openAtLogin: boolean; args?: string[] },
    whenReady: async () => undefined,
    getPath: () => options.userData,
    quit() {
      app.quitCalls += 1
    },
    exit(code?: number) {
      app.exitCode = code ?? 0
    },
    requestSingleInstanceLock: () => app.singleInstance,
    setAsDefaultProtocolClient(protocol: string) {
      app.protocols.push(protocol)
      return true
    },
    getLoginItemSettings: () => ({ ...app.loginItem }),
    setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }) {
      app.loginItem = { openAtLogin: settings.openAtLogin ?? false, args: settings.args }
    },
    setAppUserModelId: () => undefined,
  })
  const powerMonitorEmitter = new Emitter()
  // A keychain for the fake safeStorage: reversible, and visibly not the plain text.
  const seal = (text: string) => Buffer.from(`sealed:${Buffer.from(text).toString('base64')}`)
  const electron: FakeElectron = {
    app: app as FakeElectron['app'],
    handlers,
    powerMonitorEmitter,
    permissionRequestHandler: null,
    permissionCheckHandler: null,
    BrowserWindow: FakeBrowserWindow,
    ipcMain: {
      handle: (channel, listener) => void handlers.set(channel, listener),
      removeHandler: (channel) => void handlers.delete(channel),
    },
    Menu: { buildFromTemplate: (template) => ({ template }) },
    Tray: FakeTray,
    Notification: FakeNotification,
    nativeImage: { createFromBitmap: (buffer, size) => ({ isEmpty: () => buffer.length === 0, buffer, size }) as NativeImageLike },
    safeStorage: {
      isAsyncEncryptionAvailable: async () => options.encryption ?? true,
      encryptStringAsync: async (text) => seal(text),
      decryptStringAsync: async (sealed) => ({ result: Buffer.from(sealed.toString().replace(/^sealed:/, ''), 'base64').toString() }),
      getSelectedStorageBackend: () => options.storageBackend ?? 'gnome_libsecret',
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (handler) => void (electron.permissionRequestHandler = handler),
        setPermissionCheckHandler: (handler) => void (electron.permissionCheckHandler = handler),
      },
    },
    powerMonitor: { on: (event, listener) => powerMonitorEmitter.on(event, listener) },
    async invoke(channel, from, ...args) {
      const handler = handlers.get(channel)
      if (!handler) throw new Error(`No handler registered for '${channel}'`)
      return handler({ sender: from.contents, senderFrame: { url: from.url, parent: (from.parent ?? null) as null } }, ...args)
    },
  }
  return electron
}
