import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type InlineConfig } from 'vite'
import { mediaUrlProblem } from './src/core/platform-url.js'

/**
 * Builds the plugin's three bundles with Vite, into dist/ (what electron-builder packs):
 *   dist/main.cjs      the main process (Node, CommonJS; Electron is required at run time, never bundled)
 *   dist/preload.cjs   the sandboxed preload (one CommonJS file: a sandboxed preload may require only 'electron')
 *   dist/renderer/     the window's page (index.html and its assets, with relative URLs for file://)
 * Everything else (React, zod, the core) is bundled in, so the packaged app carries no node_modules.
 *
 *   npx tsx plugin/build.ts            (or `npm run build` in plugin/)
 *   PERMINUTE_PLATFORM_URL=https://… npx tsx plugin/build.ts    the platform the built plugin talks to by default
 *   PERMINUTE_MEDIA_URL=wss://…                                   the media server (LiveKit) its window may join calls on
 */

const pluginRoot = fileURLToPath(new URL('.', import.meta.url))
const source = (path: string) => join(pluginRoot, 'src', path)

export const DEFAULT_PLATFORM_URL = 'http://127.0.0.1:3000'
/** The LiveKit that `./platform up` runs (config/env.ts DEV_LIVEKIT_URL). */
export const DEFAULT_MEDIA_URL = 'ws://127.0.0.1:7880'
/** Electron 45 runs Chromium 142 and Node 22. */
const CHROME_TARGET = 'chrome140'
const NODE_TARGET = 'node22'

const common: InlineConfig = {
  configFile: false,
  envFile: false,
  logLevel: 'warn',
  // JSX with React's automatic runtime, as in the root tsconfig.
  esbuild: { jsx: 'automatic' },
}

/**
 * The media server origins the window may connect to, from a comma-separated list of ws(s):// addresses; throws on
 * one the plugin would not send a room token to (docs/decisions/064).
 */
export function mediaOrigins(mediaUrls: string): string[] {
  const origins = mediaUrls
    .split(',')
    .map((entry) => entry.trim().replace(/\/+$/, ''))
    .filter((entry) => entry !== '')
  if (origins.length === 0) throw new Error('PERMINUTE_MEDIA_URL names no media server')
  return origins.map((entry) => {
    const problem = mediaUrlProblem(entry)
    if (problem) throw new Error(problem)
    const url = new URL(entry)
    return `${url.protocol}//${url.host}`
  })
}

/**
 * The window's page may connect to the media server only: its WebSocket, and its HTTP side (livekit-client asks it
 * why a connection failed). Nothing else, the platform included: everything else goes through window.perminute.
 */
export function connectSources(origins: readonly string[]): string {
  return origins.flatMap((origin) => [origin, origin.replace(/^ws/, 'http')]).join(' ')
}

export function rendererConfig(outDir: string, options: { mediaUrl?: string } = {}): InlineConfig {
  const origins = mediaOrigins(options.mediaUrl ?? DEFAULT_MEDIA_URL)
  return {
    ...common,
    root: source('renderer'),
    base: './',
    define: {
      // index.html's %PERMINUTE_CONNECT_SRC%: Vite writes import.meta.env values into the page's HTML.
      'import.meta.env.PERMINUTE_CONNECT_SRC': JSON.stringify(connectSources(origins)),
      // The page checks a call's media address against the same list, to say so rather than fail on the policy.
      __PERMINUTE_MEDIA_ORIGINS__: JSON.stringify(origins),
    },
    // Loaded from the disk, not a network: livekit-client makes the one chunk large, and that costs nothing here.
    build: { outDir, emptyOutDir: true, target: CHROME_TARGET, sourcemap: false, reportCompressedSize: false, chunkSizeWarningLimit: 2_000 },
  }
}

export function preloadConfig(outDir: string): InlineConfig {
  return {
    ...common,
    build: {
      outDir,
      emptyOutDir: false,
      target: CHROME_TARGET,
      minify: false,
      reportCompressedSize: false,
      lib: { entry: source('preload/index.ts'), formats: ['cjs'], fileName: () => 'preload.cjs' },
      rollupOptions: { external: ['electron'] },
    },
  }
}

export function mainConfig(outDir: string, platformUrl: string): InlineConfig {
  return {
    ...common,
    define: { __PERMINUTE_PLATFORM_URL__: JSON.stringify(platformUrl) },
    // A server-side build: Node's built-ins stay imports, every package is bundled, Electron stays a require.
    ssr: { noExternal: true, external: ['electron'] },
    build: {
      outDir,
      emptyOutDir: false,
      target: NODE_TARGET,
      minify: false,
      reportCompressedSize: false,
      ssr: source('main/index.ts'),
      rollupOptions: { external: ['electron'], output: { format: 'cjs', entryFileNames: 'main.cjs' } },
    },
  }
}

export async function buildPlugin(options: { outDir?: string; platformUrl?: string; mediaUrl?: string } = {}): Promise<string> {
  const outDir = options.outDir ?? join(pluginRoot, 'dist')
  await rm(outDir, { recursive: true, force: true })
  await build(rendererConfig(join(outDir, 'renderer'), { mediaUrl: options.mediaUrl }))
  await build(preloadConfig(outDir))
  await build(mainConfig(outDir, options.platformUrl ?? DEFAULT_PLATFORM_URL))
  return outDir
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildPlugin({ platformUrl: process.env.PERMINUTE_PLATFORM_URL || DEFAULT_PLATFORM_URL, mediaUrl: process.env.PERMINUTE_MEDIA_URL || DEFAULT_MEDIA_URL }).then(
    (outDir) => console.log(`plugin: built into ${outDir}`),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
