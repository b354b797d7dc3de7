import { createConnection, createServer, type Server, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'

/**
 * A TCP proxy in front of the web server, so a test can pull the plug on the plugin's network and put it back:
 * cut() drops every connection and refuses new ones (as a lost Wi-Fi would), restore() listens again on the same
 * port. The platform behind it keeps running; only this path to it breaks.
 */
export interface TcpProxy {
  /** http://127.0.0.1:<port>, the origin the plugin should use. */
  url: string
  cut(): Promise<void>
  restore(): Promise<void>
  close(): Promise<void>
}

export async function startTcpProxy(target: string): Promise<TcpProxy> {
  const { hostname, port: targetPort } = new URL(target)
  const sockets = new Set<Socket>()
  let server: Server | null = null

  const listen = (port: number) =>
    new Promise<Server>((resolve, reject) => {
      const next = createServer((client) => {
        const upstream = createConnection({ host: hostname, port: Number(targetPort) })
        for (const socket of [client, upstream]) {
          sockets.add(socket)
          socket.once('close', () => sockets.delete(socket))
          // A reset on one side ends the other; the errors themselves are the point of the exercise.
          socket.on('error', () => undefined)
        }
        client.pipe(upstream).pipe(client)
        client.once('close', () => upstream.destroy())
        upstream.once('close', () => client.destroy())
      })
      next.once('error', reject)
      next.listen(port, '127.0.0.1', () => resolve(next))
    })

  server = await listen(0)
  const port = (server.address() as AddressInfo).port

  const stopListening = async () => {
    const current = server
    server = null
    for (const socket of sockets) socket.destroy()
    if (current) await new Promise<void>((resolve) => current.close(() => resolve()))
  }

  return {
    url: `http://127.0.0.1:${port}`,
    cut: stopListening,
    async restore() {
      if (!server) server = await listen(port)
    },
    close: stopListening,
  }
}
