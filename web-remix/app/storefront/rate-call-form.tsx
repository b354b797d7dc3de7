import { useFetcher } from '@remix-run/react'
import { useId } from 'react'
import { CsrfInput } from '../auth/csrf-input.js'

/** What POST /calls/:callId/rate answers (routes/calls_.$callId.rate.tsx). */
export type RateCallResult = { ok: true; stars: number } | { ok: false; error: string }

/**
 * Rating a call: 1–5 stars and an optional comment. The call page embeds it once the call is settled with at least
 * one billed minute; it posts to /calls/:callId/rate, in place with JavaScript, as a plain form without.
 */
export function RateCallForm({ callId }: { callId: string }) {
  const fetcher = useFetcher<RateCallResult>()
  const id = useId()
  const result = fetcher.data
  if (result?.ok) {
    return (
      <p className="form-ok" role="status">
        Thank you: you rated this call {result.stars} out of 5.
      </p>
    )
  }
  return (
    <fetcher.Form method="post" action={`/calls/${callId}/rate`} className="rate-call-form" aria-labelledby={`${id}-title`}>
      <h2 id={`${id}-title`}>Rate this call</h2>
      <CsrfInput />
      <RatingFields error={result && !result.ok ? result.error : null} />
      <div>
        <button type="submit" disabled={fetcher.state !== 'idle'}>
          {fetcher.state === 'idle' ? 'Send rating' : 'Sending…'}
        </button>
      </div>
    </fetcher.Form>
  )
}

/** The stars and the comment, shared by the embedded form and the rating page. */
export function RatingFields({ error }: { error: string | null }) {
  const id = useId()
  return (
    <>
      <fieldset>
        <legend>Stars</legend>
        <div className="stars">
          {[1, 2, 3, 4, 5].map((stars) => (
            <label className="inline" key={stars}>
              <input type="radio" name="stars" value={stars} required />
              {stars} {stars === 1 ? 'star' : 'stars'}
            </label>
          ))}
        </div>
      </fieldset>
      <label htmlFor={`${id}-comment`}>Comment (optional, up to 1000 characters)</label>
      <textarea id={`${id}-comment`} name="comment" maxLength={1000} rows={4} />
      {error ? (
        <p className="form-error" role="alert">
          {error}
        </p>
      ) : null}
    </>
  )
}
