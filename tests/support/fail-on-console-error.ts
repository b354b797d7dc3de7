import { afterEach, beforeEach, vi, type MockInstance } from 'vitest'

/**
 * An unexpected console.error fails the test that caused it (an Epic Stack habit): errors that a test does not
 * look for are how bugs slip past green suites. The message still prints, so the failure shows what was said.
 *
 * A test that expects an error says so by replacing the implementation, either
 *   consoleError.mockImplementation(() => {})              (this module's spy)
 * or
 *   vi.spyOn(console, 'error').mockImplementation(() => {})
 * and can then assert on consoleError.mock.calls.
 *
 * The check runs in afterEach rather than by throwing inside console.error, because an error thrown there is
 * often swallowed by whatever called console.error (a catch block, an event emitter) and the test would pass.
 */
export let consoleError: MockInstance<typeof console.error>

const unexpected: unknown[][] = []

beforeEach(() => {
  unexpected.length = 0
  const original = console.error.bind(console)
  consoleError = vi.spyOn(console, 'error').mockImplementation((...args: unknown[]) => {
    unexpected.push(args)
    original(...args)
  })
})

afterEach(() => {
  const calls = unexpected.splice(0)
  consoleError.mockRestore()
  if (calls.length > 0) {
    const said = calls.map((args) => args.map((arg) => (arg instanceof Error ? (arg.stack ?? arg.message) : String(arg))).join(' '))
    throw new Error(
      `console.error was called ${calls.length} time(s) during this test:\n${said.join('\n')}\n` +
        `If that is expected, silence it in the test: consoleError.mockImplementation(() => {}) ` +
        `(from tests/support/fail-on-console-error.ts) or vi.spyOn(console, 'error').mockImplementation(() => {}).`,
    )
  }
})
