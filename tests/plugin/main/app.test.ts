import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runPlugin, type PluginAppOptions } from '../../../plugin/src/main/app.js'
import type { PluginState } from '../../../plugin/src/core/plugin-state.js'
import { IpcChannel } from '../../../plugin/src/shared/ipc.js'
import { stopAfterLedgerCheck, startWebStack, type WebStack } from '../../support/web-server.js'
import { askForCall, createMember, createOperator, eventually, PASSWORD } from '../../web-remix/plugin-client.js'
import { tempDataDir } from '../support/core-harness.js'
import { fakeElectron, fakeEvent, FakeBrowserWindow, FakeNotification, FakeTray, FakeWebContents } from '../support/fake-electron.js'

// The main process as a whole, with Electron faked at the module boundary and a real core talking to the real
// platform: one hardened window, the tray, IPC answered only for the window's page, state pushed to it, native
// notifications, perminute:// links, and quitting that takes the operator offline.

let stack: WebStack
const cleanups: Array<() => Promise<unknown>> = []

beforeAll(async () => {
  stack = await startWebStack({ worker: false })
}, 180_000)

afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined)
  await stopAfterLedgerCheck(stack)
}, 60_000)

async function options(overrides: Partial<PluginAppOptions> = {}) {
  const dir = await tempDataDir()
  cleanups.push(dir.remove)
  const logs: string[] = []
  const appOptions: PluginAppOptions = {
    platformUrl: stack.url,
    preloadPath: '/opt/perminute/resources/app.asar/dist/preload.cjs',
    rendererPath: '/opt/perminute/resources/app.asar/dist/renderer/index.html',
    platform: 'linux',
    argv: ['/opt/perminute/perminute'],
    env: { HOME: dir.path },
    execPath: '/opt/perminute/perminute',
    log: (message) => logs.push(message),
    ...overrides,
  }
  return { dir: dir.path, logs, appOptions }
}

const lastState = (window: FakeBrowserWindow) => {
  const pushes = window.webContents.sent.filter((message) => message.channel === IpcChannel.StateChanged)
  return pushes.at(-1)?.args[0] as PluginState | undefined
}

