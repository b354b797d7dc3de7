import { buildWebApp, ensureWebBuild } from '../../temporal/setup/web-build.js'

/** Builds the web app when it is stale, under the lock `./platform up` and the tests share: a benchmark of stale code would be a lie. */
export async function ensureFreshWebBuild(log: (line: string) => void): Promise<void> {
  await ensureWebBuild(async () => {
    log('building the web app (remix vite:build)…')
    await buildWebApp()
  }, log)
}
