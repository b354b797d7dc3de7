import type { Db } from '../../../prisma/client.js'
import { shareForNewCompany } from '../../companies.js'
import type { NewUser, Role } from '../../identity/users.js'
import { CommandFailure, requiredString, stringOption, UsageError, wholeNumberOption, type Command } from '../args.js'
import { isUuid } from '../members.js'
import { formatCents } from '../money-format.js'
import { createUserAudited } from '../users.js'

const NAME = 'create-user'
const ROLES: readonly Role[] = ['member', 'operator', 'company', 'admin']
// Which role-specific options make sense for which role; anything else is a mistake worth stopping on.
const ROLE_OPTIONS: Record<string, readonly Role[]> = {
  handle: ['member', 'operator'],
  provider: ['member', 'operator'],
  rate: ['operator'],
  company: ['operator'],
  headline: ['operator'],
  tags: ['operator'],
  share: ['company'],
}
const PROVIDER = /^[a-z0-9][a-z0-9_.-]{0,31}$/

/** A company by its id, or by its owner's e-mail (what staff usually have at hand). */
async function resolveCompanyId(db: Db, ref: string): Promise<string> {
  if (isUuid(ref)) {
    const company = await db.company.findUnique({ where: { id: ref.toLowerCase() }, select: { id: true } })
    if (!company) throw new CommandFailure('company_not_found', `no company with id ${ref}`)
    return company.id
  }
  const owner = await db.user.findUnique({
    where: { email: ref.toLowerCase() },
    select: { ownedCompany: { select: { id: true } } },
  })
  if (!owner?.ownedCompany) throw new CommandFailure('company_not_found', `no company account with e-mail ${ref}`)
  return owner.ownedCompany.id
}

