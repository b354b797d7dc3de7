import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createServer, type Server } from 'node:net'
import { Client, Connection } from '@temporalio/client'
import { encodeSearchAttributeIndexedValueType } from '@temporalio/common/lib/search-attributes'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../temporal/search-attributes.js'
import { freePort, startDevServer, type DevServer } from '../../temporal/setup/dev-server.js'
import { SetupError } from '../../temporal/setup/errors.js'
import { connectTestClient, startTestDevServer, testTaskQueue } from '../support/temporal.js'

describe('the shared test dev server', () => {
  let client: Client
  beforeAll(async () => {
    client = await connectTestClient()
  })
  afterAll(async () => {
    await client?.connection.close()
  })

  it('answers on the address the global setup exported', async () => {
    expect(process.env.TEMPORAL_ADDRESS).toBe(inject('temporalAddress'))
    expect(process.env.TEMPORAL_NAMESPACE).toBe(inject('temporalNamespace'))
    const info = await client.workflowService.getSystemInfo({})
    expect(info.serverVersion).toBeTruthy()
    const ns = await client.workflowService.describeNamespace({ namespace: inject('temporalNamespace') })
    expect(ns.namespaceInfo?.name).toBe(inject('temporalNamespace'))
  })

  it('has the custom search attributes the admin searches calls by, as keywords', async () => {
    const { customAttributes } = await client.connection.operatorService.listSearchAttributes({
      namespace: inject('temporalNamespace'),
    })
    expect(Object.keys(CUSTOM_SEARCH_ATTRIBUTES).sort()).toEqual(['CallStatus', 'MemberId', 'OperatorId'])
    for (const name of Object.keys(CUSTOM_SEARCH_ATTRIBUTES)) {
      expect(customAttributes?.[name], name).toBe(encodeSearchAttributeIndexedValueType('KEYWORD'))
    }
  })

  it('exports the test database, never the demo one', () => {
    const url = new URL(process.env.DATABASE_URL ?? '')
    expect(url.pathname).toMatch(/^\/perminute_test_\d{14}_[0-9a-f]{8}$/)
    expect(inject('databaseUrl')).toBe(process.env.DATABASE_URL)
    expect(process.env.NODE_ENV).toBe('test')
  })
})

describe('a persisted dev server', () => {
  let dir: string
  const servers: DevServer[] = []
  const connections: Connection[] = []
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'perminute-dev-server-test-'))
  })
  afterAll(async () => {
    await Promise.allSettled(connections.map((c) => c.close()))
    for (const server of servers.reverse()) await server.stop()
    await rm(dir, { recursive: true, force: true })
  })

  async function clientFor(server: DevServer): Promise<Client> {
    const connection = await Connection.connect({ address: server.address })
    connections.push(connection)
    return new Client({ connection, namespace: server.namespace })
  }

  it('keeps a started workflow across a restart on the same state file', async () => {
    const dbFile = join(dir, 'restart.db')
    const first = await startTestDevServer({ dbFile, namespace: 'restart-test' })
    servers.push(first)
    const workflowId = `restart-${Date.now()}`
    // No worker polls this queue: the workflow simply stays Running, which is all the test needs.
    const handle = await (await clientFor(first)).workflow.start('NoSuchWorkflowType', {
      taskQueue: testTaskQueue('restart'),
      workflowId,
    })
    await first.stop()

    const port = Number(first.address.split(':')[1])
    const second = await startTestDevServer({ dbFile, namespace: 'restart-test', port })
    servers.push(second)
    expect(second.reused).toBe(false)
    expect(second.pid).not.toBe(first.pid)
    const described = await (await clientFor(second)).workflow.getHandle(workflowId).describe()
    expect(described.status.name).toBe('RUNNING')
    expect(described.runId).toBe(handle.firstExecutionRunId)
    expect(described.type).toBe('NoSuchWorkflowType')
  })

  it('reuses a live server on the same state file and port instead of starting a second one', async () => {
    const dbFile = join(dir, 'reuse.db')
    const running = await startTestDevServer({ dbFile })
    servers.push(running)
    const again = await startTestDevServer({ dbFile, port: Number(running.address.split(':')[1]) })
    expect(again.reused).toBe(true)
    expect(again.pid).toBe(running.pid)
    // A reused server is not ours to stop.
    await again.stop()
    await (await clientFor(running)).workflowService.getSystemInfo({})

    // The same file on another port would mean two servers writing one SQLite file.
    await expect(startTestDevServer({ dbFile, port: await freePort() })).rejects.toThrow(/already running on .*reuse\.db/)
  })

  /**
   * A stand-in for the CLI that loses the race for a port as the CLI does (it checks its ports, sets up its state, and
   * dies of a nil-pointer panic when one was taken meanwhile), `times` times, then hands over to the real CLI. Losing
   * that race for real takes a busy machine: another program binding the port in those few milliseconds.
   */
  async function cliLosingPortRace(name: string, times: number): Promise<string> {
    const count = join(dir, `${name}.lost`)
    const path = join(dir, `${name}.sh`)
    await writeFile(
      path,
      [
        '#!/bin/sh',
        `lost=$(cat '${count}' 2>/dev/null || echo 0)`,
        `if [ "$lost" -lt ${times} ]; then`,
        `  echo $((lost + 1)) > '${count}'`,
        `  echo 'time=2026-12-03T07:20:31.000 level=ERROR msg="Failed to start gRPC listener" error="listen tcp 127.0.0.1:7299: bind: address already in use" service=frontend'`,
        `  echo 'panic: runtime error: invalid memory address or nil pointer dereference'`,
        `  i=0; while [ $i -lt 30 ]; do echo "	go.temporal.io/server/frame$i()"; i=$((i + 1)); done`,
        '  exit 2',
        'fi',
        `exec '${inject('temporalCliPath')}' "$@"`,
        '',
      ].join('\n'),
      { mode: 0o755 },
    )
    return path
  }

  it('starts again when a port is taken while the server starts, and says so', async () => {
    const logs: string[] = []
    const server = await startDevServer({ cliPath: await cliLosingPortRace('once', 1), dbFile: join(dir, 'race.db'), log: (line) => logs.push(line) })
    servers.push(server)
    await (await clientFor(server)).workflowService.getSystemInfo({})
    expect(logs).toEqual([expect.stringMatching(/bind: address already in use.*; starting the dev server again \(attempt 2 of 3\)$/)])
  })

  it('names the port it lost, not only the end of a goroutine dump, when it loses every time', async () => {
    const attempt = startDevServer({ cliPath: await cliLosingPortRace('always', 99), log: () => {} })
    await expect(attempt).rejects.toBeInstanceOf(SetupError)
    await expect(attempt).rejects.toThrow(/Failed to start gRPC listener.*bind: address already in use[\s\S]*panic: runtime error[\s\S]*frame29[\s\S]*3 attempts/)
  })

  it('says which port is taken instead of failing obscurely', async () => {
    const blocker: Server = createServer()
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve))
    const port = (blocker.address() as { port: number }).port
    try {
      const attempt = startTestDevServer({ port })
      await expect(attempt).rejects.toBeInstanceOf(SetupError)
      await expect(attempt).rejects.toThrow(`127.0.0.1:${port} is already in use`)
    } finally {
      await new Promise((resolve) => blocker.close(resolve))
    }
  })
})
