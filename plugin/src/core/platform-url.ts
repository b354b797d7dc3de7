/**
 * Which platform addresses the plugin talks to. It sends the operator's password and then a bearer token on every
 * request, so only over HTTPS; plain http:// only to this computer itself (127.0.0.0/8, ::1, localhost), where a
 * developer runs the platform and nothing crosses a network.
 */

const LOOPBACK_NAMES = new Set(['localhost', '[::1]'])

function isLoopback(hostname: string): boolean {
  const host = hostname.toLowerCase().replace(/\.$/, '')
  if (LOOPBACK_NAMES.has(host)) return true
  const octets = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(host)
  return octets !== null && octets.slice(1).every((o) => Number(o) <= 255) && octets[1] === '127'
}

/** Why the plugin will not talk to this address (a sentence for the operator), or null when it will. */
export function platformUrlProblem(platformUrl: string): string | null {
  let url: URL
  try {
    url = new URL(platformUrl)
  } catch {
    return `The platform address "${platformUrl}" is not a web address. Ask your company or the platform for the right one.`
  }
  if (url.protocol === 'https:') return null
  if (url.protocol === 'http:' && isLoopback(url.hostname)) return null
  if (url.protocol === 'http:') {
    return (
      `The platform address ${url.origin} is not secure (http://): the plugin sends your password and your session only ` +
      'over https://. Ask your company or the platform for its https:// address.'
    )
  }
  return `The platform address ${platformUrl} is not an https:// address. Ask your company or the platform for the right one.`
}

/**
 * Why the window may not join calls on this media server (LiveKit) address, or null when it may: wss://, or ws:// to
 * this computer only, as for the platform (the room token travels in the connection).
 */
export function mediaUrlProblem(mediaUrl: string): string | null {
  let url: URL
  try {
    url = new URL(mediaUrl)
  } catch {
    return `The media server address "${mediaUrl}" is not an address.`
  }
  if (url.pathname !== '/' || url.search || url.hash || url.username || url.password) return `The media server address ${mediaUrl} must be an origin only (wss://host[:port]).`
  if (url.protocol === 'wss:') return null
  if (url.protocol === 'ws:' && isLoopback(url.hostname)) return null
  if (url.protocol === 'ws:') return `The media server address ${mediaUrl} is not secure (ws://): use wss://, or ws:// to this computer only.`
  return `The media server address ${mediaUrl} is not a wss:// address.`
}

export class InsecurePlatformUrlError extends Error {
  override name = 'InsecurePlatformUrlError'
}
