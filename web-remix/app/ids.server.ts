import { z } from 'zod'
import { isUuid, UUID_PATTERN } from '../../workflows/ids.js'

/**
 * Ids from the outside, read one way by every route (workflows/ids.ts says what an id looks like): a path segment
 * that is not one answers 404, as an unknown id does; a field of a form or of a JSON body goes through `uuid`.
 */

export { isUuid }

/** A uuid, in PostgreSQL's lower-case spelling, so that the same id always names the same row and workflow. */
export const uuid = z
  .string()
  .regex(UUID_PATTERN, 'Invalid uuid')
  .transform((id) => id.toLowerCase())

/** The id a route's path names, lower-cased; a 404 with `notFound` as its text when it cannot be an id. */
export function idFromPath(value: string | undefined, notFound: string): string {
  if (typeof value !== 'string' || !isUuid(value)) throw new Response(notFound, { status: 404, statusText: 'Not Found' })
  return value.toLowerCase()
}
