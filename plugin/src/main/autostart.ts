import { mkdir, readFile, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { AppLike } from './electron-shell.js'
import type { AutoStart } from './ipc.js'

/**
 * "Start perminute when I log in". Electron does it itself on macOS and Windows (login items, the Run key); on
 * Linux the freedesktop.org way is a .desktop file in ~/.config/autostart. The plugin starts hidden, in the tray.
 */

export const HIDDEN_FLAG = '--hidden'
const DESKTOP_FILE = 'perminute-plugin.desktop'

export function createAutoStart(options: {
  platform: NodeJS.Platform
  app: Pick<AppLike, 'getLoginItemSettings' | 'setLoginItemSettings'>
  /** The command that starts the plugin (on Linux, the AppImage's own path when run from one). */
  executable: string
  /** $XDG_CONFIG_HOME or ~/.config. */
  configHome: string
}): AutoStart {
  if (options.platform === 'darwin' || options.platform === 'win32') {
    return {
      supported: true,
      isEnabled: async () => options.app.getLoginItemSettings().openAtLogin,
      setEnabled: async (enabled) => options.app.setLoginItemSettings({ openAtLogin: enabled, args: [HIDDEN_FLAG] }),
    }
  }
  if (options.platform === 'linux') {
    const dir = join(options.configHome, 'autostart')
    const file = join(dir, DESKTOP_FILE)
    return {
      supported: true,
      async isEnabled() {
        try {
          return /^Exec=/m.test(await readFile(file, 'utf8'))
        } catch {
          return false
        }
      },
      async setEnabled(enabled) {
        if (!enabled) return rm(file, { force: true })
        await mkdir(dir, { recursive: true })
        await writeFile(file, desktopEntry(options.executable), 'utf8')
      },
    }
  }
  return { supported: false, isEnabled: async () => false, setEnabled: async () => undefined }
}

/** A desktop entry (freedesktop.org Desktop Entry Specification) that starts the plugin hidden. */
export function desktopEntry(executable: string): string {
  // Exec quoting: the path in double quotes, with ", `, $ and \ escaped.
  const quoted = `"${executable.replace(/(["`$\\])/g, '\\$1')}"`
  return ['[Desktop Entry]', 'Type=Application', 'Name=perminute', 'Comment=Shows you online and who is calling', `Exec=${quoted} ${HIDDEN_FLAG}`, 'X-GNOME-Autostart-enabled=true', ''].join('\n')
}
