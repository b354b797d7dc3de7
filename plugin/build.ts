import { rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { build, type InlineConfig } from 'vite'

/**
 * Builds the plugin's three bundles with Vite, into dist/ (what electron-builder packs):
 *   dist/main.cjs      the main process (Node, CommonJS; Electron is required at run time, never bundled)
 *   dist/preload.cjs   the sandboxed preload (one CommonJS file: a sandboxed preload may require only 'electron')
 *   dist/renderer/     the window's page (index.html and its assets, with relative URLs for file://)
 * Everything else (React, zod, the core) is bundled in, so the packaged app carries no node_modules.
 *
 *   npx tsx plugin/build.ts            (or `npm run build` in plugin/)
 *   PERMINUTE_PLATFORM_URL=https://… npx tsx plugin/build.ts    the platform the built plugin talks to by default
 */

const pluginRoot = fileURLToPath(new URL('.', import.meta.url))
const source = (path: string) => join(pluginRoot, 'src', path)

export const DEFAULT_PLATFORM_URL = 'http://127.0.0.1:3000'
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

export function rendererConfig(outDir: string): InlineConfig {
  return {
    ...common,
    root: source('renderer'),
    base: './',
    build: { outDir, emptyOutDir: true, target: CHROME_TARGET, sourcemap: false, reportCompressedSize: false },
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

export async function buildPlugin(options: { outDir?: string; platformUrl?: string } = {}): Promise<string> {
  const outDir = options.outDir ?? join(pluginRoot, 'dist')
  await rm(outDir, { recursive: true, force: true })
  await build(rendererConfig(join(outDir, 'renderer')))
  await build(preloadConfig(outDir))
  await build(mainConfig(outDir, options.platformUrl ?? DEFAULT_PLATFORM_URL))
  return outDir
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  buildPlugin({ platformUrl: process.env.PERMINUTE_PLATFORM_URL || DEFAULT_PLATFORM_URL }).then(
    (outDir) => console.log(`plugin: built into ${outDir}`),
    (error: unknown) => {
      console.error(error)
      process.exit(1)
    },
  )
}
