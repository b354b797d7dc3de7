/**
 * The shape of every id the platform mints (calls, users, payouts, call requests, top-ups…): a UUID, which PostgreSQL
 * spells in lower case. Anything else in a path, a form or a query names nothing. It is "not found" like any unknown
 * id, and never reaches a `::uuid` cast, where PostgreSQL would refuse it with an error instead of an empty answer.
 * Pure, so that the web, the activities and the workflows share this one definition.
 */
export const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

export function isUuid(value: unknown): boolean {
  return typeof value === 'string' && UUID_PATTERN.test(value)
}
