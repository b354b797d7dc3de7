import { parseArgs } from 'node:util'
import type { PlatformConfig } from '../../config/env.js'
import type { Db, Prisma } from '../../prisma/client.js'

/**
 * The admin CLI's commands and their arguments, on node's util.parseArgs. Exit codes: 2 when the command line
 * itself is wrong (caught here, before anything touches the database), 1 when a well-formed command was refused
 * or failed.
 */

/** The command line is malformed: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError'
  constructor(message: string, readonly command?: string) {
    super(message)
  }
}

/** A well-formed command could not be carried out: exit code 1. The code names the reason for --json readers. */
export class CommandFailure extends Error {
  override name = 'CommandFailure'
  constructor(readonly code: string, message: string) {
    super(message)
  }
}

export interface OptionSpec {
  type: 'string' | 'boolean'
  /** The value's placeholder in help, e.g. CENTS. */
  value?: string
  description: string
  required?: boolean
}

export type OptionValues = Record<string, string | boolean | undefined>

export interface CommandContext {
  db: Db
  config: PlatformConfig
  /** Who ran the command on which machine, recorded with every audit entry the command writes. */
  origin: Prisma.InputJsonObject
}

export interface CommandOutput {
  /** What --json prints on stdout. */
  json: unknown
  /** What a person reads on stdout. */
  text: string
  /** 1 when the command ran but found something wrong (a failed ledger check). */
  exitCode?: 0 | 1
  /** A one-line note for stderr that explains a non-zero exit code. */
  problem?: string
}

/** A command whose arguments were checked, ready to run against the database. */
export type PreparedCommand = (context: CommandContext) => Promise<CommandOutput>

export interface Command {
  name: string
  summary: string
  /** Longer explanation shown by `<command> --help`. */
  description: string
  options: Record<string, OptionSpec>
  examples: string[]
  /**
   * Checks every argument and throws UsageError for a bad one; runs before the database is opened, so a typo is
   * reported as a typo even when the database is down.
   */
  prepare(values: OptionValues): PreparedCommand
}

/** Every command takes these. */
export const COMMON_OPTIONS: Record<string, OptionSpec> = {
  json: { type: 'boolean', description: 'machine-readable output on stdout (errors too: {"error", "message"})' },
  help: { type: 'boolean', description: 'show this help' },
}

const NEGATIVE_NUMBER = /^-\d/

/**
 * parseArgs refuses `--amount -5` as ambiguous (the value looks like a flag). Rewriting it to `--amount=-5` lets the
 * value reach validation, which then says what is wrong with it instead of blaming the syntax.
 */
function joinNegativeValues(args: string[], options: Record<string, OptionSpec>): string[] {
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!
    const next = args[i + 1]
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined
    if (name && options[name]?.type === 'string' && next !== undefined && NEGATIVE_NUMBER.test(next)) {
      joined.push(`${arg}=${next}`)
      i++
    } else {
      joined.push(arg)
    }
  }
  return joined
}

function quotedOption(message: string): string {
  return /'(-{1,2}[^' =]+)/.exec(message)?.[1] ?? 'an option'
}

export function parseCommandArgs(command: Command, args: string[]): OptionValues {
  const specs = { ...command.options, ...COMMON_OPTIONS }
  let parsed: ReturnType<typeof parseArgs>
  try {
    parsed = parseArgs({
      args: joinNegativeValues(args, specs),
      options: Object.fromEntries(Object.entries(specs).map(([name, spec]) => [name, { type: spec.type }])),
      strict: true,
      allowPositionals: false,
      tokens: true,
    })
  } catch (error) {
    const code = (error as { code?: string }).code
    const message = error instanceof Error ? error.message : String(error)
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      throw new UsageError(`unknown option ${quotedOption(message)} for ${command.name}`, command.name)
    }
    if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') {
      const option = quotedOption(message)
      const isFlag = specs[option.replace(/^-+/, '')]?.type === 'boolean'
      throw new UsageError(isFlag ? `${option} takes no value` : `${option} needs a value`, command.name)
    }
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
      const extra = /'([^']*)'/.exec(message)?.[1]
      throw new UsageError(
        `unexpected argument${extra ? ` "${extra}"` : ''}: ${command.name} takes only --options`,
        command.name,
      )
    }
    throw error
  }

  // parseArgs keeps the last of a repeated option silently; in a script that is more likely a mistake than intent.
  const seen = new Set<string>()
  for (const token of parsed.tokens ?? []) {
    if (token.kind !== 'option') continue
    if (seen.has(token.name)) throw new UsageError(`--${token.name} is given more than once`, command.name)
    seen.add(token.name)
  }

  const values = parsed.values as OptionValues
  if (values['help']) return values
  const missing = Object.entries(command.options)
    .filter(([name, spec]) => spec.required && (values[name] === undefined || String(values[name]).trim() === ''))
    .map(([name]) => `--${name}`)
  if (missing.length > 0) throw new UsageError(`missing ${missing.join(', ')}`, command.name)
  return values
}

/** A string option's value, trimmed; undefined when absent. An empty value is a usage error, not "absent". */
export function stringOption(values: OptionValues, name: string, command: string): string | undefined {
  const value = values[name]
  if (value === undefined) return undefined
  const trimmed = String(value).trim()
  if (!trimmed) throw new UsageError(`--${name} needs a value`, command)
  return trimmed
}

export function requiredString(values: OptionValues, name: string, command: string): string {
  const value = stringOption(values, name, command)
  if (value === undefined) throw new UsageError(`missing --${name}`, command)
  return value
}

/**
 * A whole number within bounds. Money on the command line is integer cents, exactly as everywhere else: "12.34" is
 * refused rather than guessed at, because a wrong guess moves a hundred times the money.
 */
export function wholeNumberOption(
  raw: string,
  flag: string,
  command: string,
  /** meaning: what a valid value is, in words that include the bounds, e.g. "a whole number from 1 to 100". */
  bounds: { min: number; max?: number; meaning: string },
): number {
  const value = /^[+-]?\d+$/.test(raw) ? Number(raw) : Number.NaN
  if (!Number.isSafeInteger(value) || value < bounds.min || value > (bounds.max ?? Number.MAX_SAFE_INTEGER)) {
    throw new UsageError(`--${flag} must be ${bounds.meaning}, got "${raw}"`, command)
  }
  return value
}

export function commandHelp(command: Command, invocation: string): string {
  const specs = { ...command.options, ...COMMON_OPTIONS }
  const rows = Object.entries(specs).map(([name, spec]) => {
    const flag = `--${name}${spec.value ? ` ${spec.value}` : ''}`
    return [flag, `${spec.description}${spec.required ? ' (required)' : ''}`] as const
  })
  const width = Math.max(...rows.map(([flag]) => flag.length))
  const synopsis = Object.entries(command.options)
    .map(([name, spec]) => {
      const flag = `--${name}${spec.value ? ` ${spec.value}` : ''}`
      return spec.required ? flag : `[${flag}]`
    })
    .join(' ')
  return [
    `Usage: ${invocation} ${command.name} ${synopsis} [--json]`,
    '',
    command.summary,
    ...(command.description ? ['', command.description] : []),
    '',
    'Options:',
    ...rows.map(([flag, text]) => `  ${flag.padEnd(width)}  ${text}`),
    ...(command.examples.length > 0
      ? ['', 'Examples:', ...command.examples.map((example) => `  ${invocation} ${example}`)]
      : []),
    '',
  ].join('\n')
}
