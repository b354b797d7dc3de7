import { exposePerminuteApi } from './api.js'

// The preload's entry, bundled to preload.cjs and run sandboxed, where `require('electron')` is the one module
// available. It is required rather than imported so that nothing but the Electron runtime needs Electron's package.
// eslint-disable-next-line @typescript-eslint/no-require-imports
exposePerminuteApi(require('electron'))
