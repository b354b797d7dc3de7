import { createReadStream } from 'node:fs'
import { readdir, stat } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { Readable } from 'node:stream'
import type { PlatformServices } from '../plugin-api/services.server.js'

/**
 * The plugin's installers as this site serves them when no other download location is configured
 * (PLUGIN_DOWNLOAD_URL): the files electron-builder wrote to PLUGIN_ARTIFACTS_DIR (plugin/electron-builder.yml names
 * them perminute-plugin-<os>-<arch>.<ext>, without a version). Only such names are listed or served.
 */

const ARTIFACT = /^perminute-plugin-[a-z0-9]+-[a-z0-9_]+\.(exe|dmg|zip|AppImage|deb)$/

export interface PluginArtifact {
  name: string
  sizeBytes: number
}

export function artifactsDirectory(services: PlatformServices): string {
  return resolve(services.config.PLUGIN_ARTIFACTS_DIR)
}

export async function listPluginArtifacts(services: PlatformServices): Promise<PluginArtifact[]> {
  const folder = artifactsDirectory(services)
  const names = (await readdir(folder).catch(() => [] as string[])).filter((name) => ARTIFACT.test(name)).sort()
  const artifacts = await Promise.all(names.map(async (name) => ({ name, sizeBytes: (await stat(join(folder, name))).size })))
  return artifacts
}

/** GET /downloads/plugin/<file>: the installer as an attachment, or 404. */
export async function servePluginArtifact(services: PlatformServices, fileName: string | undefined): Promise<Response> {
  const notFound = () => new Response('Not found', { status: 404, headers: { 'Content-Type': 'text/plain; charset=utf-8' } })
  if (!fileName || !ARTIFACT.test(fileName)) return notFound()
  const path = join(artifactsDirectory(services), fileName)
  let size: number
  try {
    size = (await stat(path)).size
  } catch {
    return notFound()
  }
  return new Response(Readable.toWeb(createReadStream(path)) as ReadableStream<Uint8Array>, {
    status: 200,
    headers: {
      'Content-Type': 'application/octet-stream',
      'Content-Length': String(size),
      'Content-Disposition': `attachment; filename="${fileName}"`,
      // The names carry no version: a new release replaces the file under the same name.
      'Cache-Control': 'no-cache',
    },
  })
}
