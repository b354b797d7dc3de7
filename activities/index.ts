import type { Db } from '../prisma/client.js'
import type { CallActivities } from '../workflows/definitions.js'
import { createCallActivities } from './calls.js'

export interface ActivityDeps {
  db: Db
}

/** Every activity the worker registers, built from injected dependencies (tests inject their own database). */
export function createActivities(deps: ActivityDeps): CallActivities {
  return { ...createCallActivities(deps.db) }
}
