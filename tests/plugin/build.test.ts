import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises'
import { builtinModules } from 'node:module'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { buildPlugin, mediaOrigins, rendererConfig } from '../../plugin/build.js'

// What the plugin's build produces is what electron-builder packs and Electron runs: three self-contained bundles
// that need nothing but Electron and Node's own modules, while the project itself never depends on Electron.

const repoRoot = fileURLToPath(new URL('../../', import.meta.url))
let outDir: string

beforeAll(async () => {
  outDir = await buildPlugin({
    outDir: await mkdtemp(join(tmpdir(), 'perminute-plugin-build-')),
    platformUrl: 'https://calls.perminute.example',
    mediaUrl: 'wss://media.perminute.example',
  })
}, 180_000)

afterAll(async () => {
  if (outDir) await rm(outDir, { recursive: true, force: true })
})

/** Every module a CommonJS bundle requires. */
const requires = (code: string) => [...new Set([...code.matchAll(/\brequire\((["'])([^"']+)\1\)/g)].map((match) => match[2]!))].sort()
const nodeModule = (name: string) => name.startsWith('node:') || builtinModules.includes(name)

describe('the plugin build', () => {
  it('bundles the main process with everything but Electron and Node, and the platform it was built for', async () => {
    const main = await readFile(join(outDir, 'main.cjs'), 'utf8')
    const needed = requires(main)
    expect(needed).toContain('electron')
    expect(needed.filter((name) => name !== 'electron' && !nodeModule(name))).toEqual([])
    expect(main).toContain('"https://calls.perminute.example"')
    expect(main).not.toContain('__PERMINUTE_PLATFORM_URL__')
  })

  it('bundles the preload as one file that requires only Electron, as a sandboxed preload must', async () => {
    expect(requires(await readFile(join(outDir, 'preload.cjs'), 'utf8'))).toEqual(['electron'])
  })

  it('builds the page with relative URLs, its content security policy, and no way out to the network but its media server', async () => {
    const html = await readFile(join(outDir, 'renderer', 'index.html'), 'utf8')
    const policy = /<meta\s+http-equiv="Content-Security-Policy"\s+content="([^"]+)"/.exec(html)?.[1]
    expect(policy).toMatch(/^default-src 'none';/)
    // The call's audio and video go to the media server the plugin was built for (its WebSocket, and its HTTP side
    // that livekit-client asks why a connection failed), and nowhere else: not even the platform.
    const directives = Object.fromEntries(policy!.split(';').map((directive) => directive.trim().split(/\s+/)).map(([name, ...values]) => [name, values]))
    expect(directives['connect-src']).toEqual(['wss://media.perminute.example', 'https://media.perminute.example'])
    expect(directives['script-src']).toEqual(["'self'"])
    expect(html).not.toContain('%PERMINUTE_CONNECT_SRC%')
    const assets = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1]!)
    expect(assets.length).toBeGreaterThanOrEqual(2)
    for (const asset of assets) expect(asset, asset).toMatch(/^\.\/assets\//)
    const scripts = await readdir(join(outDir, 'renderer', 'assets'))
    const code = (await Promise.all(scripts.filter((f) => f.endsWith('.js')).map((f) => readFile(join(outDir, 'renderer', 'assets', f), 'utf8')))).join('\n')
    expect(code).not.toMatch(/\brequire\(["']electron["']\)/)
    // The page knows the same list, to say so when a call's media is elsewhere.
    expect(code).toContain('"wss://media.perminute.example"')
    expect(code).not.toContain('__PERMINUTE_MEDIA_ORIGINS__')
  })

  it('joins calls only on a media server it would send a room token to: wss://, or ws:// to this computer', () => {
    expect(mediaOrigins('wss://media.perminute.example/')).toEqual(['wss://media.perminute.example'])
    expect(mediaOrigins('ws://127.0.0.1:7880, wss://eu.media.perminute.example:8443')).toEqual(['ws://127.0.0.1:7880', 'wss://eu.media.perminute.example:8443'])
    expect(mediaOrigins('ws://localhost:7880')).toEqual(['ws://localhost:7880'])
    for (const refused of ['ws://media.perminute.example', 'https://media.perminute.example', 'wss://media.perminute.example/rtc', 'wss://user:pw@media.perminute.example', 'not a url', '']) {
      expect(() => rendererConfig('/tmp/unused', { mediaUrl: refused }), refused).toThrow()
    }
  })

  it('is packed by electron-builder for Windows, macOS and Linux under stable artifact names', async () => {
    const pluginPackage = JSON.parse(await readFile(join(repoRoot, 'plugin', 'package.json'), 'utf8')) as Record<string, Record<string, string> & string>
    const config = parse(await readFile(join(repoRoot, 'plugin', 'electron-builder.yml'), 'utf8')) as Record<string, unknown> & {
      files: string[]
      mac: { target: Array<{ target: string }> }
      win: { target: Array<{ target: string }> }
      linux: { target: Array<{ target: string }> }
      directories: { output: string }
    }
    expect(pluginPackage.main).toBe('dist/main.cjs')
    expect(config.files).toContain('dist/**')
    expect(config.artifactName).toBe('perminute-plugin-${os}-${arch}.${ext}')
    expect(config.mac.target.map((t) => t.target)).toEqual(['dmg', 'zip'])
    expect(config.win.target.map((t) => t.target)).toEqual(['nsis'])
    expect(config.linux.target.map((t) => t.target)).toEqual(['AppImage', 'deb'])
    // plugin/out/ is ignored by git, like plugin/dist/.
    expect(config.directories.output).toBe('out')
    expect(Object.keys(pluginPackage.devDependencies as unknown as object)).toEqual(expect.arrayContaining(['electron', 'electron-builder']))
  })

  it('leaves Electron out of the project’s own dependencies, so installing them never fetches its binary', async () => {
    const rootPackage = JSON.parse(await readFile(join(repoRoot, 'package.json'), 'utf8')) as Record<string, Record<string, string> | undefined>
    const rootLock = await readFile(join(repoRoot, 'package-lock.json'), 'utf8')
    for (const field of ['dependencies', 'devDependencies', 'optionalDependencies']) {
      expect(Object.keys(rootPackage[field] ?? {}).filter((name) => /^electron(-builder)?$|^@electron\//.test(name)), field).toEqual([])
    }
    expect(rootLock).not.toMatch(/"node_modules\/electron"/)
    expect(rootPackage.workspaces).toBeUndefined()
  })

  it('flips Electron’s fuses in the packaged binary: no Node mode, no injected options or inspector, the app from its asar only', async () => {
    const config = parse(await readFile(join(repoRoot, 'plugin', 'electron-builder.yml'), 'utf8')) as { asar?: unknown; electronFuses?: Record<string, unknown> }
    expect(config.electronFuses).toEqual({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableCookieEncryption: true,
      onlyLoadAppFromAsar: true,
      enableEmbeddedAsarIntegrityValidation: true,
    })
    // Names electron-builder knows (its FuseOptionsV1): a misspelt one would be ignored without a word.
    const FUSE_OPTIONS_V1 = [
      'runAsNode',
      'enableCookieEncryption',
      'enableNodeOptionsEnvironmentVariable',
      'enableNodeCliInspectArguments',
      'enableEmbeddedAsarIntegrityValidation',
      'onlyLoadAppFromAsar',
      'loadBrowserProcessSpecificV8Snapshot',
      'grantFileProtocolExtraPrivileges',
      'resetAdHocDarwinSignature',
    ]
    for (const name of Object.keys(config.electronFuses!)) expect(FUSE_OPTIONS_V1, name).toContain(name)
    // onlyLoadAppFromAsar and the integrity check need the app packed as an asar.
    expect(config.asar).toBe(true)
    // The electron-builder the plugin locks flips fuses itself (app-builder-lib depends on @electron/fuses), and it is
    // a version with the electronFuses option (26).
    const lock = JSON.parse(await readFile(join(repoRoot, 'plugin', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version: string; dependencies?: Record<string, string> }> }
    const builder = lock.packages['node_modules/app-builder-lib']!
    expect(Number(builder.version.split('.')[0])).toBeGreaterThanOrEqual(26)
    expect(Object.keys(builder.dependencies ?? {})).toContain('@electron/fuses')
    // Nothing in the app needs what the fuses take away.
    const main = await readFile(join(outDir, 'main.cjs'), 'utf8')
    expect(main).not.toMatch(/ELECTRON_RUN_AS_NODE|NODE_OPTIONS|--inspect/)
  })
})
