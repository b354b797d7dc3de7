/**
 * The custom search attributes the admin uses to find calls in the Temporal UI. The dev server registers
 * them at start (temporal/setup/dev-server.ts); a cluster gets them from its operator
 * (`temporal operator search-attribute create`).
 *
 * Workflow code does not import this file (workflows/ imports only itself and @temporalio/workflow); the names
 * come from workflows/definitions.ts, and the client, the setup and the tests read them here with their types.
 */
import { searchAttributeNames } from '../workflows/definitions.js'

// The names are defined once, beside the workflow that sets them.
export const MEMBER_ID_SEARCH_ATTRIBUTE = searchAttributeNames.memberId
export const OPERATOR_ID_SEARCH_ATTRIBUTE = searchAttributeNames.operatorId
export const CALL_STATUS_SEARCH_ATTRIBUTE = searchAttributeNames.callStatus

export type SearchAttributeKind = 'Keyword' | 'Text' | 'Int' | 'Double' | 'Bool' | 'Datetime' | 'KeywordList'

/** Every custom search attribute the platform needs, with its type, as the CLI's `--search-attribute` wants them. */
export const CUSTOM_SEARCH_ATTRIBUTES: Readonly<Record<string, SearchAttributeKind>> = Object.freeze({
  [MEMBER_ID_SEARCH_ATTRIBUTE]: 'Keyword',
  [OPERATOR_ID_SEARCH_ATTRIBUTE]: 'Keyword',
  [CALL_STATUS_SEARCH_ATTRIBUTE]: 'Keyword',
})
