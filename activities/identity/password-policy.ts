import { ZxcvbnFactory } from '@zxcvbn-ts/core'
import * as common from '@zxcvbn-ts/language-common'
import * as english from '@zxcvbn-ts/language-en'

/**
 * The one rule every new password meets, wherever it is chosen (sign-up, the admin command line, a reset, a change):
 * 8 to 200 characters, and not guessable. Guessable is zxcvbn's estimate (@zxcvbn-ts with its common and English
 * dictionaries, shipped in the package: no network look-up), which knows the common-password lists, keyboard walks,
 * dates, l33t spellings and the user's own e-mail and name; a score under 2 (fewer than about 10^6 guesses) is refused.
 * See docs/decisions/055-password-rule.md.
 */

export const MIN_PASSWORD_LENGTH = 8
export const MAX_PASSWORD_LENGTH = 200
const MIN_SCORE = 2

let estimator: ZxcvbnFactory | undefined

function zxcvbn(): ZxcvbnFactory {
  estimator ??= new ZxcvbnFactory({
    dictionary: { ...common.dictionary, ...english.dictionary },
    graphs: common.adjacencyGraphs,
    translations: english.translations,
  })
  return estimator
}

/**
 * What is wrong with a new password, in words for the person choosing it, or null when it is fine. `related` are
 * words of the account (its e-mail address, its name) that make a password easy to guess for whoever knows them.
 */
export function passwordProblem(password: string, related: readonly string[] = []): string | null {
  if (password.length < MIN_PASSWORD_LENGTH) return `the password must have at least ${MIN_PASSWORD_LENGTH} characters`
  if (password.length > MAX_PASSWORD_LENGTH) return `the password may have at most ${MAX_PASSWORD_LENGTH} characters`
  const inputs = related.flatMap((word) => [word, ...word.split(/[@.\s_+-]+/)]).filter((word) => word.length >= 3)
  const verdict = zxcvbn().check(password, inputs)
  if (verdict.score >= MIN_SCORE) return null
  const why = verdict.feedback.warning ? `${verdict.feedback.warning.replace(/\.$/, '').toLowerCase()}: ` : ''
  return `the password is too easy to guess (${why}choose a longer one, such as a few unrelated words)`
}
