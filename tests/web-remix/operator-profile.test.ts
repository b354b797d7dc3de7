import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { request as httpRequest } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { MAX_IMAGE_BYTES } from '../../web-remix/app/backoffice/profile-images.server.js'
import { startWebStack, stopAfterLedgerCheck, type WebStack } from '../support/web-server.js'
import { newUser, PASSWORD, signedIn } from './backoffice-users.js'
import { call } from './plugin-client.js'

// The operator's profile editor over HTTP against the real web server and database: bio with its preview, tags and
// price, weekly hours in the operator's zone, photos stored in the media directory, the video preview and captions.
// The same editor serves a company's page for its operators.

let stack: WebStack
let mediaDir: string

beforeAll(async () => {
  mediaDir = await mkdtemp(join(tmpdir(), 'perminute-profile-media-'))
  stack = await startWebStack({ env: { MEDIA_DIR: mediaDir }, worker: false })
}, 180_000)

afterAll(async () => {
  await stopAfterLedgerCheck(stack)
  await rm(mediaDir, { recursive: true, force: true })
}, 60_000)

const PNG = new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0x0d, 0x49, 0x48, 0x44, 0x52, 1, 2, 3])
const JPEG = new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 0x10, 0x4a, 0x46, 0x49, 0x46, 0, 1])
const decoded = (html: string) => html.replace(/&amp;/g, '&').replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&#x27;|&#39;/g, "'")

function imageForm(fields: Record<string, string>, file?: { bytes: Uint8Array<ArrayBuffer>; name: string; type: string }) {
  const form = new FormData()
  form.set('intent', 'add-image')
  for (const [name, value] of Object.entries(fields)) form.set(name, value)
  if (file) form.set('image', new File([file.bytes], file.name, { type: file.type }))
  return form
}

const storedImages = async () => (await readdir(join(mediaDir, 'operator-images')).catch(() => [] as string[])).filter((n) => !n.startsWith('.')).sort()

