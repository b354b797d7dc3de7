import { readFile, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import type { PluginState } from '../../../plugin/src/core/plugin-state.js'
import { createAutoStart, desktopEntry, HIDDEN_FLAG } from '../../../plugin/src/main/autostart.js'
import { callerHandleFromArgs, callerHandleFromUrl } from '../../../plugin/src/main/deep-link.js'
import { safeStorageCipher } from '../../../plugin/src/main/keychain.js'
import { presenceDot, statusLine, trayMenu } from '../../../plugin/src/main/tray.js'
import { tempDataDir } from '../support/core-harness.js'
import { fakeElectron } from '../support/fake-electron.js'

// What the main process does with the operating system: start at log-in, the keychain, perminute:// links, the tray.

const dirs: Array<() => Promise<void>> = []
afterAll(async () => {
  for (const remove of dirs) await remove()
})

describe('starting at log-in', () => {
  it('writes and removes a desktop entry on Linux that starts the plugin hidden', async () => {
    const dir = await tempDataDir()
    dirs.push(dir.remove)
    const electron = fakeElectron({ userData: dir.path })
    const autoStart = createAutoStart({ platform: 'linux', app: electron.app, executable: '/opt/My "Apps"/perminute.AppImage', configHome: dir.path })
    expect(autoStart.supported).toBe(true)
    expect(await autoStart.isEnabled()).toBe(false)
    await autoStart.setEnabled(true)
    const entry = await readFile(join(dir.path, 'autostart', 'perminute-plugin.desktop'), 'utf8')
    expect(entry).toContain('[Desktop Entry]')
    expect(entry).toContain(`Exec="/opt/My \\"Apps\\"/perminute.AppImage" ${HIDDEN_FLAG}`)
    expect(await autoStart.isEnabled()).toBe(true)
    await autoStart.setEnabled(false)
    await expect(stat(join(dir.path, 'autostart', 'perminute-plugin.desktop'))).rejects.toMatchObject({ code: 'ENOENT' })
    expect(await autoStart.isEnabled()).toBe(false)
    expect(desktopEntry('/usr/bin/perminute')).toMatch(/^Exec="\/usr\/bin\/perminute" --hidden$/m)
  })

  it('uses the login items on macOS and Windows, and says when a system offers neither', async () => {
    for (const platform of ['darwin', 'win32'] as const) {
      const electron = fakeElectron({ userData: '/tmp/none' })
      const autoStart = createAutoStart({ platform, app: electron.app, executable: 'x', configHome: '/nowhere' })
      await autoStart.setEnabled(true)
      expect(electron.app.loginItem).toEqual({ openAtLogin: true, args: [HIDDEN_FLAG] })
      expect(await autoStart.isEnabled()).toBe(true)
    }
    expect(createAutoStart({ platform: 'freebsd', app: fakeElectron({ userData: '/' }).app, executable: 'x', configHome: '/' }).supported).toBe(false)
  })
})

describe('the keychain', () => {
  it("uses safeStorage, except Linux's plain-text fallback, which is no encryption", async () => {
    const keyring = fakeElectron({ userData: '/', storageBackend: 'gnome_libsecret' })
    const cipher = safeStorageCipher(keyring.safeStorage, 'linux')
    expect(await cipher.isAvailable()).toBe(true)
    const sealed = await cipher.encrypt('the token')
    expect(Buffer.from(sealed).toString()).not.toContain('the token')
    expect(await cipher.decrypt(sealed)).toBe('the token')

    expect(await safeStorageCipher(fakeElectron({ userData: '/', storageBackend: 'basic_text' }).safeStorage, 'linux').isAvailable()).toBe(false)
    expect(await safeStorageCipher(fakeElectron({ userData: '/', storageBackend: 'basic_text' }).safeStorage, 'darwin').isAvailable()).toBe(true)
    expect(await safeStorageCipher(fakeElectron({ userData: '/', encryption: false }).safeStorage, 'win32').isAvailable()).toBe(false)
  })
})

describe('perminute:// links', () => {
  it('name a caller to look up, and nothing else', () => {
    expect(callerHandleFromUrl('perminute://caller/grace%231234')).toBe('grace#1234')
    expect(callerHandleFromUrl('perminute://caller?handle=sip:grace@example.com')).toBe('sip:grace@example.com')
    expect(callerHandleFromUrl('perminute://caller/')).toBeNull()
    expect(callerHandleFromUrl('perminute://settings/grace')).toBeNull()
    expect(callerHandleFromUrl('https://caller/grace')).toBeNull()
    expect(callerHandleFromUrl('perminute://caller/%E0%A4%A')).toBeNull()
    expect(callerHandleFromUrl(`perminute://caller/${'x'.repeat(201)}`)).toBeNull()
    expect(callerHandleFromArgs(['/opt/perminute/perminute', '--hidden', 'perminute://caller/ada'])).toBe('ada')
    expect(callerHandleFromArgs(['/opt/perminute/perminute'])).toBeNull()
  })
})

describe('the tray', () => {
  const state = (overrides: Partial<PluginState>): PluginState =>
    ({ screen: 'connected', connected: true, presence: 'online', call: null, problem: null, ...overrides }) as PluginState

  it('draws a round dot in the presence colour, as BGRA pixels', () => {
    const pixels = presenceDot(16, [26, 127, 55])
    expect(pixels.length).toBe(16 * 16 * 4)
    const at = (x: number, y: number) => [...pixels.subarray((y * 16 + x) * 4, (y * 16 + x) * 4 + 4)]
    expect(at(8, 8)).toEqual([55, 127, 26, 255])
    expect(at(0, 0)[3]).toBe(0)
  })

  it('says what the operator is, and offers open, start at log-in and quit', () => {
    expect(statusLine(state({ screen: 'sign_in', connected: false }))).toBe('Signed out')
    expect(statusLine(state({ screen: 'link', connected: false }))).toBe('Link your calling account')
    expect(statusLine(state({}))).toBe('Online')
    expect(statusLine(state({ presence: 'busy', call: { phase: 'active', member: { displayName: 'Grace' } } as PluginState['call'] }))).toBe('Busy: call with Grace')
    // Busy from the acceptance on, while the two are still connecting.
    expect(statusLine(state({ presence: 'busy', call: { phase: 'connecting', member: { displayName: 'Grace' } } as PluginState['call'] }))).toBe('Busy: call with Grace')
    expect(statusLine(state({ call: { phase: 'ended', member: { displayName: 'Grace' } } as PluginState['call'] }))).toBe('Online')
    expect(statusLine(state({ problem: 'No connection' }))).toBe('Offline: no connection to the platform')
    const actions = { open: () => undefined, quit: () => undefined, setAutoStart: () => undefined }
    expect(trayMenu(state({}), { supported: true, enabled: true }, actions).map((item) => item.label ?? item.type)).toEqual([
      'Online',
      'separator',
      'Open perminute',
      'Start at log-in',
      'separator',
      'Quit (go offline)',
    ])
    expect(trayMenu(state({}), { supported: false, enabled: false }, actions).some((item) => item.label === 'Start at log-in')).toBe(false)
  })
})
