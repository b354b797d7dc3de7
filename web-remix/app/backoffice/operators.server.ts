import type { AppLoadContext } from '@remix-run/node'
import { MaxPartSizeExceededError, unstable_createMemoryUploadHandler } from '@remix-run/node'
import {
  ProfileInputError,
  parseTags,
  profileChangeProblems,
  replaceOperatorAvailability,
  setUserStatus,
  updateOperatorProfile,
} from '../../../activities/companies.js'
import { readPlatformSettings } from '../../../activities/settings.js'
import { forceEndCallWorkflow } from '../../../temporal/calls.js'
import { isValidTimeZone, type WeeklyWindow } from '../../../workflows/availability.js'
import { parseMultipartFormAfterCsrf, requireCsrf } from '../auth/csrf.server.js'
import { removeProfileVideo } from '../plugin-api/profile-video.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { renderBio } from '../storefront/markdown.server.js'
import { operatorWindows } from '../storefront/profile.server.js'
import { knownTimeZones } from '../storefront/time-zone.server.js'
import { parseAmount } from './format.js'
import { addOperatorImage, MAX_IMAGE_BYTES, moveOperatorImage, operatorImages, removeOperatorImage } from './profile-images.server.js'
import { dayField, formatDayWindows, parseDayWindows, WEEKDAYS } from './weekly-hours.js'

/** Operators as the operator, company and admin portals see and change them. */

export async function operatorCalls(context: AppLoadContext | undefined, where: { operatorId?: string; companyId?: string }, take = 50) {
  const { db } = servicesFrom(context)
  const calls = await db.call.findMany({
    where,
    orderBy: { startedAt: 'desc' },
    take,
    select: {
      id: true,
      startedAt: true,
      endedAt: true,
      status: true,
      billedMinutes: true,
      ratePerMinuteCents: true,
      chargedCents: true,
      operatorEarningsCents: true,
      companyShareCents: true,
      endReason: true,
      member: { select: { displayName: true } },
      operator: { select: { user: { select: { displayName: true } } } },
      memberRating: { select: { stars: true, comment: true } },
    },
  })
  return calls.map((c) => ({
    id: c.id,
    startedAt: c.startedAt.toISOString(),
    endedAt: c.endedAt?.toISOString() ?? null,
    status: c.status,
    billedMinutes: c.billedMinutes,
    ratePerMinuteCents: c.ratePerMinuteCents,
    chargedCents: c.chargedCents === null ? null : Number(c.chargedCents),
    operatorEarningsCents: c.operatorEarningsCents === null ? null : Number(c.operatorEarningsCents),
    companyShareCents: c.companyShareCents === null ? null : Number(c.companyShareCents),
    endReason: c.endReason,
    memberName: c.member.displayName,
    operatorName: c.operator.user.displayName,
    // What the operator said of the member after the call (activities/ratings.ts); only calls with a billed minute
    // can be rated.
    memberRating: c.memberRating,
    canRateMember: c.memberRating === null && c.status === 'settled' && (c.billedMinutes ?? 0) >= 1,
  }))
}

export async function operatorProfile(context: AppLoadContext | undefined, operatorId: string) {
  const services = servicesFrom(context)
  const { db, config } = services
  const [operator, settings, images, windows] = await Promise.all([
    db.operator.findUnique({
      where: { userId: operatorId },
      select: {
        headline: true,
        tags: true,
        ratePerMinuteCents: true,
        companyId: true,
        bioMarkdown: true,
        timeZone: true,
        videoUrl: true,
        videoCaptionsUrl: true,
        user: { select: { displayName: true, status: true, email: true } },
      },
    }),
    readPlatformSettings(db, config),
    operatorImages(services, operatorId),
    operatorWindows(db, operatorId),
  ])
  if (!operator) throw new Response('No such operator.', { status: 404 })
  return {
    id: operatorId,
    displayName: operator.user.displayName,
    email: operator.user.email,
    status: operator.user.status,
    companyId: operator.companyId,
    headline: operator.headline,
    tags: operator.tags,
    ratePerMinuteCents: operator.ratePerMinuteCents,
    priceMinCents: settings.priceMinCents,
    priceMaxCents: settings.priceMaxCents,
    bioMarkdown: operator.bioMarkdown,
    bioHtml: renderBio(operator.bioMarkdown),
    timeZone: operator.timeZone,
    timeZones: knownTimeZones(),
    hours: Object.fromEntries(WEEKDAYS.map(({ weekday }) => [dayField(weekday), formatDayWindows(windows, weekday)])),
    images,
    video: operator.videoUrl ? { url: operator.videoUrl, captionsUrl: operator.videoCaptionsUrl } : null,
  }
}

