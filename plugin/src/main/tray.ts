import type { PluginState } from '../core/plugin-state.js'
import type { ElectronShell, MenuItemOptionsLike, NativeImageLike, TrayLike } from './electron-shell.js'

/**
 * The tray icon: a dot in the presence's colour (green online, amber busy, grey offline), a tooltip that says the
 * same in words, and the menu: open the window, start at log-in, quit (which takes the operator offline).
 */

export interface TrayActions {
  open(): void
  quit(): void
  setAutoStart(enabled: boolean): void
}

type Rgb = readonly [number, number, number]
const COLOURS: Record<PluginState['presence'], Rgb> = { online: [26, 127, 55], busy: [191, 135, 0], offline: [140, 149, 159] }

/** A filled circle, `size` pixels square, as BGRA bytes (what nativeImage.createFromBitmap takes). */
export function presenceDot(size: number, [r, g, b]: Rgb): Buffer {
  const pixels = Buffer.alloc(size * size * 4)
  const centre = (size - 1) / 2
  const radius = size * 0.4
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      const distance = Math.hypot(x - centre, y - centre)
      // A one-pixel soft edge, so the dot is round at small sizes.
      const alpha = Math.round(255 * Math.min(1, Math.max(0, radius + 0.5 - distance)))
      pixels.set([b, g, r, alpha], (y * size + x) * 4)
    }
  }
  return pixels
}

export function trayImage(shell: Pick<ElectronShell, 'nativeImage'>, presence: PluginState['presence']): NativeImageLike {
  return shell.nativeImage.createFromBitmap(presenceDot(32, COLOURS[presence]), { width: 32, height: 32, scaleFactor: 2 })
}

export function statusLine(state: PluginState): string {
  if (state.screen === 'sign_in' || state.screen === 'starting') return 'Signed out'
  if (!state.connected) return 'Link your calling account'
  const phase = state.call?.phase
  // Busy from the moment a call is accepted, while the two are still connecting.
  if (state.call && (phase === 'starting' || phase === 'connecting' || phase === 'active')) return `Busy: call with ${state.call.member.displayName}`
  if (state.problem) return 'Offline: no connection to the platform'
  return state.presence === 'online' ? 'Online' : state.presence === 'busy' ? 'Busy' : 'Offline'
}

export function trayMenu(state: PluginState, autoStart: { supported: boolean; enabled: boolean }, actions: TrayActions): MenuItemOptionsLike[] {
  const items: MenuItemOptionsLike[] = [
    { label: statusLine(state), enabled: false },
    { type: 'separator' },
    { label: 'Open perminute', click: actions.open },
  ]
  if (autoStart.supported) {
    items.push({ label: 'Start at log-in', type: 'checkbox', checked: autoStart.enabled, click: () => actions.setAutoStart(!autoStart.enabled) })
  }
  items.push({ type: 'separator' }, { label: 'Quit (go offline)', click: actions.quit })
  return items
}

export class PluginTray {
  private readonly tray: TrayLike
  private shownPresence: PluginState['presence'] | null = null
  private shownMenu = ''

  constructor(
    private readonly shell: Pick<ElectronShell, 'Tray' | 'Menu' | 'nativeImage'>,
    private readonly actions: TrayActions,
  ) {
    this.tray = new shell.Tray(trayImage(shell, 'offline'))
    this.tray.on('click', actions.open)
  }

  update(state: PluginState, autoStart: { supported: boolean; enabled: boolean }): void {
    if (state.presence !== this.shownPresence) {
      this.tray.setImage(trayImage(this.shell, state.presence))
      this.shownPresence = state.presence
    }
    // The state changes every second during a call; the menu only when what it says does.
    const menuKey = `${statusLine(state)}|${autoStart.supported}|${autoStart.enabled}`
    if (menuKey === this.shownMenu) return
    this.shownMenu = menuKey
    this.tray.setToolTip(`perminute: ${statusLine(state)}`)
    this.tray.setContextMenu(this.shell.Menu.buildFromTemplate(trayMenu(state, autoStart, this.actions)))
  }

  destroy(): void {
    this.tray.destroy()
  }
}
