import type { MailInput } from './outbox.js'

/** The words of the platform's mails, in one place: each returns a message ready for enqueueMail. */

type Message = Omit<MailInput, 'to' | 'dedupeKey'>

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!)
}

/** A plain message with one call to action, as text and as simple HTML. */
function withLink(template: string, subject: string, lines: string[], link: { label: string; url: string }, after: string[] = []): Message {
  const text = [...lines, '', `${link.label}: ${link.url}`, ...(after.length ? ['', ...after] : [])].join('\n')
  const paragraphs = lines.map((line) => `<p>${escapeHtml(line)}</p>`).join('')
  const trailing = after.map((line) => `<p>${escapeHtml(line)}</p>`).join('')
  const html = `${paragraphs}<p><a href="${escapeHtml(link.url)}">${escapeHtml(link.label)}</a></p>${trailing}`
  return { template, subject, text, html }
}

export function verifyEmailMail(displayName: string, url: string): Message {
  return withLink(
    'verify_email',
    'Confirm your e-mail address',
    [`Hello ${displayName},`, 'Please confirm your e-mail address to top up your wallet and take calls.'],
    { label: 'Confirm my address', url },
    ['The link works for 24 hours. If you did not sign up, ignore this message.'],
  )
}

/** To the owner of an address someone tried to sign up with: the sign-up page said only "check your mail". */
export function signUpWithExistingAddressMail(displayName: string, loginUrl: string, resetUrl: string): Message {
  return withLink(
    'sign_up_existing_address',
    'Someone tried to sign up with your address',
    [
      `Hello ${displayName},`,
      'Someone (perhaps you) tried to create an account with this e-mail address, which already has one. No new account was made.',
    ],
    { label: 'Log in to your account', url: loginUrl },
    [`Forgot your password? Choose a new one: ${resetUrl}`, 'If this was not you, ignore this message: nothing has changed.'],
  )
}

export function passwordResetMail(displayName: string, url: string): Message {
  return withLink(
    'password_reset',
    'Reset your password',
    [`Hello ${displayName},`, 'Someone (we hope you) asked to reset the password of your account.'],
    { label: 'Choose a new password', url },
    ['The link works for one hour and only once. If you did not ask, ignore this message: your password stays as it is.'],
  )
}

export function passwordChangedMail(displayName: string, url: string): Message {
  return withLink(
    'password_changed',
    'Your password was changed',
    [`Hello ${displayName},`, 'The password of your account was just changed: every other session and every signed-in plugin was signed out.'],
    { label: 'If this was not you, reset it now', url },
  )
}

export function lowBalanceMail(displayName: string, operatorName: string, minutesLeft: number, callUrl: string): Message {
  const left = minutesLeft === 1 ? 'about one minute' : `about ${minutesLeft} minutes`
  return withLink(
    'call_low_balance',
    'Your balance is running low',
    [
      `Hello ${displayName},`,
      `Your balance covers ${left} more of your call with ${operatorName}. Top up to keep talking: the call goes on without a break.`,
    ],
    { label: 'Open the call and top up', url: callUrl },
    ['If you do nothing, the call ends by itself when the balance runs out, and you pay only for the minutes you had.'],
  )
}
