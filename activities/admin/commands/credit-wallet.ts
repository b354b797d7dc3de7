import { TransferConflictError } from '../../ledger/transfers.js'
import { CommandFailure, requiredString, stringOption, UsageError, wholeNumberOption, type Command } from '../args.js'
import { findMember } from '../members.js'
import { formatCents } from '../money-format.js'
import { adjustMemberWallet } from '../wallet-adjustments.js'

const NAME = 'credit-wallet'
// Keys end up in a transfer id ("adjustment:<key>"): keep them to characters that read well in logs and URLs.
const IDEMPOTENCY_KEY = /^[A-Za-z0-9][A-Za-z0-9_.:@#-]{0,127}$/

export const creditWalletCommand: Command = {
  name: NAME,
  summary: "Credit a member's wallet through an audited adjustment transfer.",
  description: [
    'Moves money from the adjustments account into the wallet (a goodwill credit, a correction) and writes an',
    'audit entry. Pass --id with a key of your own (a ticket number, say) to make the command safe to repeat:',
    'the same key credits once, however often it runs.',
  ].join('\n'),
  options: {
    member: { type: 'string', value: 'EMAIL_OR_ID', description: "the member's e-mail or user id", required: true },
    amount: {
      type: 'string',
      value: 'CENTS',
      description: 'amount in cents, a positive whole number (1234 = $12.34)',
      required: true,
    },
    reason: {
      type: 'string',
      value: 'TEXT',
      description: 'why; stored with the transfer and in the audit log',
      required: true,
    },
    id: { type: 'string', value: 'KEY', description: 'idempotency key; the transfer id becomes adjustment:KEY' },
  },
  examples: [`${NAME} --member ada@example.test --amount 500 --reason 'dropped call, ticket 4521' --id ticket-4521`],

  prepare(values) {
    const amountCents = wholeNumberOption(requiredString(values, 'amount', NAME), 'amount', NAME, {
      min: 1,
      meaning: 'a positive whole number of cents (1234 means $12.34)',
    })
    const reason = requiredString(values, 'reason', NAME)
    const key = stringOption(values, 'id', NAME)
    if (key !== undefined && !IDEMPOTENCY_KEY.test(key)) {
      throw new UsageError('--id must be 1-128 letters, digits or _ . : @ # -, starting with a letter or digit', NAME)
    }
    const memberRef = requiredString(values, 'member', NAME)

    return async ({ db, origin }) => {
      const member = await findMember(db, memberRef)
      let adjustment
      try {
        adjustment = await adjustMemberWallet(
          db,
          { memberId: member.id, amountCents, reason, ...(key !== undefined ? { idempotencyKey: key } : {}) },
          { channel: 'cli', actorId: null, origin },
        )
      } catch (error) {
        if (error instanceof TransferConflictError) {
          throw new CommandFailure(
            'idempotency_key_reused',
            `the key "${key}" was already used for another adjustment (another member or amount); choose a new --id`,
          )
        }
        throw error
      }

      const { balance } = adjustment
      const json = {
        transferId: adjustment.transferId,
        created: adjustment.created,
        amountCents: adjustment.amountCents,
        member: { id: member.id, email: member.email },
        balance: {
          postedCents: balance.postedCents,
          reservedCents: balance.pendingDebitCents,
          availableCents: balance.availableCents,
        },
        auditEntryId: adjustment.auditEntryId,
      }
      const head = adjustment.created
        ? `Credited ${formatCents(amountCents)} to ${member.email} (transfer ${adjustment.transferId}).`
        : `Nothing credited: ${adjustment.transferId} was already applied to ${member.email}.`
      const text = `${head}\n  available now ${formatCents(balance.availableCents)}; audit entry ${
        adjustment.auditEntryId
      }\n`
      return { json, text }
    }
  },
}
