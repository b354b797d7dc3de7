import type { ActionFunctionArgs } from '@remix-run/node'
import { requireOperator } from '../plugin-api/auth.server.js'
import { apiRoute, jsonResponse, methodNotAllowed, only } from '../plugin-api/errors.server.js'
import { storeProfileVideo } from '../plugin-api/profile-video.server.js'
import { servicesFrom } from '../plugin-api/services.server.js'

// POST /api/plugin/v1/profile/video (body: the video file, Content-Type video/webm or video/mp4) → 201 {videoUrl, contentType, sizeBytes}
export const action = apiRoute(async ({ request, context }: ActionFunctionArgs) => {
  if (request.method !== 'POST') return methodNotAllowed(['POST'])
  const services = servicesFrom(context)
  const operator = await requireOperator(request, services)
  return jsonResponse(await storeProfileVideo(services, operator.id, request), 201)
})

export const loader = only('POST')