describe('the main process', { timeout: 120_000 }, () => {
  it('runs the plugin: window, tray, IPC, pushed state, notifications, links, and quitting offline', async () => {
    const { dir, appOptions } = await options()
    const electron = fakeElectron({ userData: dir })
    const app = (await runPlugin(electron, appOptions))!
    cleanups.push(() => app.quit())

    // One window, hardened, showing the bundled page; the tray; the perminute:// protocol; the permission policy.
    expect(FakeBrowserWindow.created).toHaveLength(1)
    const window = FakeBrowserWindow.created[0]!
    expect(window.options.webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, preload: appOptions.preloadPath })
    expect(window.loaded).toBe(appOptions.rendererPath)
    expect(window.visible).toBe(true)
    expect(window.webContents.windowOpenHandler!({ url: 'https://evil.example' })).toEqual({ action: 'deny' })
    expect(electron.app.protocols).toEqual(['perminute'])
    expect(electron.permissionRequestHandler).not.toBeNull()
    // The camera and microphone go to the window's own page (a call, the video preview), and to no other contents.
    const askForMedia = (contents: FakeWebContents, requestingUrl: string) => {
      let granted: boolean | undefined
      electron.permissionRequestHandler!(contents, 'media', (answer) => (granted = answer), { requestingUrl, isMainFrame: true, mediaTypes: ['video', 'audio'] })
      return granted
    }
    const ownPage = pathToFileURL(appOptions.rendererPath).href
    expect(askForMedia(window.webContents, ownPage)).toBe(true)
    expect(askForMedia(new FakeWebContents(), ownPage)).toBe(false)
    expect(askForMedia(window.webContents, 'https://evil.example/')).toBe(false)
    expect(electron.permissionCheckHandler!(window.webContents, 'media', 'file://', { isMainFrame: true, mediaType: 'audio' })).toBe(true)
    expect(electron.permissionCheckHandler!(new FakeWebContents(), 'media', 'file://', { isMainFrame: true, mediaType: 'audio' })).toBe(false)
    const tray = FakeTray.created[0]!
    expect(tray.toolTip).toBe('perminute: Signed out')
    expect(lastState(window)).toMatchObject({ screen: 'sign_in', tokenStorage: 'keychain' })

    // Any other web contents the app ever creates is hardened the same way.
    const stray = new FakeWebContents()
    electron.app.emit('web-contents-created', {}, stray)
    expect(stray.windowOpenHandler!({ url: 'https://evil.example' })).toEqual({ action: 'deny' })

    // The page signs in and links through IPC; only the window's own page is heard.
    const page = { contents: window.webContents, url: pathToFileURL(appOptions.rendererPath).href }
    const operator = await createOperator(stack.db)
    await expect(electron.invoke(IpcChannel.SignIn, { contents: { id: 999 }, url: page.url }, { login: operator.email, password: PASSWORD })).rejects.toThrow('refused')
    expect(await electron.invoke(IpcChannel.SignIn, page, { login: operator.email, password: PASSWORD })).toEqual({ ok: true })
    expect(await electron.invoke(IpcChannel.Link, page, { provider: 'telegram', handle: `tg-${operator.id}` })).toEqual({ ok: true })
    await eventually(async () => (tray.toolTip === 'perminute: Online' ? true : undefined), 15_000, 'the tray to say Online')
    expect(lastState(window)).toMatchObject({ screen: 'connected', connected: true, presence: 'online' })
    // The session went to the keychain (safeStorage), sealed.
    expect((await readFile(join(dir, 'session.bin'))).toString()).toMatch(/^sealed:/)

    // Closing the window keeps the plugin (and the operator) online in the tray.
    const close = fakeEvent()
    window.emit('close', close)
    expect(close.defaultPrevented).toBe(true)
    expect(window.visible).toBe(false)

    // The member asks for a call on the website, then their calling app opens perminute://caller/<handle>: the card
    // comes up with a native notification (a link alone proves nothing: docs/decisions/046).
    const member = await createMember(stack.db, { fundedCents: 600 })
    await askForCall(stack.db, member, operator)
    electron.app.emit('second-instance', {}, ['/opt/perminute/perminute', `perminute://caller/${encodeURIComponent(member.handle)}`])
    expect(window.visible).toBe(true)
    const notification = await eventually(async () => FakeNotification.shown.find((n) => n.options.title === `${member.displayName} is calling`), 15_000, 'the notification')
    expect(notification.options.body).toContain('6 min')
    expect(lastState(window)!.cards.map((card) => card.member.id)).toEqual([member.id])
    window.hide()
    notification.emit('click')
    expect(window.visible).toBe(true)

    // The tray switches starting at log-in.
    tray.click('Start at log-in')
    await eventually(async () => (await readFile(join(dir, '.config', 'autostart', 'perminute-plugin.desktop'), 'utf8').catch(() => undefined)), 5_000, 'the desktop entry')

    // Quitting (here as the system would, before-quit) first takes the operator offline.
    const beforeQuit = fakeEvent()
    electron.app.emit('before-quit', beforeQuit)
    expect(beforeQuit.defaultPrevented).toBe(true)
    await eventually(async () => (electron.app.quitCalls === 1 ? true : undefined), 15_000, 'the app to quit')
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).presence).toBe('offline')
    expect(tray.destroyed).toBe(true)
    expect(electron.handlers.size).toBe(0)
    // The quit that follows is let through.
    const finalQuit = fakeEvent()
    electron.app.emit('before-quit', finalQuit)
    expect(finalQuit.defaultPrevented).toBe(false)
  })

  it('hands over to the instance already running', async () => {
    const { dir, appOptions } = await options()
    const electron = fakeElectron({ userData: dir })
    electron.app.singleInstance = false
    expect(await runPlugin(electron, appOptions)).toBeNull()
    expect(electron.app.quitCalls).toBe(1)
    expect(FakeBrowserWindow.created).toHaveLength(0)
  })

  it('starts hidden in the tray when started at log-in, and keeps the token in memory without a keyring', async () => {
    const { dir, appOptions } = await options({ argv: ['/opt/perminute/perminute', '--hidden'] })
    const electron = fakeElectron({ userData: dir, storageBackend: 'basic_text' })
    const app = (await runPlugin(electron, appOptions))!
    cleanups.push(() => app.quit())
    const window = FakeBrowserWindow.created[0]!
    expect(window.loaded).toBe(appOptions.rendererPath)
    expect(window.visible).toBe(false)
    expect(lastState(window)).toMatchObject({ screen: 'sign_in', tokenStorage: 'memory' })
    FakeTray.created[0]!.click('Open perminute')
    expect(window.visible).toBe(true)
  })
})
