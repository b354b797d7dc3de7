import { describe, expect, it } from 'vitest'
import { createMainWindow, HARDENED_WEB_PREFERENCES, hardenWebContents, isOwnPage, restrictPermissions } from '../../../plugin/src/main/window.js'
import { fakeElectron, fakeEvent, FakeBrowserWindow, FakeWebContents } from '../support/fake-electron.js'

// The window's hardening, with Electron faked at the module boundary.

const rendererUrl = 'file:///opt/perminute/resources/app.asar/dist/renderer/index.html'

describe('the plugin window', () => {
  it('is created sandboxed, isolated, without Node, with the preload, and hidden until ready', async () => {
    const electron = fakeElectron({ userData: '/tmp/none' })
    const window = createMainWindow(electron, { preloadPath: '/opt/perminute/dist/preload.cjs', rendererUrl, showWhenReady: true }) as FakeBrowserWindow
    expect(window.options.webPreferences).toEqual({
      preload: '/opt/perminute/dist/preload.cjs',
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
    })
    expect(window.options.show).toBe(false)
    await window.loadFile('/opt/perminute/dist/renderer/index.html')
    expect(window.visible).toBe(true)

    // Started at log-in it stays in the tray.
    const hidden = createMainWindow(electron, { preloadPath: '/p.cjs', rendererUrl, showWhenReady: false }) as FakeBrowserWindow
    await hidden.loadFile('/r/index.html')
    expect(hidden.visible).toBe(false)
  })

  it('denies navigation away from its page, new windows and webviews', () => {
    const contents = new FakeWebContents()
    hardenWebContents(contents, rendererUrl)
    for (const event of ['will-navigate', 'will-redirect']) {
      for (const url of ['https://evil.example/', 'file:///etc/passwd', 'file:///opt/perminute/resources/app.asar/dist/renderer/other.html', 'javascript:alert(1)', 'not a url']) {
        const attempt = fakeEvent({ url })
        contents.emit(event, attempt)
        expect(attempt.defaultPrevented, `${event} to ${url}`).toBe(true)
      }
      // Its own page (a reload, a fragment) stays allowed.
      const home = fakeEvent({ url: `${rendererUrl}#today` })
      contents.emit(event, home)
      expect(home.defaultPrevented).toBe(false)
    }
    expect(contents.windowOpenHandler!({ url: 'https://evil.example/' })).toEqual({ action: 'deny' })
    expect(contents.windowOpenHandler!({ url: rendererUrl })).toEqual({ action: 'deny' })
    const webview = fakeEvent()
    contents.emit('will-attach-webview', webview)
    expect(webview.defaultPrevented).toBe(true)
  })

  it('grants only the camera and microphone, only to its own page in its own window, in its top frame', () => {
    const electron = fakeElectron({ userData: '/tmp/none' })
    const own = new FakeWebContents()
    restrictPermissions(electron.session.defaultSession, rendererUrl, (contents) => contents.id === own.id)
    const request = (permission: string, details: { requestingUrl?: string; mediaTypes?: string[]; isMainFrame?: boolean }, contents = own) => {
      let granted: boolean | undefined
      electron.permissionRequestHandler!(contents, permission, (answer) => (granted = answer), { isMainFrame: true, ...details })
      return granted
    }
    // The window's page asking for the camera and microphone (a call, the video preview), or either alone.
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['video', 'audio'] })).toBe(true)
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['audio'] })).toBe(true)
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['video'] })).toBe(true)
    // Another page, another kind of capture, a request naming no device, a frame inside the page: refused.
    expect(request('media', { requestingUrl: 'https://evil.example/', mediaTypes: ['video'] })).toBe(false)
    expect(request('media', { requestingUrl: 'file:///etc/passwd', mediaTypes: ['audio'] })).toBe(false)
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['video', 'screen'] })).toBe(false)
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: [] })).toBe(false)
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['audio'], isMainFrame: false })).toBe(false)
    // The plugin's own page loaded in any other web contents (a stray window or webview) gets nothing.
    expect(request('media', { requestingUrl: rendererUrl, mediaTypes: ['video', 'audio'] }, new FakeWebContents())).toBe(false)
    for (const permission of ['geolocation', 'notifications', 'clipboard-read', 'display-capture', 'openExternal', 'hid', 'speaker-selection']) {
      expect(request(permission, { requestingUrl: rendererUrl }), permission).toBe(false)
    }

    // The checks (device lists, a permission's state) say the same.
    const check = electron.permissionCheckHandler!
    expect(check(own, 'media', 'file://', { isMainFrame: true, mediaType: 'video' })).toBe(true)
    expect(check(own, 'media', 'file://', { isMainFrame: true })).toBe(true)
    expect(check(own, 'media', 'https://evil.example', { isMainFrame: true })).toBe(false)
    expect(check(own, 'media', 'file://', { isMainFrame: false })).toBe(false)
    expect(check(own, 'media', 'file://', { isMainFrame: true, mediaType: 'unknown' })).toBe(false)
    expect(check(new FakeWebContents(), 'media', 'file://', { isMainFrame: true })).toBe(false)
    expect(check(null, 'media', 'file://', { isMainFrame: true })).toBe(false)
    expect(check(own, 'geolocation', 'file://', { isMainFrame: true })).toBe(false)
  })

  it('knows its own page by scheme, host and path', () => {
    expect(isOwnPage(`${rendererUrl}?x=1#y`, rendererUrl)).toBe(true)
    expect(isOwnPage('http://127.0.0.1:5173/index.html', 'http://127.0.0.1:5173/index.html')).toBe(true)
    expect(isOwnPage('http://127.0.0.1:5174/index.html', 'http://127.0.0.1:5173/index.html')).toBe(false)
    expect(isOwnPage('file:///opt/perminute/resources/app.asar/dist/renderer/index.html.evil', rendererUrl)).toBe(false)
  })

  it('keeps the hardened preferences in one place', () => {
    expect(HARDENED_WEB_PREFERENCES).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false })
  })
})
