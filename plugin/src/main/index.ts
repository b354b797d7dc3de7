import { join } from 'node:path'
import { runPlugin } from './app.js'
import type { ElectronShell } from './electron-shell.js'

// The main process's entry, bundled to dist/main.cjs (next to preload.cjs and renderer/). Electron is required
// here and only here: every other module receives it as an ElectronShell, which is what lets the project install
// and test without Electron's binary (docs/decisions/020-plugin-package-and-electron-boundary.md).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const electron = require('electron') as ElectronShell

/** Replaced at build time (plugin/build.ts) by PERMINUTE_PLATFORM_URL of the build's environment. */
declare const __PERMINUTE_PLATFORM_URL__: string

/** The platform the plugin talks to: PERMINUTE_PLATFORM_URL at run time, else the one it was built for. */
const platformUrl = process.env.PERMINUTE_PLATFORM_URL || __PERMINUTE_PLATFORM_URL__

runPlugin(electron, {
  platformUrl,
  preloadPath: join(__dirname, 'preload.cjs'),
  rendererPath: join(__dirname, 'renderer', 'index.html'),
  platform: process.platform,
  argv: process.argv,
  env: { HOME: process.env.HOME, XDG_CONFIG_HOME: process.env.XDG_CONFIG_HOME, APPIMAGE: process.env.APPIMAGE },
  execPath: process.execPath,
}).catch((error: unknown) => {
  console.error('perminute: could not start', error)
  electron.app.exit(1)
})
