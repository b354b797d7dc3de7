import Module from 'node:module'

/**
 * Answers `require('electron')` with a fake while `run` runs, the way Electron's own runtime answers it: by
 * intercepting Node's module loader. The plugin's entries (main/index.ts, preload/index.ts) are the only code that
 * requires Electron; this lets a test load them as they are.
 */
export async function withElectronModule<T>(fake: unknown, run: () => Promise<T>): Promise<T> {
  const loader = Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown }
  const original = loader._load
  loader._load = function (request: string, ...rest: unknown[]) {
    return request === 'electron' ? fake : original.call(this, request, ...rest)
  }
  try {
    return await run()
  } finally {
    loader._load = original
  }
}
