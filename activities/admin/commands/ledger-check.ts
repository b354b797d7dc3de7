import { checkLedger } from '../../ledger/check.js'
import type { Command } from '../args.js'

const NAME = 'ledger-check'

export const ledgerCheckCommand: Command = {
  name: NAME,
  summary: "Prove the ledger's invariants; exit code 1 when one fails.",
  description: [
    'Checks that all balances sum to zero, every account total matches its transfers, no wallet is negative,',
    'every pending hold belongs to an active call, and every settled call was charged and split exactly.',
  ].join('\n'),
  options: {},
  examples: [NAME, `${NAME} --json`],

  prepare() {
    return async ({ db }) => {
      const result = await checkLedger(db)
      const counts = `${result.accounts} accounts, ${result.transfers} transfers, ${result.settledCalls} settled calls`
      if (result.ok) return { json: result, text: `Ledger OK: ${counts} checked at ${result.checkedAt}.\n` }
      const lines = [
        `Ledger check FAILED: ${result.violations.length} violation${
          result.violations.length === 1 ? '' : 's'
        } (${counts})`,
      ]
      for (const violation of result.violations) lines.push(`  - ${violation.invariant}: ${violation.detail}`)
      return {
        json: result,
        text: `${lines.join('\n')}\n`,
        exitCode: 1,
        problem: `the ledger check failed: ${[
          ...new Set(result.violations.map((violation) => violation.invariant)),
        ].join('; ')}`,
      }
    }
  },
}
