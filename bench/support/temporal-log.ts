import { DefaultLogger, Runtime, type LogEntry } from '@temporalio/worker'

/**
 * The in-process worker's warnings, counted instead of printed. Under load the SDK warns once per slow workflow task
 * or retried activity: hundreds of lines that would bury the progress and the report, yet their counts say where
 * time went (workflow tasks over 5 s, ledger transactions that could not start in time). Native (Rust core) logs are
 * forwarded to the same logger, so they stop going straight to stdout, where the Markdown report goes.
 *
 * The Runtime can be installed once per process, before the first connection, so this module must be imported
 * before anything that installs one (tests/support/web-server.ts does, at import).
 */

const counts = new Map<string, number>()
const SHOWN_PER_KIND = 3

function kindOf(entry: LogEntry): string {
  // "[TMPRL1104] <run id>:4:1 Workflow task duration exceeded 5 seconds." → "Workflow task duration exceeded 5 seconds."
  let kind = entry.message.replace(/^\[TMPRL\d+\]\s*\S+:\d+:\d+\s*/, '').trim()
  const meta = entry.meta as { activityType?: unknown; error?: { message?: unknown } } | undefined
  if (typeof meta?.activityType === 'string') kind += ` (${meta.activityType})`
  const error = typeof meta?.error?.message === 'string' ? meta.error.message : ''
  // The first meaningful line of the error, with ids and numbers blanked so that alike failures count together.
  const reason = error
    .split('\n')
    .map((line) => line.trim())
    .find((line) => line && !/^Invalid `/.test(line))
  if (reason) kind += `: ${reason.replace(/[0-9a-f]{8}-[0-9a-f-]{27}/gi, '<id>').replace(/\d+/g, 'N').slice(0, 160)}`
  return kind
}

try {
  Runtime.install({
    logger: new DefaultLogger('WARN', (entry) => {
      const kind = kindOf(entry)
      const seen = (counts.get(kind) ?? 0) + 1
      counts.set(kind, seen)
      if (entry.level === 'ERROR' || seen <= SHOWN_PER_KIND) {
        process.stderr.write(`temporal ${entry.level.toLowerCase()}: ${kind}${seen === SHOWN_PER_KIND ? ' (further ones are only counted)' : ''}\n`)
      }
    }),
    telemetryOptions: { logging: { filter: { core: 'WARN', other: 'ERROR' }, forward: {} } },
  })
} catch {
  // A runtime was installed already (this module imported too late): its logger stands, and nothing is counted.
}

/** How many warnings of each kind the worker logged so far, most frequent first. */
export function temporalWarnings(): Record<string, number> {
  return Object.fromEntries([...counts.entries()].sort((a, b) => b[1] - a[1]))
}
