import { readFile } from 'node:fs/promises'
import { connect } from 'node:net'

/** Small helpers for the child processes and lock holders that machine preparation deals with. */

/** Whether a process with this pid exists (EPERM: it exists but belongs to someone else). */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return true
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/** Calls `onLine` for each line a child prints, without the line break (a trailing \r included). */
export function forEachLine(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let partial = ''
  stream.setEncoding('utf8')
  stream.on('data', (chunk: string) => {
    const lines = (partial + chunk).split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) onLine(line.replace(/\r$/, ''))
  })
  stream.on('end', () => {
    if (partial) onLine(partial.replace(/\r$/, ''))
  })
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

/**
 * Guards against a recycled pid: on Linux, whether the process's command line holds every one of `args` (elsewhere
 * this cannot be checked, and the pid is trusted).
 */
export async function commandLineIncludes(pid: number, ...args: string[]): Promise<boolean> {
  if (process.platform !== 'linux') return true
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
    return args.every((arg) => argv.includes(arg))
  } catch {
    return false
  }
}

/** Whether something accepts TCP connections on host:port now (a server that has come up). */
export function isListening(host: string, port: number): Promise<boolean> {
  return new Promise<boolean>((resolve) => {
    const socket = connect({ host, port })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}