describe("the operator's profile editor", () => {
  it('saves bio, tags and price; refuses bad fields one by one and keeps what was typed; previews without saving', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)
    const bio = '## About me\n\nI listen **carefully**.\n\n<script>alert(1)</script>\n\n[site](javascript:alert(1))'

    const preview = await client.post('/operator/profile', { intent: 'preview-bio', headline: 'h', tags: '', price: '1.50', bio })
    expect(preview.status).toBe(200)
    const previewHtml = await preview.text()
    expect(previewHtml).toContain('Preview (not saved yet)')
    expect(previewHtml).toContain('<h3>About me</h3>')
    expect(previewHtml).toContain('<strong>carefully</strong>')
    expect(previewHtml).not.toContain('<script>alert(1)</script>')
    expect(previewHtml).not.toContain('href="javascript:')
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).bioMarkdown).toBe('')

    const bad = await client.post('/operator/profile', {
      intent: 'save-profile',
      headline: 'x'.repeat(141),
      tags: Array.from({ length: 11 }, (_, i) => `t${i}`).join(','),
      price: '0.01',
      bio: 'kept **as typed**',
    })
    expect(bad.status).toBe(400)
    const badHtml = decoded(await bad.text())
    expect(badHtml).toContain('The headline may have at most 140 characters.')
    expect(badHtml).toContain('At most 10 tags.')
    expect(badHtml).toMatch(/The price must be between 0\.10 and 1000\.00 per minute\./)
    expect(badHtml).toContain('kept **as typed**')
    expect(badHtml).toMatch(/aria-invalid="true"[^>]*name="price"|name="price"[^>]*aria-invalid="true"/)

    const saved = await client.post('/operator/profile', { intent: 'save-profile', headline: 'Calm evenings', tags: 'Calm, tarot', price: '2.40', bio })
    expect(saved.status).toBe(200)
    expect(await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).toMatchObject({
      headline: 'Calm evenings',
      tags: ['calm', 'tarot'],
      ratePerMinuteCents: 240,
      bioMarkdown: bio,
    })
    const publicProfile = await (await fetch(`${stack.url}/operators/${operator.id}`)).text()
    expect(publicProfile).toContain('<strong>carefully</strong>')
    expect(publicProfile).not.toContain('<script>alert(1)</script>')
    expect(publicProfile).toContain('$2.40')
    // The editor shows the saved bio rendered the same way.
    expect(await client.page('/operator/profile')).toContain('<strong>carefully</strong>')
  })

  it('keeps weekly hours in the operator’s own time zone, with an error per day that is wrong', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)
    const hours = { day1: '09:00–12:00, 13:00-17:30', day2: '', day3: '', day4: '', day5: '', day6: '22:00–24:00', day7: '' }

    const bad = await client.post('/operator/profile', { intent: 'save-hours', timeZone: 'Mars/Olympus_Mons', ...hours, day2: '10:00–09:00', day3: '09:00–12:00, 11:00–13:00' })
    expect(bad.status).toBe(400)
    const html = decoded(await bad.text())
    expect(html).toContain('Choose your time zone from the list.')
    expect(html).toContain('ends before it starts')
    expect(html).toContain('overlap')
    expect(await stack.db.operatorAvailability.count({ where: { operatorId: operator.id } })).toBe(0)

    const saved = await client.post('/operator/profile', { intent: 'save-hours', timeZone: 'America/New_York', ...hours })
    expect(saved.status).toBe(200)
    expect(await saved.text()).toContain('Your hours are saved, in America/New_York.')
    const row = await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id }, include: { availability: { orderBy: [{ weekday: 'asc' }, { startMinute: 'asc' }] } } })
    expect(row.timeZone).toBe('America/New_York')
    expect(row.availability.map(({ weekday, startMinute, endMinute }) => ({ weekday, startMinute, endMinute }))).toEqual([
      { weekday: 1, startMinute: 540, endMinute: 720 },
      { weekday: 1, startMinute: 780, endMinute: 1050 },
      { weekday: 6, startMinute: 1320, endMinute: 1440 },
    ])
    const page = decoded(await client.page('/operator/profile'))
    expect(page).toContain('value="09:00–12:00, 13:00–17:30"')
    expect(page).toContain('<option value="America/New_York" selected="">')
    expect(await stack.db.auditLogEntry.count({ where: { actorId: operator.id, action: 'operator.availability.update' } })).toBe(1)
    // The public profile shows Monday's hours converted to the viewer's zone (New York is UTC−4 or −5).
    const publicProfile = await (await fetch(`${stack.url}/operators/${operator.id}?tz=UTC`)).text()
    expect(publicProfile).toMatch(/1[34]:00–1[67]:00/)
    expect(publicProfile).toContain('America/New_York')
  })

  it('uploads photos checked by their first bytes, with required alternative text; reorders and removes them', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)

    const noAlt = await client.postMultipart('/operator/profile', imageForm({ altText: ' ' }, { bytes: PNG, name: 'me.png', type: 'image/png' }))
    expect(noAlt.status).toBe(400)
    expect(decoded(await noAlt.text())).toContain('alternative text is required')
    const notAnImage = await client.postMultipart('/operator/profile', imageForm({ altText: 'A page' }, { bytes: new Uint8Array(new TextEncoder().encode('<html>hi</html>')), name: 'x.png', type: 'image/png' }))
    expect(notAnImage.status).toBe(400)
    expect(await notAnImage.text()).toContain('The file is not a JPEG, PNG or WebP image.')
    const tooLarge = await client.postMultipart('/operator/profile', imageForm({ altText: 'Huge' }, { bytes: new Uint8Array(MAX_IMAGE_BYTES + 1), name: 'big.jpg', type: 'image/jpeg' }))
    expect(tooLarge.status).toBe(413)
    expect(await tooLarge.text()).toContain('larger than 5 MB')
    const noCsrf = await client.postMultipart('/operator/profile', imageForm({ altText: 'x', csrf: 'forged' }, { bytes: PNG, name: 'me.png', type: 'image/png' }))
    expect(noCsrf.status).toBe(403)
    expect(await storedImages()).toEqual([])

    // A JPEG sent as "image/png" is stored as what its bytes say.
    const first = await client.postMultipart('/operator/profile', imageForm({ altText: 'Me at my desk' }, { bytes: JPEG, name: 'desk.png', type: 'image/png' }))
    expect(first.status).toBe(200)
    const second = await client.postMultipart('/operator/profile', imageForm({ altText: 'My garden' }, { bytes: PNG, name: 'garden.png', type: 'image/png' }))
    expect(second.status).toBe(200)
    let images = await stack.db.operatorImage.findMany({ where: { operatorId: operator.id }, orderBy: { position: 'asc' } })
    expect(images.map((i) => i.altText)).toEqual(['Me at my desk', 'My garden'])
    expect(images[0]!.url).toMatch(new RegExp(`^/media/operator-images/${operator.id}-[0-9a-f-]{36}\\.jpg$`))
    const served = await fetch(`${stack.url}${images[1]!.url}`)
    expect(served.headers.get('content-type')).toBe('image/png')
    expect(served.headers.get('x-content-type-options')).toBe('nosniff')
    expect(new Uint8Array(await served.arrayBuffer())).toEqual(PNG)

    expect((await client.post('/operator/profile', { intent: 'move-image-down', imageId: images[0]!.id })).status).toBe(200)
    images = await stack.db.operatorImage.findMany({ where: { operatorId: operator.id }, orderBy: { position: 'asc' } })
    expect(images.map((i) => i.altText)).toEqual(['My garden', 'Me at my desk'])
    expect((await client.post('/operator/profile', { intent: 'move-image-up', imageId: images[0]!.id })).status).toBe(400)
    // The listing's card shows the first photo; the public profile shows both, with their descriptions.
    const listing = await (await fetch(`${stack.url}/?q=${encodeURIComponent(operator.displayName)}`)).text()
    expect(listing).toContain(images[0]!.url)
    expect(await (await fetch(`${stack.url}/operators/${operator.id}`)).text()).toContain('alt="Me at my desk"')

    // Another operator cannot touch these images.
    const other = await newUser(stack.db, 'operator')
    const otherClient = await signedIn(stack.url, other.email)
    expect((await otherClient.post('/operator/profile', { intent: 'remove-image', imageId: images[0]!.id })).status).toBe(400)
    expect(await stack.db.operatorImage.count({ where: { operatorId: operator.id } })).toBe(2)

    expect((await client.post('/operator/profile', { intent: 'remove-image', imageId: images[0]!.id })).status).toBe(200)
    expect((await fetch(`${stack.url}${images[0]!.url}`)).status).toBe(404)
    expect(await storedImages()).toEqual([images[1]!.url.split('/').pop()])
    expect(await stack.db.auditLogEntry.count({ where: { actorId: operator.id, action: { in: ['operator.image.add', 'operator.image.remove'] } } })).toBe(3)
  })

  it('shows the video preview, sets its captions and removes it', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)
    expect(await client.page('/operator/profile')).toContain('No video preview yet')
    const noVideo = await client.post('/operator/profile', { intent: 'save-captions', captionsUrl: 'https://cdn.example.test/me.vtt' })
    expect(noVideo.status).toBe(400)
    expect(await noVideo.text()).toContain('Captions need a video preview')

    const token = (await call(stack.url, '/api/plugin/v1/sessions', { json: { login: operator.email, password: PASSWORD } })).body.token as string
    const upload = await call(stack.url, '/api/plugin/v1/profile/video', { token, raw: new Uint8Array([0x1a, 0x45, 0xdf, 0xa3, 1, 2, 3]), headers: { 'content-type': 'video/webm' } })
    expect(upload.status).toBe(201)
    const videoUrl = upload.body.videoUrl as string
    const page = await client.page('/operator/profile')
    expect(page).toContain(`<source src="${videoUrl}"/>`)

    const insecure = await client.post('/operator/profile', { intent: 'save-captions', captionsUrl: 'http://cdn.example.test/me.vtt' })
    expect(insecure.status).toBe(400)
    expect(await insecure.text()).toContain('https://')
    expect((await client.post('/operator/profile', { intent: 'save-captions', captionsUrl: 'https://cdn.example.test/me.vtt' })).status).toBe(200)
    expect((await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).videoCaptionsUrl).toBe('https://cdn.example.test/me.vtt')
    expect(await (await fetch(`${stack.url}/operators/${operator.id}`)).text()).toContain('src="https://cdn.example.test/me.vtt"')

    const removed = await client.post('/operator/profile', { intent: 'remove-video' })
    expect(removed.status).toBe(200)
    expect(await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).toMatchObject({ videoUrl: null, videoCaptionsUrl: null })
    expect((await fetch(`${stack.url}${videoUrl}`)).status).toBe(404)
    expect((await client.post('/operator/profile', { intent: 'remove-video' })).status).toBe(400)
  })

  it("is the same editor on a company's page for its operator", async () => {
    const company = await newUser(stack.db, 'company')
    const operator = await newUser(stack.db, 'operator', { companyId: company.companyId! })
    const client = await signedIn(stack.url, company.email)
    const saved = await client.post(`/company/operators/${operator.id}`, { intent: 'save-hours', timeZone: 'Europe/Paris', day1: '', day2: '', day3: '10:00–14:00', day4: '', day5: '', day6: '', day7: '' })
    expect(saved.status).toBe(200)
    expect(await stack.db.operator.findUniqueOrThrow({ where: { userId: operator.id } })).toMatchObject({ timeZone: 'Europe/Paris' })
    const upload = await client.postMultipart(`/company/operators/${operator.id}`, imageForm({ altText: 'Studio portrait' }, { bytes: PNG, name: 'p.png', type: 'image/png' }))
    expect(upload.status).toBe(200)
    expect(await stack.db.operatorImage.findFirstOrThrow({ where: { operatorId: operator.id } })).toMatchObject({ altText: 'Studio portrait' })
    expect(await stack.db.auditLogEntry.count({ where: { actorId: company.id, subject: `user:${operator.id}`, action: { in: ['operator.availability.update', 'operator.image.add'] } } })).toBe(2)
  })
})

