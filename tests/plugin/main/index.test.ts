import { describe, expect, it } from 'vitest'
import { eventually } from '../../web-remix/plugin-client.js'
import { withElectronModule } from '../support/electron-module.js'
import { fakeElectron } from '../support/fake-electron.js'

// The main process's entry requires Electron (and nothing else does): loaded as it is, with require('electron')
// answered by a fake, it hands Electron to the app, which here finds another instance running and quits.
describe('the main entry', () => {
  it('starts the plugin with the Electron it requires', async () => {
    const electron = fakeElectron({ userData: '/tmp/none' })
    electron.app.singleInstance = false
    await withElectronModule(electron, async () => {
      ;(globalThis as { __PERMINUTE_PLATFORM_URL__?: string }).__PERMINUTE_PLATFORM_URL__ = 'http://127.0.0.1:1'
      try {
        await import('../../../plugin/src/main/index.js')
        await eventually(async () => (electron.app.quitCalls === 1 ? true : undefined), 5_000, 'the entry to run')
      } finally {
        delete (globalThis as { __PERMINUTE_PLATFORM_URL__?: string }).__PERMINUTE_PLATFORM_URL__
      }
    })
    expect(electron.app.exitCode).toBeNull()
  })
})
