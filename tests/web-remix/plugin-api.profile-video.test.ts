import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_VIDEO_BYTES } from '../../web-remix/app/plugin-api/profile-video.server.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { call, signedInOperator, type ApiResponse } from './plugin-client.js'

// The operator's video preview: uploaded by the plugin, stored in the media directory, served from the profile's URL.

let stack: WebStack
let mediaDir: string

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'perminute-media-'))
  stack = await startWebStack({ env: { MEDIA_DIR: mediaDir }, worker: false })
}, 180_000)

afterAll(async () => {
  await stopAfterLedgerCheck(stack)
  await rm(mediaDir, { recursive: true, force: true })
}, 60_000)

const endpoint = '/api/plugin/v1/profile/video'
const webm = (size: number) => new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, ...new Uint8Array(size)])
const mp4 = new Uint8Array([0, 0, 0, 0x18, 0x66, 0x74, 0x79, 0x70, 0x69, 0x73, 0x6f, 0x6d, 0, 0, 0, 0])

function expectError(response: ApiResponse, status: number, error: string) {
  expect(response.status).toBe(status)
  expect(response.body).toEqual({ error, message: expect.any(String) })
}

/**
 * Declares a body over the limit and sends only its first bytes, reading the answer meanwhile (as a client that
 * honours an early answer does): the server refuses on the declared length, without waiting for megabytes.
 */
function postDeclaringSize(token: string, size: number): Promise<ApiResponse> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${stack.url}${endpoint}`)
    const request = httpRequest(url, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'video/webm', 'content-length': String(size) },
    })
    request.on('response', (response) => {
      let text = ''
      response.setEncoding('utf8')
      response.on('data', (chunk: string) => (text += chunk))
      response.on('end', () => {
        request.destroy()
        resolve({ status: response.statusCode ?? 0, headers: new Headers(), text, body: JSON.parse(text) })
      })
    })
    request.on('error', (error) => (request.destroyed ? undefined : reject(error)))
    request.write(webm(1_000))
  })
}

const storedFiles = async () => (await readdir(join(mediaDir, 'operator-videos')).catch(() => [] as string[])).sort()

describe('POST /api/plugin/v1/profile/video', () => {
  it("stores the video, puts its URL on the operator's profile, serves it, and replaces the previous one", async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const first = await call(stack.url, endpoint, { token: operator.token, raw: webm(2_000), headers: { 'content-type': 'video/webm;codecs=vp9,opus' } })
    expect(first.status).toBe(201)
    expect(first.body).toEqual({
      videoUrl: expect.stringMatching(new RegExp(`^/media/operator-videos/${operator.id}-[0-9a-f-]{36}\\.webm$`)),
      contentType: 'video/webm',
      sizeBytes: 2_004,
    })
    const profile = await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })
    expect(profile.videoUrl).toBe(first.body.videoUrl)
    // Captions belong to a recording: a new recording drops the old one's.
    await stack.db.operator.update({ where: { userId: operator.id }, data: { videoCaptionsUrl: '/captions/old.vtt' } })

    const served = await fetch(`${stack.url}${first.body.videoUrl}`)
    expect(served.status).toBe(200)
    expect(served.headers.get('content-type')).toBe('video/webm')
    expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(webm(2_000))

    const second = await call(stack.url, endpoint, { token: operator.token, raw: mp4, headers: { 'content-type': 'video/mp4' } })
    expect(second.status).toBe(201)
    expect(second.body.videoUrl).toMatch(/\.mp4$/)
    expect(await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id }, select: { videoUrl: true, videoCaptionsUrl: true } })).toEqual({
      videoUrl: second.body.videoUrl,
      videoCaptionsUrl: null,
    })
    const mine = (await storedFiles()).filter((name) => name.startsWith(operator.id))
    expect(mine).toEqual([second.body.videoUrl.split('/').pop()])
    expect((await fetch(`${stack.url}${first.body.videoUrl}`)).status).toBe(404)
  })

  it('refuses what is not a video preview, and anyone without a token', async () => {
    const operator = await signedInOperator(stack.db, stack.url)
    const before = await storedFiles()
    expectError(await call(stack.url, endpoint, { raw: webm(10), headers: { 'content-type': 'video/webm' } }), 401, 'unauthorized')
    expectError(await call(stack.url, endpoint, { token: operator.token, raw: webm(10), headers: { 'content-type': 'image/png' } }), 415, 'unsupported_media_type')
    expectError(await call(stack.url, endpoint, { token: operator.token, json: { video: 'x' } }), 415, 'unsupported_media_type')
    expectError(await call(stack.url, endpoint, { token: operator.token, raw: new Uint8Array(0), headers: { 'content-type': 'video/webm' } }), 422, 'invalid_body')
    // Declared as WebM, but not one.
    expectError(await call(stack.url, endpoint, { token: operator.token, raw: mp4, headers: { 'content-type': 'video/webm' } }), 422, 'invalid_body')
    expectError(await postDeclaringSize(operator.token, MAX_VIDEO_BYTES + 1), 413, 'payload_too_large')
    expectError(await call(stack.url, endpoint, { token: operator.token }), 405, 'method_not_allowed')
    expect(await storedFiles()).toEqual(before)
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).videoUrl).toBeNull()
  })

  it('serves nothing but stored previews', async () => {
    for (const path of ['/media/operator-videos/nothing.webm', '/media/operator-videos/..%2F..%2Fpackage.json', `/media/operator-videos/${'0'.repeat(36)}-${'0'.repeat(36)}.webm`]) {
      expect((await fetch(`${stack.url}${path}`)).status).toBe(404)
    }
  })
})
