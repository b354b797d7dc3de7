/**
 * Who may reach each route file of web-remix/app/routes: ONE table for the whole site, read by the authorization
 * matrix (tests/web-remix/authorization-matrix.test.ts). That test lists the route files and fails on any file without
 * a row here, so a new route cannot ship without saying who may use it.
 *
 * Adding a route? Add a row: the file name (without extension), its access, and a path to request it by (fill route
 * parameters with `:operatorId`-style placeholders the matrix knows, see PATH_PARAMETERS below; an unknown id is fine
 * for a refusal, as the access check must run before any lookup).
 *
 * access:
 * - 'public'         anyone, signed in or not (the listing, log-in, sign-up…)
 * - 'signed-in'      any signed-in user, whatever the role (their own account page)
 * - 'plugin-token'   the plugin API: a bearer token, no browser session (tested in tests/web-remix/plugin-api.*)
 * - 'dev-only'       development tools, absent in production
 * - a role           only that role; every other role gets 403 and anonymous visitors go to the log-in page
 * - 'admin-first-factor'  an admin from an allowed address, before the second factor (the TOTP page itself)
 */

export type Role = 'member' | 'operator' | 'company' | 'admin'
export type Access = 'public' | 'signed-in' | 'plugin-token' | 'dev-only' | Role | 'admin-first-factor'

export interface RouteAccess {
  file: string
  access: Access
  path: string
  /** When the page (GET) is open to more people than the route's actions: who may load it. */
  pageAccess?: Access
}

/** Placeholders a row's path may use; the matrix fills them with ids of its own test users. */
export const PATH_PARAMETERS = [':operatorId', ':userId', ':id', ':callId', ':requestId'] as const

