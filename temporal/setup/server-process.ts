import { spawn, type ChildProcess } from 'node:child_process'
import { SetupError, tailLines } from './errors.js'
import { forEachLine } from './processes.js'

/**
 * A server the platform runs as a child process (the Temporal dev server, LiveKit): its output kept for error
 * messages, its start awaited until it answers or dies, its stop done in steps, and never left behind by a parent
 * that exits without stopping it.
 */

export interface ServerProcessOptions {
  /** How messages name it: "The Temporal dev server". */
  title: string
  /** Each line it prints, after formatLine, while it is not being stopped (shutdown chatter is not news). */
  onOutput?: (line: string) => void
  /** Rewrites a line before it is kept and shown; an empty result drops it. */
  formatLine?: (line: string) => string
  /** Its own process group (see DevServerOptions.detached). */
  detached?: boolean
  /** Its environment; this process's own by default. */
  env?: NodeJS.ProcessEnv
  /** Signals sent by stop(), each this long after the first: e.g. [['SIGTERM', 0], ['SIGKILL', 10_000]]. */
  stopSequence: ReadonlyArray<readonly [NodeJS.Signals, number]>
}

export interface ServerProcess {
  pid: number
  /** Settles when the process ends, for whatever reason (also when it could not be run at all). */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  outputTail(lines?: number): string
  /**
   * Resolves when `answers` does; rejects with a SetupError saying what it printed when it exits first or `answers`
   * fails with a SetupError (a deadline). Either way a failed start is stopped. `answers` gets a signal that is
   * aborted once the race is lost, so it stops knocking.
   */
  untilAnswering(answers: (signal: AbortSignal) => Promise<void>): Promise<void>
  /** Sends stopSequence until it is gone; resolves once it is. */
  stop(): Promise<void>
}

const OUTPUT_LINES_KEPT = 200

export function startServerProcess(command: string, args: readonly string[], options: ServerProcessOptions): ServerProcess {
  const child: ChildProcess = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: options.detached ?? false, env: options.env ?? process.env })
  const output: string[] = []
  let stopping = false
  const onLine = (raw: string) => {
    const line = options.formatLine ? options.formatLine(raw) : raw
    if (!line.trim()) return
    output.push(line)
    if (output.length > OUTPUT_LINES_KEPT) output.shift()
    if (!stopping) options.onOutput?.(line)
  }
  forEachLine(child.stdout!, onLine)
  forEachLine(child.stderr!, onLine)

  let spawnError: Error | undefined
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolveExit) => {
    child.once('exit', (code, signal) => resolveExit({ code, signal }))
    // A binary that cannot be run at all emits 'error' and never 'exit'.
    child.once('error', (error) => {
      spawnError = error
      resolveExit({ code: null, signal: null })
    })
  })
  const killOnExit = () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
  }
  process.once('exit', killOnExit)

  const stop = async () => {
    process.removeListener('exit', killOnExit)
    if (child.exitCode !== null || child.signalCode !== null || spawnError) return
    stopping = true
    const timers = options.stopSequence.map(([signal, afterMs]) => setTimeout(() => child.kill(signal), afterMs))
    await exited
    for (const timer of timers) clearTimeout(timer)
  }

  // What explains a failed start: its error lines and a panic's first line, which a goroutine dump buries, then the tail.
  const said = () => {
    const tail = output.slice(-20)
    const telling = output.filter((line) => /level=ERROR|^panic:|^fatal error:/.test(line) && !tail.includes(line)).slice(0, 5)
    return [...telling, ...(telling.length > 0 ? ['…'] : []), ...tail].join('\n') || '(nothing)'
  }

  return {
    pid: child.pid ?? -1,
    exited,
    outputTail: (lines = 20) => tailLines(output, lines),
    async untilAnswering(answers) {
      const giveUp = new AbortController()
      try {
        await Promise.race([
          answers(giveUp.signal),
          exited.then(({ code, signal }) => {
            if (spawnError) throw new SetupError(`Could not run ${command}: ${spawnError.message}`)
            throw new SetupError(
              `${options.title} exited while starting (${signal ? `signal ${signal}` : `exit code ${code}`}). It said:\n${said()}`,
            )
          }),
        ])
      } catch (error) {
        giveUp.abort()
        await stop()
        if (error instanceof SetupError && !/exited while starting|Could not run/.test(error.message)) {
          throw new SetupError(`${error.message}\nIt said:\n${said()}`)
        }
        throw error
      }
    },
    stop,
  }
}
