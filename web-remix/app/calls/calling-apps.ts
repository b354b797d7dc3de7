/**
 * The outside apps an operator can link (plugin-api/link.server.ts CALLING_PROVIDERS), by the names people know them
 * by. 'other' (or anything unknown) has no name: the pages say "their own app".
 */
const APP_NAMES: Record<string, string> = {
  discord: 'Discord',
  sip: 'SIP',
  whatsapp: 'WhatsApp',
  telegram: 'Telegram',
  zoom: 'Zoom',
}

export function callingAppName(provider: string | null | undefined): string | null {
  return (provider && APP_NAMES[provider]) || null
}

/** "on Discord", or "on their own app" for an app without a name. */
export function onCallingApp(provider: string | null | undefined): string {
  const name = callingAppName(provider)
  return name ? `on ${name}` : 'on their own app'
}

/** How each channel reads in a sentence: "a video call", "an audio call", "a call on Discord". */
export function channelPhrase(channel: string, provider: string | null | undefined): string {
  if (channel === 'video') return 'a video call'
  if (channel === 'outside') return `a call ${onCallingApp(provider)}`
  return 'an audio call'
}