export type OperatorProfileView = Awaited<ReturnType<typeof operatorProfile>>

/**
 * What a profile form's action answers: a message, or per-field errors (field names of the form) with the values
 * that were sent, so the page shows them again; `intent` says which of the page's forms it belongs to.
 */
export interface ProfileFormResult {
  ok: boolean
  intent: string
  message?: string
  error?: string
  errors?: Record<string, string>
  values?: Record<string, string>
  /** The bio as sent, rendered as the storefront would (the "Preview" button). */
  previewHtml?: string
}

/** The activities' names for fields, as the form calls them. */
const FORM_FIELD: Record<string, string> = { ratePerMinuteCents: 'price', bioMarkdown: 'bio', videoCaptionsUrl: 'captionsUrl' }
const sentence = (message: string) => message.charAt(0).toUpperCase() + message.slice(1) + (/[.!?]$/.test(message) ? '' : '.')

function refused(intent: string, problems: Record<string, string>, values?: Record<string, string>): ProfileFormResult {
  const errors = Object.fromEntries(Object.entries(problems).map(([field, message]) => [FORM_FIELD[field] ?? field, sentence(message)]))
  return { ok: false, intent, error: 'Please correct the fields marked below.', errors, ...(values ? { values } : {}) }
}

/**
 * Reads a profile form, CSRF checked: urlencoded, or multipart for the image upload, whose token is checked before any
 * file is read (auth/csrf.server.ts) and whose file is held in memory up to the image limit (a larger one stops the
 * reading). Returns null when the upload was too large to read. The caller has checked the session and role.
 */
export async function readProfileForm(request: Request, context: AppLoadContext | undefined): Promise<FormData | null> {
  const type = request.headers.get('content-type') ?? ''
  if (!type.startsWith('multipart/form-data')) {
    const formData = await request.formData()
    await requireCsrf(request, formData, context)
    return formData
  }
  const declared = Number(request.headers.get('content-length') ?? '0')
  // The file plus a generous allowance for the other fields and the multipart framing.
  if (declared > MAX_IMAGE_BYTES + 64 * 1024) return null
  try {
    return await parseMultipartFormAfterCsrf(request, context, unstable_createMemoryUploadHandler({ maxPartSize: MAX_IMAGE_BYTES }))
  } catch (error) {
    if (error instanceof MaxPartSizeExceededError) return null
    throw error
  }
}

export const imageTooLarge = (): ProfileFormResult =>
  refused('add-image', { image: `the image is larger than ${MAX_IMAGE_BYTES / 1024 / 1024} MB` })

const field = (formData: FormData, name: string, max = 20_000) => {
  const value = formData.get(name)
  return typeof value === 'string' ? value.slice(0, max) : ''
}

/**
 * The actions of the profile editor (backoffice/profile-form.tsx), for the operator's own page and their company's:
 * profile and price, bio preview, weekly hours and time zone, images, the video preview and its captions.
 */
