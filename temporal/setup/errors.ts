/**
 * Expected failures of machine preparation (no Go, a port in use, a server that would not start…) are
 * SetupErrors: their message is written for a person and is printed as it is, without a stack trace.
 * Anything else is a bug and keeps its stack.
 */
export class SetupError extends Error {
  override name = 'SetupError'
}

/** Where setup steps report progress: one line at a time, without a trailing newline. */
export type SetupLog = (line: string) => void

/** The default log: progress goes to stderr so that stdout stays clean for whatever a command prints. */
export const stderrLog: SetupLog = (line) => process.stderr.write(`${line}\n`)

/** Expected failures (SetupError, config/env.ts's ConfigError) as their message; anything else with its stack. */
export function describeFailure(error: unknown): string {
  if (error instanceof Error) {
    // ConfigError is matched by name so that this file needs no import from config/.
    if (error instanceof SetupError || error.name === 'ConfigError') return error.message
    return error.stack ?? `${error.name}: ${error.message}`
  }
  return String(error)
}

/** The last `max` lines of some text, for "here is what the process said before it died" messages. */
export function tailLines(lines: readonly string[], max = 20): string {
  return lines.slice(-max).join('\n')
}
