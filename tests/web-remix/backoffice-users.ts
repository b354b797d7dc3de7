import { randomUUID } from 'node:crypto'
import { expect } from 'vitest'
import { createUser, type CreatedUser } from '../../activities/identity/users.js'
import type { Db } from '../../prisma/client.js'
import { loadConfig } from '../../config/env.js'
import { secretBox } from '../../activities/identity/secret-box.js'
import { secondFactorOf, totpFor } from '../../web-remix/app/backoffice/second-factor.server.js'
import { PortalClient } from '../support/portal-client.js'

/**
 * Users of every role for the back office's HTTP tests, signed in through the real forms (and the admin's TOTP).
 * Their e-mail is verified, as an account in service has it (an operator without one cannot take calls).
 */

export const PASSWORD = 'a good password'

export async function newUser(db: Db, role: 'member' | 'operator' | 'company' | 'admin', extra: { companyId?: string; ratePerMinuteCents?: number } = {}): Promise<CreatedUser> {
  const tag = randomUUID().slice(0, 8)
  return createUser(db, {
    role,
    emailVerified: true,
    email: `${role}-${tag}@example.test`,
    password: PASSWORD,
    displayName: `${role[0]!.toUpperCase()}${role.slice(1)} ${tag}`,
    ...(role === 'operator' ? { ratePerMinuteCents: extra.ratePerMinuteCents ?? 150, companyId: extra.companyId ?? null } : {}),
    ...(role === 'company' ? { companyShareBps: 2_000, companyName: `Studio ${tag}` } : {}),
  })
}

export async function signedIn(baseUrl: string, email: string): Promise<PortalClient> {
  const client = new PortalClient(baseUrl)
  await client.logIn(email, PASSWORD)
  return client
}

/** The current TOTP code of an admin, `stepsAhead` periods from now (a code is accepted once, so the next is ahead). */
export async function totpCode(db: Db, userId: string, stepsAhead = 0): Promise<string> {
  // The secret is sealed at rest: opened with the key the test stacks run with (the development one unless set).
  const factor = await secondFactorOf(db, secretBox(loadConfig().DATA_ENCRYPTION_KEY), userId)
  return totpFor(factor.secret, 'test', 'perminute').generate({ timestamp: Date.now() + stepsAhead * 30_000 })
}

/** An admin signed in and through the second factor (enrolled on this first log-in); returns its recovery codes too. */
export async function signedInAdmin(baseUrl: string, db: Db, admin: CreatedUser, headers: Record<string, string> = {}) {
  const client = await signedIn(baseUrl, admin.email)
  const home = await client.get('/admin', headers)
  expect(home.status).toBe(302)
  expect(home.headers.get('location')).toBe('/admin/second-factor?redirectTo=%2Fadmin')
  expect(await (await client.get('/admin/second-factor', headers)).text()).toContain('Set up two-step verification')
  const enrolled = await client.post('/admin/second-factor', { code: await totpCode(db, admin.id) }, { headers })
  expect(enrolled.status, String(enrolled.headers.get('location'))).toBe(200)
  const html = await enrolled.text()
  const codes = [...html.matchAll(/<code>([0-9a-f]{5}-[0-9a-f]{5})<\/code>/g)].map((m) => m[1]!)
  expect(codes).toHaveLength(10)
  return { client, recoveryCodes: codes }
}