export const ROUTE_ACCESS: readonly RouteAccess[] = [
  // Public pages and the account flows.
  { file: '_index', access: 'public', path: '/' },
  { file: '$', access: 'public', path: '/no-such-page' },
  { file: 'login', access: 'public', path: '/login' },
  { file: 'logout', access: 'public', path: '/logout' },
  { file: 'signup', access: 'public', path: '/signup' },
  { file: 'forgot-password', access: 'public', path: '/forgot-password' },
  { file: 'reset-password', access: 'public', path: '/reset-password' },
  { file: 'verify-email', access: 'public', path: '/verify-email' },
  { file: 'account', access: 'signed-in', path: '/account' },
  // Every role but admins, whose own is /admin/password (behind the admin portal's checks).
  { file: 'account_.password', access: 'signed-in', path: '/account/password' },
  { file: 'dev.mailbox', access: 'dev-only', path: '/dev/mailbox' },
  { file: 'dev.mailbox_.$id', access: 'dev-only', path: '/dev/mailbox/:id' },

  // The storefront (public profiles) and the member's side.
  { file: 'operators.$operatorId', access: 'public', path: '/operators/:operatorId' },
  { file: 'storefront.presence-stream', access: 'public', path: '/storefront/presence-stream' },
  // Operators' uploaded video previews, shown on their public profiles.
  { file: 'media.operator-videos.$file', access: 'public', path: '/media/operator-videos/none.webm' },
  // Operators' photos, uploaded in the operator portal and shown on their public profiles.
  { file: 'media.operator-images.$file', access: 'public', path: '/media/operator-images/none.png' },
  { file: 'calls._index', access: 'member', path: '/calls' },
  { file: 'calls.$callId', access: 'member', path: '/calls/:callId' },
  { file: 'calls_.$callId.rate', access: 'member', path: '/calls/:callId/rate' },
  { file: 'calls_.$callId.messages', access: 'member', path: '/calls/:callId/messages' },
  { file: 'calls.events', access: 'member', path: '/calls/events' },
  { file: 'calls.prepaid', access: 'member', path: '/calls/prepaid' },
  // The page only explains a refused request (its loader returns nothing); sending a request is for members.
  { file: 'calls.request', access: 'member', path: '/calls/request', pageAccess: 'public' },
  { file: 'calls.requests.$requestId', access: 'member', path: '/calls/requests/:requestId' },
  { file: 'calls[.]csv', access: 'member', path: '/calls.csv' },
  { file: 'schedule._index', access: 'member', path: '/schedule' },
  { file: 'schedule.$operatorId', access: 'member', path: '/schedule/:operatorId' },
  { file: 'operator.schedule', access: 'operator', path: '/operator/schedule' },
  { file: 'wallet._index', access: 'member', path: '/wallet' },
  { file: 'wallet.history', access: 'member', path: '/wallet/history' },
  { file: 'wallet.history[.csv]', access: 'member', path: '/wallet/history.csv' },
  { file: 'wallet.topups.$id', access: 'member', path: '/wallet/topups/:id' },

  // The sandbox payment provider plays a separate site: its pages are reached by the checkout session's unguessable
  // id, as a hosted payment page is, and its webhook is authenticated by its HMAC signature, not by a session.
  { file: 'sandbox-pay.checkout.$sessionId', access: 'public', path: '/sandbox-pay/checkout/:id' },
  { file: 'sandbox-pay.checkout.$sessionId_.authenticate', access: 'public', path: '/sandbox-pay/checkout/:id/authenticate' },
  { file: 'webhooks.payments.$provider', access: 'public', path: '/webhooks/payments/sandbox' },
  // LiveKit's webhooks are authenticated by their signature (docs/decisions/060), not by a session.
  { file: 'webhooks.livekit', access: 'public', path: '/webhooks/livekit' },

  // The plugin API (bearer tokens; its own tests cover its refusals).
  { file: 'api.plugin.v1.$', access: 'plugin-token', path: '/api/plugin/v1/unknown' },
  { file: 'api.plugin.v1.call-requests.$requestId.decline', access: 'plugin-token', path: '/api/plugin/v1/call-requests/:requestId/decline' },
  { file: 'api.plugin.v1.calls', access: 'plugin-token', path: '/api/plugin/v1/calls' },
  { file: 'api.plugin.v1.calls.$callId', access: 'plugin-token', path: '/api/plugin/v1/calls/:id' },
  { file: 'api.plugin.v1.calls.$callId.end', access: 'plugin-token', path: '/api/plugin/v1/calls/:id/end' },
  { file: 'api.plugin.v1.calls.$callId.media-token', access: 'plugin-token', path: '/api/plugin/v1/calls/:id/media-token' },
  { file: 'api.plugin.v1.calls.$callId.heartbeat', access: 'plugin-token', path: '/api/plugin/v1/calls/:id/heartbeat' },
  { file: 'api.plugin.v1.calls.$callId.messages', access: 'plugin-token', path: '/api/plugin/v1/calls/:id/messages' },
  { file: 'api.plugin.v1.events', access: 'plugin-token', path: '/api/plugin/v1/events' },
  { file: 'api.plugin.v1.link', access: 'plugin-token', path: '/api/plugin/v1/link' },
  { file: 'api.plugin.v1.members.lookup', access: 'plugin-token', path: '/api/plugin/v1/members/lookup' },
  { file: 'api.plugin.v1.members.$memberId.messages', access: 'plugin-token', path: '/api/plugin/v1/members/:id/messages' },
  { file: 'api.plugin.v1.presence', access: 'plugin-token', path: '/api/plugin/v1/presence' },
  { file: 'api.plugin.v1.profile.video', access: 'plugin-token', path: '/api/plugin/v1/profile/video' },
  { file: 'api.plugin.v1.sessions', access: 'plugin-token', path: '/api/plugin/v1/sessions' },
  { file: 'api.plugin.v1.sessions.current', access: 'plugin-token', path: '/api/plugin/v1/sessions/current' },
  { file: 'api.plugin.v1.sessions.current.renew', access: 'plugin-token', path: '/api/plugin/v1/sessions/current/renew' },

  // The plugin's installers (PLUGIN_DOWNLOAD_URL points here by default): public, as any download page.
  { file: 'downloads.plugin._index', access: 'public', path: '/downloads/plugin' },
  { file: 'downloads.plugin.$file', access: 'public', path: '/downloads/plugin/perminute-plugin-linux-x86_64.AppImage' },

  // The operator portal.
  { file: 'operator._index', access: 'operator', path: '/operator' },
  { file: 'operator.profile', access: 'operator', path: '/operator/profile' },
  { file: 'operator.calls', access: 'operator', path: '/operator/calls' },
  { file: 'operator.payouts', access: 'operator', path: '/operator/payouts' },
  { file: 'operator.plugin', access: 'operator', path: '/operator/plugin' },

  // The company portal.
  { file: 'company._index', access: 'company', path: '/company' },
  { file: 'company.operators.$operatorId', access: 'company', path: '/company/operators/:operatorId' },

  // The admin portal (also refused from addresses off ADMIN_ALLOWED_CIDRS, and before the second factor).
  { file: 'admin.second-factor', access: 'admin-first-factor', path: '/admin/second-factor' },
  { file: 'admin._index', access: 'admin', path: '/admin' },
  { file: 'admin.users._index', access: 'admin', path: '/admin/users' },
  { file: 'admin.users.$userId', access: 'admin', path: '/admin/users/:userId' },
  { file: 'admin.payouts', access: 'admin', path: '/admin/payouts' },
  { file: 'admin.calls', access: 'admin', path: '/admin/calls' },
  { file: 'admin.revenue', access: 'admin', path: '/admin/revenue' },
  { file: 'admin.settings', access: 'admin', path: '/admin/settings' },
  { file: 'admin.audit', access: 'admin', path: '/admin/audit' },
  { file: 'admin.mail', access: 'admin', path: '/admin/mail' },
  { file: 'admin.ledger', access: 'admin', path: '/admin/ledger' },
  { file: 'admin.password', access: 'admin', path: '/admin/password' },
]