describe('a photo upload, before its CSRF check', () => {
  /**
   * Sends the start of a multipart upload that announces megabytes and then stops sending: the server's answer, if it
   * gives one without reading the rest, or null when it is still waiting for the body (it reads before it checks).
   */
  function startUpload(path: string, cookie: string, parts: string, headers: Record<string, string> = {}): Promise<{ status: number; text: string } | null> {
    const origin = new URL(stack.url)
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: origin.hostname,
          port: origin.port,
          method: 'POST',
          path,
          agent: false,
          headers: { cookie, origin: origin.origin, 'content-type': 'multipart/form-data; boundary=B', 'content-length': String(4 * 1024 * 1024), ...headers },
        },
        (response) => {
          const chunks: Buffer[] = []
          response.on('data', (chunk: Buffer) => chunks.push(chunk))
          response.on('end', () => {
            clearTimeout(waiting)
            resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') })
            outgoing.destroy()
          })
        },
      )
      const waiting = setTimeout(() => {
        resolve(null)
        outgoing.destroy()
      }, 5_000)
      outgoing.on('error', (error) => ((error as NodeJS.ErrnoException).code === 'ECONNRESET' ? undefined : reject(error)))
      // The first kilobyte of the photo, and no more.
      outgoing.write(`${parts}--B\r\nContent-Disposition: form-data; name="image"; filename="big.jpg"\r\nContent-Type: image/jpeg\r\n\r\n${'\xff'.repeat(1024)}`)
    })
  }
  const field = (name: string, value: string) => `--B\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`

  it('is refused with 403 as soon as a file comes without the token, or after a wrong one, before the file is read', async () => {
    const operator = await newUser(stack.db, 'operator')
    const client = await signedIn(stack.url, operator.email)
    const token = await client.csrfToken('/operator/profile')
    const cookie = client.cookieHeader()
    for (const [what, parts] of [
      ['no token', field('intent', 'add-image')],
      ['a wrong token', field('csrf', 'x'.repeat(token.length)) + field('intent', 'add-image')],
      ['the token after the file', ''],
    ] as const) {
      const answer = await startUpload('/operator/profile', cookie, parts)
      expect(answer, `${what}: the server waited for the photo before refusing`).not.toBeNull()
      expect(answer!.status, what).toBe(403)
    }
    // The right token first: the server goes on to read the photo (it waits for the rest of it).
    expect(await startUpload('/operator/profile', cookie, field('csrf', token) + field('intent', 'add-image'))).toBeNull()
    expect(await stack.db.operatorImage.count({ where: { operatorId: operator.id } })).toBe(0)
  })

  it('is refused before it is read from another site, without a session, or for another role', async () => {
    const operator = await newUser(stack.db, 'operator')
    const member = await newUser(stack.db, 'member')
    const client = await signedIn(stack.url, operator.email)
    const token = await client.csrfToken('/operator/profile')
    const withToken = field('csrf', token) + field('intent', 'add-image')
    expect((await startUpload('/operator/profile', client.cookieHeader(), withToken, { origin: 'https://evil.example' }))?.status).toBe(403)
    expect((await startUpload('/operator/profile', '', withToken))?.status).toBe(302)
    expect((await startUpload('/operator/profile', (await signedIn(stack.url, member.email)).cookieHeader(), withToken))?.status).toBe(403)
    // Pages that take no file take no multipart body at all.
    expect((await startUpload('/account', client.cookieHeader(), withToken))?.status).toBe(415)
  })
})
