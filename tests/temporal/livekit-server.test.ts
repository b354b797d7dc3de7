import { chmod, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { SetupError } from '../../temporal/setup/errors.js'
import { ensureLiveKitServer, LIVEKIT_SERVER_VERSION, liveKitServerCacheDir } from '../../temporal/setup/livekit-server.js'
import { run } from '../../temporal/setup/go-tool.js'

// Finding or building the LiveKit server, with stand-ins for `go` and for the binary (shell scripts that use only
// builtins and absolute paths, so PATH can hold nothing but them). The real build is what the global set-up ran.

const FAKE_SERVER = `#!/bin/sh\n[ "$1" = "--version" ] && echo "livekit-server version ${LIVEKIT_SERVER_VERSION}"\nexit 0\n`

describe('finding the LiveKit server', () => {
  let dir: string
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perminute-livekit-server-test-'))
  })
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true })
  })

  /** A fresh home, cache and PATH; `go` on it when a script is given (it logs its arguments to go.log). */
  async function machine(name: string, options: { go?: string; onPath?: boolean } = {}) {
    const root = join(dir, name)
    const bin = join(root, 'bin')
    await mkdir(bin, { recursive: true })
    if (options.go !== undefined) await script(join(bin, 'go'), `#!/bin/sh\necho "$@" >> "${root}/go.log"\n${options.go}`)
    if (options.onPath) await script(join(bin, 'livekit-server'), FAKE_SERVER)
    const env: NodeJS.ProcessEnv = { NODE_ENV: 'test', HOME: join(root, 'home'), XDG_CACHE_HOME: join(root, 'cache'), PATH: bin }
    const goCalls = async () => (await readFile(join(root, 'go.log'), 'utf8').catch(() => '')).split('\n').filter(Boolean)
    return { root, bin, env, goCalls, cached: join(liveKitServerCacheDir(env), 'livekit-server') }
  }

  // `go install` as it behaves: builds `server` into $GOBIN, after a while.
  const goThatBuilds = (delay = '0') =>
    `/bin/sleep ${delay}\nprintf '%b' '${FAKE_SERVER.replace(/\n/g, '\\n')}' > "$GOBIN/server"\n/bin/chmod +x "$GOBIN/server"\n`

  it('takes LIVEKIT_SERVER as it is, and says so when it is not a program', async () => {
    const { env, root } = await machine('env')
    const binary = join(root, 'my-livekit')
    await script(binary, FAKE_SERVER)
    expect(await ensureLiveKitServer({ env: { ...env, LIVEKIT_SERVER: binary }, log: () => {} })).toBe(binary)
    const attempt = ensureLiveKitServer({ env: { ...env, LIVEKIT_SERVER: join(root, 'nothing-here') }, log: () => {} })
    await expect(attempt).rejects.toBeInstanceOf(SetupError)
    await expect(attempt).rejects.toThrow(/LIVEKIT_SERVER is set to .*nothing-here, but that is not an executable file/)
  })

  it('takes livekit-server from PATH before the cache', async () => {
    const { env, bin } = await machine('path', { onPath: true })
    expect(await ensureLiveKitServer({ env, log: () => {} })).toBe(join(bin, 'livekit-server'))
  })

  it('builds it once with go install into the per-user cache, then finds it there', async () => {
    const { env, cached, goCalls, root } = await machine('build', { go: goThatBuilds() })
    expect(cached).toBe(join(root, 'cache', 'perminute', 'livekit-server', LIVEKIT_SERVER_VERSION, 'livekit-server'))
    const lines: string[] = []
    expect(await ensureLiveKitServer({ env, log: (line) => lines.push(line) })).toBe(cached)
    expect(await goCalls()).toEqual([`install -v github.com/livekit/livekit-server/cmd/server@v${LIVEKIT_SERVER_VERSION}`])
    expect(lines[0]).toMatch(/^livekit-server: building the LiveKit server v1\.11\.0 with .*go \(go install .*\) into /)
    expect(lines.at(-1)).toMatch(/^livekit-server: built .*livekit-server in \d+s/)
    // The build's temporary GOBIN is gone; only the binary (renamed from `server`) is left.
    expect(await readdir(join(cached, '..'))).toEqual(['livekit-server'])

    expect(await ensureLiveKitServer({ env, log: () => {} })).toBe(cached)
    expect(await goCalls()).toHaveLength(1)
  })

  it('replaces a cached file that does not run', async () => {
    const { env, cached, goCalls } = await machine('broken-cache', { go: goThatBuilds() })
    await mkdir(join(cached, '..'), { recursive: true })
    await script(cached, '#!/bin/sh\nexit 1\n')
    expect(await ensureLiveKitServer({ env, log: () => {} })).toBe(cached)
    expect(await goCalls()).toHaveLength(1)
    expect((await run(cached, ['--version'])).stdout).toMatch(/livekit-server version/)
  })

  it('builds once when two callers ask at the same time', async () => {
    const { env, cached, goCalls } = await machine('concurrent', { go: goThatBuilds('1') })
    const lines: string[] = []
    const results = await Promise.all([ensureLiveKitServer({ env, log: (line) => lines.push(line) }), ensureLiveKitServer({ env, log: (line) => lines.push(line) })])
    expect(results).toEqual([cached, cached])
    expect(await goCalls()).toHaveLength(1)
    expect(lines.some((line) => /another process \(pid \d+\) is preparing the LiveKit server; waiting for it/.test(line))).toBe(true)
  })

  it('takes over the lock of a builder that died', async () => {
    const { env, cached, goCalls } = await machine('stale-lock', { go: goThatBuilds() })
    await mkdir(join(cached, '..'), { recursive: true })
    // A pid that cannot be alive (above Linux's pid_max).
    await writeFile(join(cached, '..', '.lock'), JSON.stringify({ pid: 2 ** 30, host: (await import('node:os')).hostname() }))
    expect(await ensureLiveKitServer({ env, log: () => {} })).toBe(cached)
    expect(await goCalls()).toHaveLength(1)
  })

  it('says what to do when there is no Go, and what Go said when the build fails', async () => {
    const noGo = await machine('no-go')
    const attempt = ensureLiveKitServer({ env: noGo.env, log: () => {} })
    await expect(attempt).rejects.toBeInstanceOf(SetupError)
    await expect(attempt).rejects.toThrow(
      /The LiveKit server \(v1\.11\.0\) is needed, and it could not be found here\.[\s\S]*install Go[\s\S]*set LIVEKIT_SERVER[\s\S]*put livekit-server on PATH/,
    )

    const failing = await machine('go-fails', { go: 'echo "go: github.com/pion/ice@v4: verifying module: checksum mismatch" >&2\nexit 1\n' })
    const build = ensureLiveKitServer({ env: failing.env, log: () => {} })
    await expect(build).rejects.toThrow(/Building the LiveKit server with Go failed \(go install exited with 1\)[\s\S]*checksum mismatch[\s\S]*LIVEKIT_SERVER/)
    await expect(readdir(join(failing.cached, '..'))).resolves.toEqual([])
  })
})

describe('the LiveKit server this run uses', () => {
  it('is the pinned version', async () => {
    const result = await run(inject('liveKitServerPath'), ['--version'])
    expect(result.stdout.trim()).toBe(`livekit-server version ${LIVEKIT_SERVER_VERSION}`)
  })
})

async function script(path: string, text: string): Promise<void> {
  await writeFile(path, text)
  await chmod(path, 0o755)
}
