import { Connection } from '@temporalio/client'
import { CUSTOM_SEARCH_ATTRIBUTES } from '../../search-attributes.js'
import { SetupError, tailLines, type SetupLog } from '../errors.js'
import { run } from '../go-tool.js'
import { sleep } from '../processes.js'

/**
 * What a cluster needs before the platform can use it, done with the Temporal CLI as an operator would: the namespace
 * (the dev server creates its own), and the custom search attributes the admin finds calls by (temporal/search-attributes.ts).
 * Both are kept in the cluster's database, so a restart finds them and this does nothing.
 */

const RETENTION = '72h'

export async function ensureNamespace(cliPath: string, address: string, namespace: string, log: SetupLog): Promise<void> {
  const cli = (...args: string[]) => run(cliPath, ['operator', ...args, '--address', address, '--namespace', namespace], { timeoutMs: 60_000 })
  // The frontend answers before its membership has found the history service: describe until it says yes or "not found".
  const deadline = Date.now() + 60_000
  for (;;) {
    const described = await cli('namespace', 'describe')
    if (described.code === 0) break
    const said = tailLines(described.stderrLines.filter((line) => line.trim()), 5)
    if (/not found|NotFound/i.test(said)) {
      const created = await cli('namespace', 'create', '--retention', RETENTION)
      if (created.code !== 0 && !/already (exists|registered)/i.test(created.stderrLines.join('\n'))) {
        throw new SetupError(`Creating the Temporal namespace "${namespace}" failed. The CLI said:\n${tailLines(created.stderrLines, 10)}`)
      }
      log(`namespace ${namespace} created (retention ${RETENTION})`)
      break
    }
    if (Date.now() > deadline) throw new SetupError(`The Temporal frontend at ${address} did not describe namespace "${namespace}" within 60 s. The CLI said:\n${said}`)
    await sleep(500)
  }

  const missing = await missingSearchAttributes(address, namespace)
  for (const name of missing) {
    const created = await cli('search-attribute', 'create', '--name', name, '--type', CUSTOM_SEARCH_ATTRIBUTES[name]!)
    if (created.code !== 0 && !/already exists/i.test(created.stderrLines.join('\n'))) {
      throw new SetupError(`Registering the search attribute ${name} failed. The CLI said:\n${tailLines(created.stderrLines, 10)}`)
    }
  }
  if (missing.length) log(`search attributes registered: ${missing.join(', ')}`)
}

/** The platform's search attributes the namespace lacks; waits for a namespace just created to reach the frontend's cache. */
async function missingSearchAttributes(address: string, namespace: string): Promise<string[]> {
  const connection = await Connection.connect({ address, connectTimeout: 5_000 })
  const deadline = Date.now() + 30_000
  try {
    for (;;) {
      try {
        const { customAttributes } = await connection.operatorService.listSearchAttributes({ namespace })
        return Object.keys(CUSTOM_SEARCH_ATTRIBUTES).filter((name) => !(customAttributes && name in customAttributes))
      } catch (error) {
        // 5 = NOT_FOUND: the namespace registry refreshes every 2 s.
        if ((error as { code?: number }).code !== 5 || Date.now() > deadline) throw error
        await sleep(250)
      }
    }
  } finally {
    await connection.close()
  }
}
