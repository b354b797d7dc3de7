import type { BrowserWindowLike, BrowserWindowOptionsLike, ElectronShell, PermissionHandlerSessionLike, WebContentsLike, WebPreferencesLike } from './electron-shell.js'

/**
 * The plugin's window, hardened as Electron's security checklist asks: the page runs sandboxed, isolated from the
 * preload's world, without Node; it cannot navigate away from the plugin's own page, open windows, embed webviews
 * or obtain any permission but the camera and microphone (for the video preview) on its own page.
 */

export const HARDENED_WEB_PREFERENCES = {
  contextIsolation: true,
  sandbox: true,
  nodeIntegration: false,
  nodeIntegrationInWorker: false,
  nodeIntegrationInSubFrames: false,
  webSecurity: true,
  allowRunningInsecureContent: false,
  webviewTag: false,
  navigateOnDragDrop: false,
  spellcheck: false,
} as const satisfies WebPreferencesLike

export function mainWindowOptions(preloadPath: string): BrowserWindowOptionsLike {
  return {
    width: 440,
    height: 760,
    minWidth: 360,
    minHeight: 480,
    show: false,
    title: 'perminute',
    backgroundColor: '#ffffff',
    autoHideMenuBar: true,
    webPreferences: { ...HARDENED_WEB_PREFERENCES, preload: preloadPath },
  }
}

/** Whether `url` is the plugin's own page (its query and fragment aside). */
export function isOwnPage(url: string, rendererUrl: string): boolean {
  try {
    const a = new URL(url)
    const b = new URL(rendererUrl)
    return a.protocol === b.protocol && a.host === b.host && a.pathname === b.pathname
  } catch {
    return false
  }
}

/** Denies every navigation away from the plugin's page, every new window and every webview, in these contents. */
export function hardenWebContents(contents: WebContentsLike, rendererUrl: string): void {
  const stayHome = (event: { preventDefault(): void; url: string }) => {
    if (!isOwnPage(event.url, rendererUrl)) event.preventDefault()
  }
  contents.on('will-navigate', stayHome)
  contents.on('will-redirect', stayHome)
  contents.setWindowOpenHandler(() => ({ action: 'deny' }))
  contents.on('will-attach-webview', (event) => event.preventDefault())
}

/**
 * Only the camera and microphone (the video preview, and the calls in the platform's room), only for the plugin's own
 * page in its own window, in the page's top frame; everything else is refused. `isOwnWindow` names the window's
 * contents: a page at the right address in any other contents (a stray one) gets nothing.
 */
export function restrictPermissions(
  session: PermissionHandlerSessionLike,
  rendererUrl: string,
  isOwnWindow: (contents: Pick<WebContentsLike, 'id'>) => boolean,
): void {
  session.setPermissionRequestHandler((contents, permission, callback, details) => {
    const mediaTypes = details.mediaTypes ?? []
    const cameraOrMicrophone = mediaTypes.length > 0 && mediaTypes.every((type) => type === 'video' || type === 'audio')
    callback(
      permission === 'media' &&
        cameraOrMicrophone &&
        details.isMainFrame !== false &&
        isOwnWindow(contents) &&
        isOwnPage(details.requestingUrl ?? '', rendererUrl),
    )
  })
  session.setPermissionCheckHandler((contents, permission, requestingOrigin, details) => {
    if (permission !== 'media' || contents === null || !isOwnWindow(contents)) return false
    if (details?.isMainFrame === false) return false
    if (details?.mediaType !== undefined && details.mediaType !== 'video' && details.mediaType !== 'audio') return false
    // A file:// page's origin reads as "file://" (or "null"); the plugin's page is the only local one it shows.
    return requestingOrigin === new URL(rendererUrl).origin || (rendererUrl.startsWith('file:') && /^(file:\/\/\/?|null)$/.test(requestingOrigin))
  })
}

export function createMainWindow(
  shell: Pick<ElectronShell, 'BrowserWindow'>,
  options: { preloadPath: string; rendererUrl: string; showWhenReady: boolean },
): BrowserWindowLike {
  const window = new shell.BrowserWindow(mainWindowOptions(options.preloadPath))
  hardenWebContents(window.webContents, options.rendererUrl)
  // Started at log-in, the plugin waits in the tray; started by the operator, it shows itself.
  if (options.showWhenReady) window.once('ready-to-show', () => window.show())
  return window
}
