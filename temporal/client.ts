import { Client, Connection } from '@temporalio/client'

export interface TemporalTarget {
  address: string
  namespace: string
}

const clients = new Map<string, Promise<Client>>()

/** The process's Temporal client for an address and namespace, connected once and reused. */
export function getTemporalClient(target: TemporalTarget): Promise<Client> {
  const key = `${target.address}/${target.namespace}`
  let client = clients.get(key)
  if (!client) {
    client = Connection.connect({ address: target.address }).then(
      (connection) => new Client({ connection, namespace: target.namespace }),
    )
    client.catch(() => clients.delete(key))
    clients.set(key, client)
  }
  return client
}

export async function closeTemporalClients(): Promise<void> {
  const all = [...clients.values()]
  clients.clear()
  await Promise.allSettled(all.map(async (c) => (await c).connection.close()))
}
