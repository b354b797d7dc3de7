import { randomUUID } from 'node:crypto'
import { Client, Connection } from '@temporalio/client'
import { inject } from 'vitest'
import { startDevServer, type DevServer, type DevServerOptions } from '../../temporal/setup/dev-server.js'

/**
 * Temporal helpers for test files, on the dev server that tests/support/global-setup.ts started.
 */

/** A task queue no other test uses, so parallel test files never run each other's workflows. */
export function testTaskQueue(prefix = 'test'): string {
  return `${prefix}-${randomUUID()}`
}

/**
 * A client for the shared test server and namespace. Close it when done (`await client.connection.close()`),
 * typically in afterAll.
 */
export async function connectTestClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') })
  return new Client({ connection, namespace: inject('temporalNamespace') })
}

/**
 * A dev server of the test's own, for tests that stop or restart Temporal (the shared one must stay up for
 * the files running beside them). Stop it in afterAll/finally.
 */
export function startTestDevServer(options: Omit<DevServerOptions, 'cliPath'> = {}): Promise<DevServer> {
  return startDevServer({ log: () => {}, ...options, cliPath: inject('temporalCliPath') })
}
