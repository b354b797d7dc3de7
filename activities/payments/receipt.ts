import { formatCents } from '../admin/money-format.js'
import type { Tx } from '../ledger/tx.js'
import { enqueueMail } from '../mail/outbox.js'
import type { TopUpReceipt } from '../topups.js'

/** The receipt of a successful top-up, written to the mail outbox in the credit's own transaction. */

export function topUpReceiptMail(receipt: TopUpReceipt & { displayName: string; creditedAt: Date }, statusUrl: string) {
  const lines = [
    `Hello ${receipt.displayName},`,
    `Thank you: ${formatCents(receipt.amountCents)} was added to your perminute wallet.`,
    `Your balance is now ${formatCents(receipt.balanceCents)}.`,
    `Payment reference: ${receipt.providerPaymentId}`,
    `Date: ${receipt.creditedAt.toISOString().replace('T', ' ').slice(0, 16)} UTC`,
  ]
  const escape = (text: string) => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
  return {
    template: 'topup_receipt',
    subject: `Receipt: ${formatCents(receipt.amountCents)} added to your wallet`,
    text: [...lines, '', `See this top-up: ${statusUrl}`].join('\n'),
    html: `${lines.map((line) => `<p>${escape(line)}</p>`).join('')}<p><a href="${escape(statusUrl)}">See this top-up</a></p>`,
  }
}

/** The onCredited hook of the top-up activities: one receipt per payment, even if the credit is retried. */
export function mailTopUpReceipt(publicUrl: string) {
  return async (tx: Tx, receipt: TopUpReceipt): Promise<void> => {
    const users = await tx.$queryRaw<{ email: string; display_name: string }[]>`
      SELECT email, display_name FROM users WHERE id = ${receipt.memberId}::uuid`
    const user = users[0]
    if (!user) return
    await enqueueMail(tx, {
      to: user.email,
      ...topUpReceiptMail({ ...receipt, displayName: user.display_name, creditedAt: new Date() }, `${publicUrl}/wallet/topups/${receipt.paymentId}`),
      dedupeKey: `topup_receipt:${receipt.paymentId}`,
    })
  }
}
