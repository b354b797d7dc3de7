/**
 * Amounts arrive as integer cents and become text only here, by integer arithmetic. The platform has no currency
 * setting yet and its pages show dollars, so the plugin does too.
 */
export function formatCents(cents: number): string {
  if (!Number.isSafeInteger(cents)) return '—'
  const magnitude = Math.abs(cents)
  const whole = Math.trunc(magnitude / 100).toLocaleString('en-US')
  const fraction = String(magnitude % 100).padStart(2, '0')
  return `${cents < 0 ? '−' : ''}$${whole}.${fraction}`
}

/** 75 → "1:15", 3725 → "1:02:05". */
export function formatDuration(totalSeconds: number): string {
  const seconds = Math.max(0, Math.floor(totalSeconds))
  const h = Math.floor(seconds / 3600)
  const m = Math.floor((seconds % 3600) / 60)
  const s = String(seconds % 60).padStart(2, '0')
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`
}

export function formatClock(ms: number): string {
  return new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit' })
}

export function plural(count: number, one: string, many = `${one}s`): string {
  return `${count} ${count === 1 ? one : many}`
}
