import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { ChildToParent, ParentToChild, ParticipantStats } from './protocol.js'

/**
 * The parent's side of the synthetic parties: `processes` children of ./participant-process.ts, parties spread over
 * them in turn. Every exit path of the parent kills them: stop() (the normal end and the error path), the process's
 * 'exit' event (SIGKILL, synchronously) and, on the child's side, the IPC channel closing when the parent dies.
 */

const SCRIPT = fileURLToPath(new URL('./participant-process.ts', import.meta.url))
const JOIN_TIMEOUT_MS = 30_000

export interface ParticipantPool {
  pids(): number[]
  join(id: string, media: { url: string; token: string }): Promise<void>
  leave(id: string): Promise<void>
  stats(ids: string[]): Promise<Map<string, ParticipantStats>>
  /** The media library's errors the processes caught (as of their last stats), and a few of their messages. */
  libraryErrors(): { count: number; samples: string[] }
  /** Participant processes that exited before stop(). */
  died(): number
  stop(): Promise<void>
}

interface Child {
  process: ChildProcess
  pid: number
  exited: Promise<void>
}

export async function startParticipantPool(processes: number): Promise<ParticipantPool> {
  const children: Child[] = []
  const waiting = new Map<string, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
  const where = new Map<string, Child>()
  let requests = 0
  const errors = new Map<Child, { count: number; last: string[] }>()
  let next = 0
  let stopping = false

  const killAll = () => {
    for (const child of children) if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL')
  }
  process.once('exit', killAll)

  const settle = (key: string, value: unknown, error?: string) => {
    const wait = waiting.get(key)
    if (!wait) return
    waiting.delete(key)
    if (error === undefined) wait.resolve(value)
    else wait.reject(new Error(error))
  }
  const ask = <T>(child: Child, key: string, message: ParentToChild, timeoutMs = JOIN_TIMEOUT_MS): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => settle(key, undefined, `${message.type} got no answer within ${timeoutMs / 1000} s`), timeoutMs)
      waiting.set(key, {
        resolve: (value) => {
          clearTimeout(timer)
          resolve(value as T)
        },
        reject: (error) => {
          clearTimeout(timer)
          reject(error)
        },
      })
      if (!child.process.connected) return settle(key, undefined, `a participant process is gone (${child.process.signalCode ?? child.process.exitCode})`)
      child.process.send(message, (error) => {
        if (error) settle(key, undefined, `a participant process is gone: ${error.message}`)
      })
    })

  try {
    for (let i = 0; i < processes; i++) {
      const child = fork(SCRIPT, [], {
        execArgv: ['--import', 'tsx'],
        // NODE_ENV=production only quiets @livekit/rtc-node's own logger; the program reads no configuration.
        env: { ...process.env, NODE_ENV: 'production' },
        stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      })
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      // A send to a child that has just died fails through the callback above; this keeps it from being thrown too.
      child.on('error', () => undefined)
      const entry: Child = { process: child, pid: child.pid!, exited }
      children.push(entry)
      const ready = new Promise<void>((resolve, reject) => {
        child.once('exit', (code, signal) => reject(new Error(`a participant process exited (${signal ?? code}) before it was ready`)))
        child.on('message', (message: ChildToParent) => {
          if (message.type === 'ready') resolve()
          else if (message.type === 'joined') settle(`join:${message.id}`, undefined)
          else if (message.type === 'failed') settle(`join:${message.id}`, undefined, message.error)
          else if (message.type === 'left') settle(`leave:${message.id}`, undefined)
          else if (message.type === 'stats') {
            errors.set(entry, { count: message.libraryErrors, last: message.lastErrors })
            settle(`stats:${message.requestId}`, message.participants)
          }
        })
      })
      child.once('exit', (code, signal) => {
        if (stopping) return
        // A child gone mid-run takes its parties with it: their waits fail now rather than at a timeout.
        for (const key of [...waiting.keys()]) settle(key, undefined, `a participant process died (${signal ?? code})`)
      })
      await ready
    }
  } catch (error) {
    killAll()
    throw error
  }

  return {
    pids: () => children.map((child) => child.pid),
    async join(id, media) {
      const child = children[next++ % children.length]!
      where.set(id, child)
      await ask<void>(child, `join:${id}`, { type: 'join', id, url: media.url, token: media.token })
    },
    async leave(id) {
      const child = where.get(id)
      if (child) await ask<void>(child, `leave:${id}`, { type: 'leave', id }, 10_000)
    },
    async stats(ids) {
      const byChild = new Map<Child, string[]>()
      for (const id of ids) {
        const child = where.get(id)
        if (child) byChild.set(child, [...(byChild.get(child) ?? []), id])
      }
      const answers = await Promise.all(
        [...byChild].map(([child, theirs]) => {
          const requestId = ++requests
          // A process that died answers nothing: its parties count as hearing nothing more.
          return ask<ParticipantStats[]>(child, `stats:${requestId}`, { type: 'stats', requestId, ids: theirs }, 10_000).catch(() => [])
        }),
      )
      return new Map(answers.flat().map((s) => [s.id, s]))
    },
    libraryErrors() {
      const all = [...errors.values()]
      return { count: all.reduce((sum, e) => sum + e.count, 0), samples: [...new Set(all.flatMap((e) => e.last))].slice(0, 5) }
    },
    died: () => (stopping ? 0 : children.filter((child) => child.process.exitCode !== null || child.process.signalCode !== null).length),
    async stop() {
      stopping = true
      for (const child of children) if (child.process.connected) child.process.send({ type: 'quit' } satisfies ParentToChild, () => undefined)
      // A clean leave first (LiveKit then sees them go at once); SIGKILL for any that does not go within 3 s.
      const force = setTimeout(killAll, 3_000)
      await Promise.all(children.map((child) => child.exited))
      clearTimeout(force)
      process.removeListener('exit', killAll)
    },
  }
}
