/** What the storefront shows of an operator's presence (computed in operators.server.ts, streamed by presence.server.ts). */
export type ShownPresence = 'online' | 'busy' | 'offline'
