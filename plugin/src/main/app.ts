import { pathToFileURL } from 'node:url'
import { join } from 'node:path'
import { PluginCore, type PluginNotification } from '../core/plugin-core.js'
import type { PluginState } from '../core/plugin-state.js'
import { IpcChannel } from '../shared/ipc.js'
import { createAutoStart, HIDDEN_FLAG } from './autostart.js'
import { callerHandleFromArgs, callerHandleFromUrl, PROTOCOL } from './deep-link.js'
import type { BrowserWindowLike, ElectronShell, NotificationLike } from './electron-shell.js'
import { createSenderCheck, registerIpcHandlers } from './ipc.js'
import { safeStorageCipher } from './keychain.js'
import { PluginTray } from './tray.js'
import { createMainWindow, hardenWebContents, restrictPermissions } from './window.js'

/**
 * The main process: one instance per user, a tray icon, one hardened window, native notifications, and the
 * headless core that does the work. Closing the window hides it (the operator stays online); quitting from the
 * tray takes the operator offline first.
 */

export interface PluginAppOptions {
  platformUrl: string
  /** Absolute paths of the bundled preload (preload.cjs) and the renderer's index.html. */
  preloadPath: string
  rendererPath: string
  platform: NodeJS.Platform
  argv: readonly string[]
  env: { HOME?: string; XDG_CONFIG_HOME?: string; APPIMAGE?: string }
  execPath: string
  log?: (message: string) => void
}

export interface PluginApp {
  core(): PluginCore | null
  window(): BrowserWindowLike | null
  quit(): Promise<void>
}

const APP_ID = 'app.perminute.plugin'

export async function runPlugin(shell: ElectronShell, options: PluginAppOptions): Promise<PluginApp | null> {
  const { app } = shell
  const log = options.log ?? ((message: string) => console.warn(`perminute: ${message}`))
  if (!app.requestSingleInstanceLock()) {
    // Another instance runs: it gets our command line (a perminute:// link, say) through 'second-instance'.
    app.quit()
    return null
  }
  app.setAsDefaultProtocolClient(PROTOCOL)
  const rendererUrl = pathToFileURL(options.rendererPath).href
  app.on('web-contents-created', (_event, contents) => hardenWebContents(contents, rendererUrl))

  let core: PluginCore | null = null
  let window: BrowserWindowLike | null = null
  let tray: PluginTray | null = null
  let quitting = false
  let shutDown = false
  let pendingCaller = callerHandleFromArgs(options.argv)

  const showWindow = () => {
    if (!window || window.isDestroyed()) return
    if (window.isMinimized()) window.restore()
    window.show()
    window.focus()
  }
  const lookUpCaller = (handle: string) => {
    if (!core) {
      pendingCaller = handle
      return
    }
    showWindow()
    void core.lookUpCaller(handle)
  }
  app.on('open-url', (event, url) => {
    event.preventDefault()
    const handle = callerHandleFromUrl(url)
    if (handle) lookUpCaller(handle)
  })
  app.on('second-instance', (_event, argv) => {
    showWindow()
    const handle = callerHandleFromArgs(argv)
    if (handle) lookUpCaller(handle)
  })
  // The plugin lives in the tray: no window open is no reason to quit.
  app.on('window-all-closed', () => undefined)
  app.on('activate', showWindow)

  await app.whenReady()
  if (options.platform === 'win32') app.setAppUserModelId(APP_ID)
  // The camera and microphone for the one window's page only (the window is made below; the handler asks at the time).
  restrictPermissions(shell.session.defaultSession, rendererUrl, (contents) => window !== null && !window.isDestroyed() && contents.id === window.webContents.id)

  const autoStart = createAutoStart({
    platform: options.platform,
    app,
    executable: options.env.APPIMAGE ?? options.execPath,
    configHome: options.env.XDG_CONFIG_HOME ?? join(options.env.HOME ?? '', '.config'),
  })
  let autoStartShown = { supported: autoStart.supported, enabled: autoStart.supported ? await autoStart.isEnabled() : false }
  const unregisterIpc = registerIpcHandlers({
    ipcMain: shell.ipcMain,
    core: () => core,
    autoStart: {
      supported: autoStart.supported,
      isEnabled: () => autoStart.isEnabled(),
      async setEnabled(enabled) {
        await autoStart.setEnabled(enabled)
        autoStartShown = { supported: autoStart.supported, enabled }
        if (core) tray?.update(core.state, autoStartShown)
      },
    },
    isTrustedSender: createSenderCheck({
      windowContentIds: () => (window && !window.isDestroyed() ? [window.webContents.id] : []),
      rendererUrl,
    }),
    log,
  })

  const quit = async () => {
    if (quitting) return
    quitting = true
    try {
      await core?.shutdown()
    } catch (error) {
      log(`could not shut down cleanly: ${(error as Error).message}`)
    }
    unregisterIpc()
    tray?.destroy()
    shutDown = true
    app.quit()
  }
  // Quitting by any other way (the menu on macOS, the system logging out) also goes offline first.
  app.on('before-quit', (event) => {
    if (shutDown) return
    event.preventDefault()
    void quit()
  })

  window = createMainWindow(shell, { preloadPath: options.preloadPath, rendererUrl, showWhenReady: !options.argv.includes(HIDDEN_FLAG) })
  window.on('close', (event) => {
    if (quitting) return
    event.preventDefault()
    window?.hide()
  })
  await window.loadFile(options.rendererPath)

  tray = new PluginTray(shell, {
    open: showWindow,
    quit: () => void quit(),
    setAutoStart: (enabled) => {
      void autoStart.setEnabled(enabled).then(() => {
        autoStartShown = { supported: autoStart.supported, enabled }
        if (core) tray?.update(core.state, autoStartShown)
      })
    },
  })

  // Notifications are kept until clicked or replaced: one that is garbage-collected loses its click handler.
  const shownNotifications: NotificationLike[] = []
  const notify = (notification: PluginNotification) => {
    if (!shell.Notification.isSupported()) return
    const native = new shell.Notification({ title: notification.title, body: notification.body })
    native.on('click', showWindow)
    native.show()
    shownNotifications.push(native)
    if (shownNotifications.length > 10) shownNotifications.shift()
  }

  core = await PluginCore.open({
    platformUrl: options.platformUrl,
    dataDir: app.getPath('userData'),
    cipher: safeStorageCipher(shell.safeStorage, options.platform),
    onNotification: notify,
    log,
  })
  const publish = (state: PluginState) => {
    if (window && !window.isDestroyed() && !window.webContents.isDestroyed()) window.webContents.send(IpcChannel.StateChanged, state)
    tray?.update(state, autoStartShown)
  }
  core.subscribe(publish)
  publish(core.state)
  shell.powerMonitor.on('resume', () => core?.wake())
  if (pendingCaller) lookUpCaller(pendingCaller)
  pendingCaller = null

  return { core: () => core, window: () => window, quit }
}
