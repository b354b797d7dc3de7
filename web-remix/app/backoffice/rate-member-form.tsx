import { Form } from '@remix-run/react'
import { useId } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'

/** What the operator's call history answers to a rating (routes/operator.calls.tsx). */
export type RateMemberResult = { ok: true; callId: string; stars: number } | { ok: false; callId: string; error: string }

const starText = (stars: number) => '★'.repeat(stars) + '☆'.repeat(5 - stars)

/** A rating the operator gave: stars for the eye, words for screen readers. */
export function MemberRatingText({ rating }: { rating: { stars: number; comment: string | null } }) {
  return (
    <span className="member-rating">
      <span aria-hidden="true">{starText(rating.stars)}</span>
      <span className="visually-hidden">{`You rated ${rating.stars} out of 5`}</span>
      {rating.comment ? <span className="wrap"> “{rating.comment}”</span> : null}
    </span>
  )
}

/**
 * Rating the member of one call, in the call's row: stars and an optional comment, a plain POST to the call history
 * (CSRF-protected), so it works without JavaScript. Shown only for a settled call with a billed minute, once.
 */
export function RateMemberForm({ callId, memberName, result }: { callId: string; memberName: string; result?: RateMemberResult | null }) {
  const id = useId()
  const error = result && !result.ok && result.callId === callId ? result.error : null
  return (
    <Form method="post" className="rate-member-form" aria-label={`Rate ${memberName}`}>
      <CsrfInput />
      <input type="hidden" name="callId" value={callId} />
      <label htmlFor={`${id}-stars`}>Stars</label>
      <select id={`${id}-stars`} name="stars" required defaultValue="" aria-describedby={error ? `${id}-error` : undefined} aria-invalid={error ? true : undefined}>
        <option value="" disabled>
          Choose…
        </option>
        {[5, 4, 3, 2, 1].map((stars) => (
          <option key={stars} value={stars}>
            {stars} {stars === 1 ? 'star' : 'stars'}
          </option>
        ))}
      </select>
      <label htmlFor={`${id}-comment`}>Comment (optional)</label>
      <input id={`${id}-comment`} name="comment" maxLength={1000} autoComplete="off" />
      <button type="submit" name="intent" value="rate-member">
        Rate
      </button>
      {error ? (
        <p className="field-error" id={`${id}-error`} role="alert">
          {error}
        </p>
      ) : null}
    </Form>
  )
}
