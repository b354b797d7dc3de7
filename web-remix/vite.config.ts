import { fileURLToPath } from 'node:url'
import { vitePlugin as remix } from '@remix-run/dev'
import { defineConfig } from 'vite'

// Single fetch changes what loaders' data types look like on the client; this tells Remix's types.
declare module '@remix-run/node' {
  interface Future {
    v3_singleFetch: true
  }
}

const webRoot = fileURLToPath(new URL('.', import.meta.url))
// Vite's root is the repository (where package.json is): Remix reads package.json from the root, and
// `remix vite:build` passes the working directory as root anyway. Everything of the web app lives in web-remix/,
// named by absolute paths so the result is the same from any working directory.
const repoRoot = fileURLToPath(new URL('..', import.meta.url))

export default defineConfig({
  root: repoRoot,
  publicDir: `${webRoot}public`,
  // Only Remix's own variables reach the browser; the platform's configuration is read by the server (config/env.ts).
  envPrefix: 'REMIX_PUBLIC_',
  build: { target: 'es2022' },
  plugins: [
    remix({
      appDirectory: `${webRoot}app`,
      buildDirectory: `${webRoot}build`,
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
        v3_routeConfig: true,
      },
    }),
  ],
})