export const createUserCommand: Command = {
  name: NAME,
  summary: 'Create a user of any role, with a password; audited.',
  description: [
    'Members and operators may get a calling handle (--handle with --provider). Operators need --rate and may',
    "belong to a company (--company); a company's --share is its cut of their earnings (the platform's default",
    'company share from the settings when not given).',
    'The password is set as given: hand it over securely and ask the user to change it.',
    'The e-mail address counts as confirmed (the admin vouches for it), so an operator may sign in to the plugin at once.',
  ].join('\n'),
  options: {
    role: { type: 'string', value: 'ROLE', description: 'member, operator, company or admin', required: true },
    email: { type: 'string', value: 'EMAIL', description: 'login e-mail', required: true },
    password: {
      type: 'string',
      value: 'PASSWORD',
      description: 'initial password, at least 8 characters',
      required: true,
    },
    name: {
      type: 'string',
      value: 'NAME',
      description: 'display name (for a company, also the company name)',
      required: true,
    },
    handle: { type: 'string', value: 'HANDLE', description: 'member/operator: calling handle, unique' },
    provider: {
      type: 'string',
      value: 'PROVIDER',
      description: 'member/operator: where the handle lives (discord, sip, ...)',
    },
    rate: { type: 'string', value: 'CENTS', description: 'operator: price per minute in cents (199 = $1.99/min)' },
    company: { type: 'string', value: 'COMPANY', description: "operator: the company's id, or its account's e-mail" },
    headline: { type: 'string', value: 'TEXT', description: 'operator: one line for the public profile' },
    tags: { type: 'string', value: 'A,B,...', description: 'operator: profile tags, comma-separated' },
    share: {
      type: 'string',
      value: 'BPS',
      description: "company: share of its operators' earnings in basis points (1500 = 15%); default: the platform's setting",
    },
  },
  examples: [
    `${NAME} --role member --email ada@example.test --password 'long-secret' --name Ada --handle ada#1 --provider discord`,
    `${NAME} --role company --email studio@example.test --password 'long-secret' --name 'Night Studio' --share 1500`,
    `${NAME} --role operator --email luna@example.test --password 'long-secret' --name Luna --rate 199 --company studio@example.test`,
  ],

  prepare(values) {
    const roleText = requiredString(values, 'role', NAME)
    const role = ROLES.find((candidate) => candidate === roleText.toLowerCase())
    if (!role) throw new UsageError(`--role must be one of ${ROLES.join(', ')}, got "${roleText}"`, NAME)
    for (const [option, roles] of Object.entries(ROLE_OPTIONS)) {
      if (values[option] !== undefined && !roles.includes(role)) {
        throw new UsageError(`--${option} is for ${roles.join(' and ')} accounts, not ${role}`, NAME)
      }
    }

    const handle = stringOption(values, 'handle', NAME)
    const provider = stringOption(values, 'provider', NAME)?.toLowerCase()
    if ((handle === undefined) !== (provider === undefined))
      throw new UsageError('--handle and --provider go together', NAME)
    if (provider !== undefined && !PROVIDER.test(provider)) {
      throw new UsageError(`--provider must be a short name like discord or sip, got "${provider}"`, NAME)
    }

    const rateText = stringOption(values, 'rate', NAME)
    if (role === 'operator' && rateText === undefined)
      throw new UsageError('an operator needs --rate (cents per minute)', NAME)
    const shareText = stringOption(values, 'share', NAME)

    const user: NewUser = {
      role,
      email: requiredString(values, 'email', NAME),
      // Not trimmed: spaces may be part of a password.
      password: String(values['password']),
      displayName: requiredString(values, 'name', NAME),
      callingHandle: handle ?? null,
      callingProvider: provider ?? null,
      // An admin creating the account vouches for its address: no confirmation mail goes out.
      emailVerified: true,
    }
    if (rateText !== undefined) {
      user.ratePerMinuteCents = wholeNumberOption(rateText, 'rate', NAME, {
        min: 1,
        meaning: 'a positive whole number of cents per minute (199 means $1.99/min)',
      })
    }
    if (shareText !== undefined) {
      user.companyShareBps = wholeNumberOption(shareText, 'share', NAME, {
        min: 0,
        max: 10_000,
        meaning: 'a whole number of basis points from 0 to 10000 (1500 means 15%)',
      })
    }
    const headline = stringOption(values, 'headline', NAME)
    if (headline !== undefined) user.headline = headline
    const tags = stringOption(values, 'tags', NAME)
    if (tags !== undefined)
      user.tags = tags
        .split(',')
        .map((tag) => tag.trim())
        .filter(Boolean)
    const companyRef = stringOption(values, 'company', NAME)
    if (companyRef !== undefined && !isUuid(companyRef) && !companyRef.includes('@')) {
      throw new UsageError(
        `--company must be a company id (a UUID) or the company account's e-mail, got "${companyRef}"`,
        NAME,
      )
    }

    return async ({ db, config, origin }) => {
      if (companyRef !== undefined) user.companyId = await resolveCompanyId(db, companyRef)
      const defaultShare = role === 'company' && user.companyShareBps === undefined
      if (role === 'company') user.companyShareBps = await shareForNewCompany(db, config, user.companyShareBps)
      const created = await createUserAudited(db, user, { channel: 'cli', actorId: null, origin })
      const json = {
        user: {
          id: created.id,
          email: created.email,
          role: created.role,
          displayName: created.displayName,
          companyId: created.companyId,
          callingProvider: user.callingProvider ?? null,
          callingHandle: user.callingHandle ?? null,
          ...(role === 'operator' ? { ratePerMinuteCents: user.ratePerMinuteCents } : {}),
          ...(role === 'company' ? { companyShareBps: user.companyShareBps } : {}),
        },
        auditEntryId: created.auditEntryId,
      }
      const lines = [`Created ${created.role} ${created.email} (${created.displayName}), id ${created.id}`]
      if (user.callingHandle) lines.push(`  calling handle: ${user.callingProvider}:${user.callingHandle}`)
      if (role === 'operator') {
        lines.push(
          `  rate: ${formatCents(user.ratePerMinuteCents!)}/min${
            created.companyId ? `, company ${created.companyId}` : ', independent'
          }`,
        )
      }
      if (role === 'company') {
        lines.push(
          `  company id: ${created.companyId} (share ${user.companyShareBps! / 100}%${
            defaultShare ? ", the platform's default" : ''
          }); pass it as --company for its operators`,
        )
      }
      lines.push(`  audit entry ${created.auditEntryId}`)
      return { json, text: `${lines.join('\n')}\n` }
    }
  },
}
