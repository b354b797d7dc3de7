// @ts-check
// Proves that Electron's real module fits the interfaces the main process is written against
// (src/main/electron-shell.ts), so the fakes the tests use cannot drift from what Electron offers.
// Checked by `npm run typecheck` in plugin/, where Electron is installed; the root project never reads it.

/**
 * @param {typeof import('electron')} electron
 * @returns {import('../src/main/electron-shell.js').ElectronShell<import('electron').NativeImage>}
 */
export const electronShell = (electron) => electron

/**
 * The same for the preload: Electron's contextBridge and ipcRenderer fit what the bridge is written against.
 * @param {typeof import('electron')} electron
 * @returns {Parameters<typeof import('../src/preload/api.js').exposePerminuteApi>[0]}
 */
export const preloadElectron = (electron) => electron
