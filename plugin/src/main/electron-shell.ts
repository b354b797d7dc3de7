/**
 * The part of Electron the main process uses, as interfaces. The main process is written against these, and only
 * its entry (main/index.ts) requires the real module, so the project installs, type-checks and tests without
 * Electron's binary; tests hand in fakes at exactly this boundary. plugin/types/electron-shell.check.js proves
 * the real module fits these interfaces wherever Electron is installed (`npm run typecheck` in plugin/).
 * docs/decisions/020-plugin-package-and-electron-boundary.md
 */

/** An image handle: made by nativeImage, handed to the tray, never looked into. */
export interface NativeImageLike {
  isEmpty(): boolean
}

export interface WebFrameLike {
  readonly url: string
  readonly parent: WebFrameLike | null
}

export interface WebContentsLike {
  readonly id: number
  send(channel: string, ...args: unknown[]): void
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' } | { action: 'allow' }): void
  on(event: 'will-navigate' | 'will-redirect', listener: (event: { preventDefault(): void; url: string }) => void): unknown
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown
  isDestroyed(): boolean
}

export interface WebPreferencesLike {
  preload?: string
  contextIsolation?: boolean
  sandbox?: boolean
  nodeIntegration?: boolean
  nodeIntegrationInWorker?: boolean
  nodeIntegrationInSubFrames?: boolean
  webSecurity?: boolean
  allowRunningInsecureContent?: boolean
  webviewTag?: boolean
  navigateOnDragDrop?: boolean
  spellcheck?: boolean
  devTools?: boolean
}

export interface BrowserWindowOptionsLike {
  width?: number
  height?: number
  minWidth?: number
  minHeight?: number
  show?: boolean
  title?: string
  backgroundColor?: string
  autoHideMenuBar?: boolean
  webPreferences?: WebPreferencesLike
}

export interface BrowserWindowLike {
  readonly webContents: WebContentsLike
  loadFile(filePath: string): Promise<void>
  show(): void
  focus(): void
  hide(): void
  restore(): void
  isMinimized(): boolean
  isDestroyed(): boolean
  on(event: 'close', listener: (event: { preventDefault(): void }) => void): unknown
  once(event: 'ready-to-show', listener: () => void): unknown
}

export interface IpcMainInvokeEventLike {
  readonly sender: { readonly id: number }
  readonly senderFrame: WebFrameLike | null
}

export interface IpcMainLike {
  handle(channel: string, listener: (event: IpcMainInvokeEventLike, ...args: unknown[]) => unknown): void
  removeHandler(channel: string): void
}

export interface MenuItemOptionsLike {
  label?: string
  type?: 'normal' | 'separator' | 'checkbox'
  checked?: boolean
  enabled?: boolean
  click?: () => void
}

export type MenuLike = object

export interface TrayLike<Image = NativeImageLike> {
  setImage(image: Image): void
  setToolTip(toolTip: string): void
  setContextMenu(menu: MenuLike | null): void
  on(event: 'click', listener: () => void): unknown
  destroy(): void
}

export interface NotificationLike {
  on(event: 'click', listener: () => void): unknown
  show(): void
}

export interface LoginItemSettingsLike {
  openAtLogin: boolean
}

export interface AppLike {
  whenReady(): Promise<void>
  getPath(name: 'userData'): string
  quit(): void
  exit(exitCode?: number): void
  requestSingleInstanceLock(): boolean
  setAsDefaultProtocolClient(protocol: string): boolean
  getLoginItemSettings(): LoginItemSettingsLike
  setLoginItemSettings(settings: { openAtLogin?: boolean; args?: string[] }): void
  setAppUserModelId(id: string): void
  on(event: 'second-instance', listener: (event: unknown, argv: string[]) => void): unknown
  on(event: 'open-url', listener: (event: { preventDefault(): void }, url: string) => void): unknown
  on(event: 'before-quit', listener: (event: { preventDefault(): void }) => void): unknown
  on(event: 'window-all-closed' | 'activate', listener: () => void): unknown
  on(event: 'web-contents-created', listener: (event: unknown, contents: WebContentsLike) => void): unknown
}

export interface SafeStorageLike {
  isAsyncEncryptionAvailable(): Promise<boolean>
  encryptStringAsync(plainText: string): Promise<Uint8Array>
  decryptStringAsync(encrypted: Buffer): Promise<{ result: string }>
  /** Linux only: `basic_text` means no keyring, just an obfuscation. */
  getSelectedStorageBackend(): string
}

/** What Electron tells a permission handler about the request (the fields the plugin reads). */
export interface PermissionRequestDetailsLike {
  requestingUrl?: string
  isMainFrame?: boolean
  mediaTypes?: string[]
}

export interface PermissionCheckDetailsLike {
  requestingUrl?: string
  isMainFrame?: boolean
  mediaType?: string
}

export interface PermissionHandlerSessionLike {
  setPermissionRequestHandler(
    handler: ((contents: WebContentsLike, permission: string, callback: (granted: boolean) => void, details: PermissionRequestDetailsLike) => void) | null,
  ): void
  setPermissionCheckHandler(
    handler: ((contents: WebContentsLike | null, permission: string, requestingOrigin: string, details: PermissionCheckDetailsLike) => boolean) | null,
  ): void
}

/** `Image` is the type of image handles: opaque here, Electron's NativeImage in the conformance check. */
export interface ElectronShell<Image = NativeImageLike> {
  app: AppLike
  BrowserWindow: new (options: BrowserWindowOptionsLike) => BrowserWindowLike
  ipcMain: IpcMainLike
  Menu: { buildFromTemplate(template: MenuItemOptionsLike[]): MenuLike }
  Tray: new (image: Image) => TrayLike<Image>
  Notification: { new (options: { title: string; body: string }): NotificationLike; isSupported(): boolean }
  nativeImage: { createFromBitmap(buffer: Buffer, options: { width: number; height: number; scaleFactor?: number }): Image }
  safeStorage: SafeStorageLike
  session: { defaultSession: PermissionHandlerSessionLike }
  powerMonitor: { on(event: 'resume', listener: () => void): unknown }
}
