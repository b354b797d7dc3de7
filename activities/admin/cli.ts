import { hostname, userInfo } from 'node:os'
import { ConfigError, loadConfig } from '../../config/env.js'
import { createDb, type Db } from '../../prisma/client.js'
import { UserInputError } from '../identity/users.js'
import { TransferConflictError } from '../ledger/transfers.js'
import { commandHelp, CommandFailure, parseCommandArgs, UsageError, type Command, type CommandOutput } from './args.js'
import { AuditWriteError } from './audit.js'
import { createUserCommand } from './commands/create-user.js'
import { creditWalletCommand } from './commands/credit-wallet.js'
import { ledgerCheckCommand } from './commands/ledger-check.js'
import { showWalletCommand } from './commands/show-wallet.js'
import { assertDatabaseReady, DatabaseNotReadyError, describeDatabaseFailure } from './database.js'
import { MemberNotFoundError } from './members.js'

/**
 * The admin command line for operations staff: `npm run admin -- <command> [options]`.
 * stdout carries the result (text, or JSON with --json); stderr carries one line when something is wrong.
 * Exit codes: 0 done, 1 refused or failed (or the ledger check found a violation), 2 malformed command line.
 */

const INVOCATION = 'npm run --silent admin --'
const COMMANDS: readonly Command[] = [createUserCommand, creditWalletCommand, showWalletCommand, ledgerCheckCommand]

function overview(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length))
  return [
    `Usage: ${INVOCATION} <command> [options]`,
    '',
    'Commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    '',
    'Every command takes --json (machine-readable output on stdout) and --help.',
    'Amounts are whole cents: --amount 1234 means $12.34.',
    'The database is the one DATABASE_URL names (default: the local demo database).',
    'Exit codes: 0 done; 1 refused or failed, or the ledger check found a violation; 2 malformed command line.',
    "(--silent keeps npm's own banner out of stdout, so --json output can be piped.)",
    '',
    `Run \`${INVOCATION} <command> --help\` for a command's options.`,
    '',
  ].join('\n')
}

/** Who ran the command, stored with its audit entries: the CLI has no platform login to name an actor. */
function origin(): { osUser: string | null; host: string } {
  let osUser: string | null = null
  try {
    osUser = userInfo().username
  } catch {
    // Some containers run as a uid with no passwd entry; the host alone still says where it came from.
  }
  return { osUser, host: hostname() }
}

/** Errors that are an expected answer to a command, mapped to an exit code and a code for --json readers. */
function classify(error: unknown, databaseUrl: string | undefined): { exitCode: 1 | 2; code: string; message: string } {
  if (error instanceof UsageError) return { exitCode: 2, code: 'usage', message: error.message }
  if (error instanceof CommandFailure) return { exitCode: 1, code: error.code, message: error.message }
  if (error instanceof MemberNotFoundError) return { exitCode: 1, code: 'member_not_found', message: error.message }
  if (error instanceof UserInputError) return { exitCode: 1, code: 'invalid_user', message: error.message }
  if (error instanceof TransferConflictError) return { exitCode: 1, code: 'transfer_conflict', message: error.message }
  if (error instanceof AuditWriteError) return { exitCode: 1, code: 'audit_not_written', message: error.message }
  if (error instanceof DatabaseNotReadyError) return { exitCode: 1, code: 'database_not_ready', message: error.message }
  if (error instanceof ConfigError) return { exitCode: 1, code: 'config', message: error.message }
  const databaseProblem = databaseUrl ? describeDatabaseFailure(error, databaseUrl) : null
  if (databaseProblem) return { exitCode: 1, code: 'database', message: databaseProblem }
  // Anything else is a bug; staff still get one line, and its name says where to look.
  const name = error instanceof Error ? error.name : 'Error'
  const message = error instanceof Error ? error.message : String(error)
  const firstLine =
    message
      .split('\n')
      .map((line) => line.trim())
      .find(Boolean) ?? '(no message)'
  return { exitCode: 1, code: 'unexpected', message: `unexpected ${name}: ${firstLine}` }
}

const oneLine = (text: string) => text.replace(/\s*\n\s*/g, ' ').trim()

interface Io {
  out(text: string): void
  err(text: string): void
}

async function runCommand(command: Command, args: string[], io: Io): Promise<number> {
  const values = parseCommandArgs(command, args)
  if (values['help']) {
    io.out(commandHelp(command, INVOCATION))
    return 0
  }
  const prepared = command.prepare(values)
  const config = loadConfig()
  await assertDatabaseReady(config.DATABASE_URL)
  // The CLI runs one command at a time: a couple of connections is plenty.
  const db: Db = createDb(config.DATABASE_URL, { maxConnections: 2 })
  let output: CommandOutput
  try {
    output = await prepared({ db, config, origin: origin() })
  } finally {
    await db.$disconnect()
  }
  io.out(values['json'] ? `${JSON.stringify(output.json, null, 2)}\n` : output.text)
  if (output.problem) io.err(`admin ${command.name}: ${oneLine(output.problem)}\n`)
  return output.exitCode ?? 0
}

async function runAdminCli(argv: string[], io: Io): Promise<number> {
  const [first, ...rest] = argv
  const wantsJson = argv.includes('--json')
  let command: Command | undefined
  try {
    if (first === undefined) {
      io.err(overview())
      return 2
    }
    if (first === '--help' || first === '-h' || first === 'help') {
      const topic = first === 'help' ? rest[0] : undefined
      const helpFor = topic === undefined ? undefined : COMMANDS.find((candidate) => candidate.name === topic)
      if (topic !== undefined && !helpFor) throw new UsageError(`unknown command "${topic}"`)
      io.out(helpFor ? commandHelp(helpFor, INVOCATION) : overview())
      return 0
    }
    command = COMMANDS.find((candidate) => candidate.name === first)
    if (!command) {
      throw new UsageError(
        `unknown command "${first}"; commands: ${COMMANDS.map((candidate) => candidate.name).join(', ')}`,
      )
    }
    return await runCommand(command, rest, io)
  } catch (error) {
    let databaseUrl: string | undefined
    try {
      databaseUrl = loadConfig().DATABASE_URL
    } catch {
      // The configuration itself may be what failed; then there is no URL to describe.
    }
    const problem = classify(error, databaseUrl)
    const hint = problem.exitCode === 2 ? ` (see \`${INVOCATION} ${command ? `${command.name} ` : ''}--help\`)` : ''
    io.err(`admin${command ? ` ${command.name}` : ''}: ${oneLine(problem.message)}${hint}\n`)
    if (wantsJson) io.out(`${JSON.stringify({ error: problem.code, message: oneLine(problem.message) })}\n`)
    return problem.exitCode
  }
}

// exitCode rather than process.exit(): stdout is flushed before the process ends, and the Prisma client was
// disconnected above, so nothing keeps the event loop alive.
process.exitCode = await runAdminCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
})
