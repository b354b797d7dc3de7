import { useEffect, useState } from 'react'
import type { MemberCard } from '../core/plugin-state.js'

/**
 * The ring of a member's request, made with WebAudio (no sound file ships with the plugin): two short bursts of a
 * two-tone chord every few seconds, as a telephone rings, repeated until the request is accepted, declined or lapses.
 * The operator may mute it; the choice is kept on this computer.
 */

/** One ring: two bursts, then quiet until the next. */
export const RING_CYCLE_MS = 3_000
const BURSTS: ReadonlyArray<readonly [startS: number, endS: number]> = [
  [0, 0.4],
  [0.6, 1.0],
]
/** A telephone's ring chord (Hz), soft enough not to startle. */
const TONES = [440, 480] as const
const VOLUME = 0.12
const MUTE_KEY = 'perminute.ringtone.muted'

/** Cards that ring: a member asking now (or a booking that is due), not yet answered. */
export function ringingCards(cards: readonly MemberCard[]): MemberCard[] {
  return cards.filter((card) => (card.source === 'request' || card.source === 'booking') && card.verified && card.status === 'waiting')
}

class Ringtone {
  private context: AudioContext | null = null
  private timer: ReturnType<typeof setInterval> | undefined

  start(): void {
    if (this.context) return
    const context = new AudioContext()
    this.context = context
    // The window may start a sound without a click (Electron's default); a browser that suspends it is asked again.
    if (context.state === 'suspended') void context.resume().catch(() => undefined)
    this.ring()
    this.timer = setInterval(() => this.ring(), RING_CYCLE_MS)
  }

  stop(): void {
    clearInterval(this.timer)
    this.timer = undefined
    const context = this.context
    this.context = null
    // Closing stops whatever is still sounding, at once.
    if (context) void context.close().catch(() => undefined)
  }

  private ring(): void {
    const context = this.context
    if (!context || context.state === 'closed') return
    const now = context.currentTime
    const gain = context.createGain()
    gain.gain.setValueAtTime(0, now)
    for (const [start, end] of BURSTS) {
      // Short ramps at each edge: no click.
      gain.gain.setValueAtTime(0, now + start)
      gain.gain.linearRampToValueAtTime(VOLUME, now + start + 0.02)
      gain.gain.setValueAtTime(VOLUME, now + end - 0.02)
      gain.gain.linearRampToValueAtTime(0, now + end)
    }
    gain.connect(context.destination)
    const last = BURSTS[BURSTS.length - 1]![1]
    for (const frequency of TONES) {
      const oscillator = context.createOscillator()
      oscillator.type = 'sine'
      oscillator.frequency.value = frequency
      oscillator.connect(gain)
      oscillator.start(now)
      oscillator.stop(now + last)
      oscillator.onended = () => oscillator.disconnect()
    }
  }
}

function readMuted(): boolean {
  try {
    return localStorage.getItem(MUTE_KEY) === 'true'
  } catch {
    return false
  }
}

/** Rings while `ringing`, unless muted; answers [muted, setMuted]. */
export function useRingtone(ringing: boolean): [boolean, (muted: boolean) => void] {
  const [muted, setMutedState] = useState(readMuted)
  useEffect(() => {
    if (!ringing || muted) return
    const ringtone = new Ringtone()
    ringtone.start()
    return () => ringtone.stop()
  }, [ringing, muted])
  const setMuted = (value: boolean) => {
    setMutedState(value)
    try {
      localStorage.setItem(MUTE_KEY, String(value))
    } catch {
      // Not kept: it holds for this run.
    }
  }
  return [muted, setMuted]
}