export async function handleProfileForm(
  context: AppLoadContext | undefined,
  operatorId: string,
  actorId: string,
  formData: FormData,
): Promise<ProfileFormResult> {
  const services = servicesFrom(context)
  const { db, config } = services
  const clientAddress = context?.clientAddress ?? null
  const audit = { channel: 'web' as const, actorId, origin: { clientAddress } }
  const intent = field(formData, 'intent', 40) || 'save-profile'
  try {
    switch (intent) {
      case 'preview-bio':
      case 'save-profile': {
        const values = { headline: field(formData, 'headline'), tags: field(formData, 'tags'), price: field(formData, 'price'), bio: field(formData, 'bio') }
        const bio = values.bio.replace(/\r\n/g, '\n')
        if (intent === 'preview-bio') return { ok: true, intent, values, previewHtml: renderBio(bio), message: 'This is a preview: nothing is saved yet.' }
        const problems: Record<string, string> = {}
        const rate = parseAmount(values.price)
        if (rate === null) problems.price = 'enter the price per minute, such as 1.50'
        let tags: string[] = []
        try {
          tags = parseTags(values.tags)
        } catch (error) {
          if (!(error instanceof ProfileInputError)) throw error
          problems.tags = error.message
        }
        const settings = await readPlatformSettings(db, config)
        // A form without the bio field (an older page, a script) leaves the bio as it is.
        const change = { headline: values.headline, tags, ratePerMinuteCents: rate ?? 0, ...(formData.has('bio') ? { bioMarkdown: bio } : {}) }
        Object.assign(problems, Object.fromEntries(Object.entries(profileChangeProblems(change, settings)).filter(([key]) => !(key === 'ratePerMinuteCents' && rate === null))))
        if (Object.keys(problems).length > 0) return refused(intent, problems, values)
        await updateOperatorProfile(db, operatorId, change, settings, audit)
        return { ok: true, intent, message: 'Saved. A new price applies to calls that start from now on.' }
      }
      case 'save-hours': {
        const values: Record<string, string> = { timeZone: field(formData, 'timeZone', 100) }
        const problems: Record<string, string> = {}
        const windows: WeeklyWindow[] = []
        for (const { weekday } of WEEKDAYS) {
          const name = dayField(weekday)
          values[name] = field(formData, name, 1000)
          const parsed = parseDayWindows(values[name], weekday)
          if ('error' in parsed) problems[name] = parsed.error
          else windows.push(...parsed.windows)
        }
        if (!isValidTimeZone(values.timeZone!)) problems.timeZone = 'choose your time zone from the list'
        if (Object.keys(problems).length > 0) return refused(intent, problems, values)
        await replaceOperatorAvailability(db, operatorId, { timeZone: values.timeZone!, windows }, audit)
        // The saved hours, as the page shows them: the answer may render before the page's data is reloaded.
        const saved = Object.fromEntries(WEEKDAYS.map(({ weekday }) => [dayField(weekday), formatDayWindows(windows, weekday)]))
        return { ok: true, intent, message: `Your hours are saved, in ${values.timeZone}.`, values: { timeZone: values.timeZone!, ...saved } }
      }
      case 'add-image': {
        const file = formData.get('image')
        await addOperatorImage(services, { operatorId, actorId, clientAddress, file: file instanceof File ? file : null, altText: field(formData, 'altText', 1000) })
        return { ok: true, intent, message: 'The image is added to your profile.' }
      }
      case 'move-image-up':
      case 'move-image-down': {
        const moved = await moveOperatorImage(services, { operatorId, imageId: field(formData, 'imageId', 40), direction: intent === 'move-image-up' ? 'up' : 'down' })
        return moved ? { ok: true, intent, message: 'The images are in their new order.' } : { ok: false, intent, error: 'That image cannot move further.' }
      }
      case 'remove-image': {
        const removed = await removeOperatorImage(services, { operatorId, actorId, clientAddress, imageId: field(formData, 'imageId', 40) })
        return removed ? { ok: true, intent, message: 'The image is removed.' } : { ok: false, intent, error: 'There is no such image on this profile.' }
      }
      case 'save-captions': {
        const captionsUrl = field(formData, 'captionsUrl', 1000).trim()
        const settings = await readPlatformSettings(db, config)
        await updateOperatorProfile(db, operatorId, { videoCaptionsUrl: captionsUrl || null }, settings, audit)
        return { ok: true, intent, message: captionsUrl ? 'The captions are saved.' : 'The captions are removed.' }
      }
      case 'remove-video': {
        const removed = await removeProfileVideo(services, operatorId, actorId, clientAddress)
        return removed ? { ok: true, intent, message: 'The video preview is removed.' } : { ok: false, intent, error: 'There is no video preview to remove.' }
      }
      default:
        return { ok: false, intent, error: 'This form is not one the page knows. Reload the page and try again.' }
    }
  } catch (error) {
    if (error instanceof ProfileInputError) {
      const values: Record<string, string> | undefined =
        intent === 'save-captions' ? { captionsUrl: field(formData, 'captionsUrl', 1000) } : intent === 'add-image' ? { altText: field(formData, 'altText', 1000) } : undefined
      return refused(intent, { ...error.problems }, values)
    }
    throw error
  }
}

/**
 * Disables or re-enables an account. A disabled operator's calls in progress are ended now, through their workflows
 * (which settle them); the account is signed out of the web and the plugin.
 */
export async function changeAccountStatus(
  context: AppLoadContext | undefined,
  input: { userId: string; status: 'active' | 'disabled'; actorId: string; action: string; reason?: string | null },
): Promise<{ endedCalls: number }> {
  const services = servicesFrom(context)
  const change = await setUserStatus(
    services.db,
    { userId: input.userId, status: input.status, reason: input.reason ?? null },
    { channel: 'web', actorId: input.actorId, action: input.action, origin: { clientAddress: context?.clientAddress ?? null } },
  )
  if (change.activeCallIds.length > 0) {
    const client = await services.temporal()
    await Promise.all(change.activeCallIds.map((callId) => forceEndCallWorkflow(client, callId, 'operator_disabled')))
  }
  return { endedCalls: change.activeCallIds.length }
}
