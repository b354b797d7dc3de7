import { toCents } from '../../ledger/tx.js'
import { walletBalance } from '../../ledger/balances.js'
import { accountIds } from '../../ledger/accounts.js'
import { CommandFailure, requiredString, stringOption, wholeNumberOption, type Command } from '../args.js'
import { findMember } from '../members.js'
import { formatCents } from '../money-format.js'

const NAME = 'show-wallet'

export const showWalletCommand: Command = {
  name: NAME,
  summary: "Show a member's wallet: posted, reserved, available, and recent transfers.",
  description: [
    'posted: credits minus debits that are final. reserved: held for calls in progress (pending debits).',
    'available: what the member can still spend, posted minus reserved.',
  ].join('\n'),
  options: {
    member: { type: 'string', value: 'EMAIL_OR_ID', description: "the member's e-mail or user id", required: true },
    limit: { type: 'string', value: 'N', description: 'how many recent transfers to list, 1-100 (default 10)' },
  },
  examples: [`${NAME} --member ada@example.test`, `${NAME} --member ada@example.test --limit 50 --json`],

  prepare(values) {
    const limitText = stringOption(values, 'limit', NAME)
    const limit =
      limitText === undefined
        ? 10
        : wholeNumberOption(limitText, 'limit', NAME, { min: 1, max: 100, meaning: 'a whole number from 1 to 100' })
    const memberRef = requiredString(values, 'member', NAME)

    return async ({ db }) => {
      const member = await findMember(db, memberRef)
      const balance = await walletBalance(db, member.id)
      if (!balance)
        throw new CommandFailure(
          'wallet_missing',
          `${member.email} has no wallet account (the ledger was not opened for this member)`,
        )

      const walletId = accountIds.memberWallet(member.id)
      const rows = await db.transfer.findMany({
        where: { OR: [{ debitAccountId: walletId }, { creditAccountId: walletId }] },
        orderBy: [{ createdAt: 'desc' }, { id: 'desc' }],
        take: limit,
      })
      const transfers = rows.map((row) => ({
        id: row.id,
        createdAt: row.createdAt.toISOString(),
        direction: row.creditAccountId === walletId ? ('in' as const) : ('out' as const),
        code: row.code,
        status: row.status,
        amountCents: toCents(row.amount),
        postedAmountCents: row.postedAmount === null ? null : toCents(row.postedAmount),
        callId: row.callId,
        memo: row.memo,
      }))

      const json = {
        member: { id: member.id, email: member.email, displayName: member.displayName, status: member.status },
        accountId: walletId,
        postedCents: balance.postedCents,
        reservedCents: balance.pendingDebitCents,
        availableCents: balance.availableCents,
        recentTransfers: transfers,
      }

      const money = [
        ['posted', balance.postedCents],
        ['reserved', balance.pendingDebitCents],
        ['available', balance.availableCents],
      ] as const
      const moneyWidth = Math.max(...money.map(([, cents]) => formatCents(cents).length))
      const lines = [
        `Wallet of ${member.displayName} <${member.email}>, member ${member.id}${
          member.status === 'disabled' ? ' (disabled)' : ''
        }`,
        ...money.map(([label, cents]) => `  ${label.padEnd(10)} ${formatCents(cents).padStart(moneyWidth)}`),
        '',
      ]
      if (transfers.length === 0) {
        lines.push('No transfers yet.')
      } else {
        lines.push(`Last ${transfers.length} transfer${transfers.length === 1 ? '' : 's'}, newest first:`)
        for (const transfer of transfers) {
          // What the transfer did to the wallet: the posted part, a hold while pending, nothing once voided.
          const effect = transfer.status === 'pending' ? transfer.amountCents : transfer.postedAmountCents ?? 0
          const signed = `${transfer.direction === 'in' ? '+' : '-'}${formatCents(effect)}`
          const when = transfer.createdAt.replace('T', ' ').replace(/\.\d+Z$/, 'Z')
          const memo = transfer.memo ? `  "${transfer.memo}"` : ''
          lines.push(
            `  ${when}  ${signed.padStart(11)}  ${transfer.status.padEnd(7)}  ${transfer.code.padEnd(20)}  ${
              transfer.id
            }${memo}`,
          )
        }
      }
      return { json, text: `${lines.join('\n')}\n` }
    }
  },
}
