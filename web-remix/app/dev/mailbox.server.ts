import { servicesFrom } from '../plugin-api/services.server.js'
import type { AppLoadContext } from '@remix-run/node'

/** The development mailbox reads the mail outbox; it does not exist in production. */
export function requireDevelopment(context: AppLoadContext | undefined): void {
  // Only with the development switch on (NODE_ENV=development or test): elsewhere the page does not exist.
  if (!servicesFrom(context).config.DEVELOPMENT_FEATURES) throw new Response('Not found', { status: 404 })
}

export async function listMail(context: AppLoadContext | undefined, to: string | null) {
  const { db } = servicesFrom(context)
  const rows = await db.mailMessage.findMany({
    where: to ? { toAddress: to.toLowerCase() } : {},
    orderBy: { id: 'desc' },
    take: 100,
    select: { id: true, toAddress: true, subject: true, template: true, status: true, createdAt: true },
  })
  return rows.map((row) => ({ ...row, id: row.id.toString(), createdAt: row.createdAt.toISOString() }))
}

export async function readMail(context: AppLoadContext | undefined, id: string) {
  if (!/^\d{1,18}$/.test(id)) return null
  const { db } = servicesFrom(context)
  const row = await db.mailMessage.findUnique({ where: { id: BigInt(id) } })
  if (!row) return null
  return {
    id: row.id.toString(),
    toAddress: row.toAddress,
    subject: row.subject,
    textBody: row.textBody,
    status: row.status,
    attempts: row.attempts,
    lastError: row.lastError,
    createdAt: row.createdAt.toISOString(),
  }
}
