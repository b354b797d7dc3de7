import { ensureGoTool, goToolCacheDir, type EnsureGoToolOptions, type GoTool } from './go-tool.js'

/**
 * Finds or builds the LiveKit server, the WebRTC SFU that carries the platform's calls (docs/decisions/070-livekit.md).
 *
 * It is not on npm, so it is found the way the Temporal CLI is (temporal/setup/go-tool.ts): $LIVEKIT_SERVER,
 * `livekit-server` on PATH, the per-user cache, or `go install …/cmd/server@v1.11.0` into that cache (the package's
 * binary is called `server`; it is kept as `livekit-server`). 1.11.0 is the newest release whose go.mod has no
 * `replace` directive: later ones replace pion modules with forks the Go module proxy refuses. There is no
 * download step: its release archives live on GitHub, which our machines cannot reach.
 */

export const LIVEKIT_SERVER_VERSION = '1.11.0'

export const LIVEKIT_SERVER: GoTool = {
  id: 'livekit-server',
  title: 'the LiveKit server',
  version: LIVEKIT_SERVER_VERSION,
  envVar: 'LIVEKIT_SERVER',
  binaryName: 'livekit-server',
  goPackage: 'github.com/livekit/livekit-server/cmd/server',
  builtName: 'server',
  versionPattern: /livekit-server version/i,
  coldBuildTime: 'about 2 minutes',
  warmBuildTime: '~10 s',
  alternatives: [
    'set LIVEKIT_SERVER to the path of a livekit-server binary',
    'put livekit-server on PATH (https://docs.livekit.io/home/self-hosting/local/)',
  ],
}

export type EnsureLiveKitServerOptions = EnsureGoToolOptions

/** `${XDG_CACHE_HOME:-$HOME/.cache}/perminute/livekit-server/<version>`: where a built server is kept. */
export function liveKitServerCacheDir(env: NodeJS.ProcessEnv = process.env): string {
  return goToolCacheDir(LIVEKIT_SERVER, env)
}

/**
 * The path of a working `livekit-server` binary: $LIVEKIT_SERVER; `livekit-server` on PATH; the per-user cache;
 * `go install` into the cache (about 2 minutes the first time, seconds once Go's build cache is warm).
 * Expected failures throw SetupError with a message meant to be printed as it is.
 */
export function ensureLiveKitServer(opts: EnsureLiveKitServerOptions = {}): Promise<string> {
  return ensureGoTool(LIVEKIT_SERVER, opts)
}
