import { Field, FormError } from '../components/field.js'
import { formatCents } from './format.js'

/** The fields of an operator's profile (headline, tags, price), for the operator's own page and their company's. */
export function ProfileForm({
  profile,
  result,
}: {
  profile: { headline: string; tags: string[]; ratePerMinuteCents: number; priceMinCents: number; priceMaxCents: number }
  result?: { ok: boolean; message?: string; error?: string; field?: string } | null
}) {
  const fieldError = (name: string) => (result && !result.ok && result.field === name ? result.error : null)
  return (
    <>
      {result?.ok && (
        <p className="notice" role="status">
          {result.message}
        </p>
      )}
      <FormError message={result && !result.ok && !result.field ? result.error : null} />
      <Field label="Headline" name="headline" maxLength={140} defaultValue={profile.headline} error={fieldError('headline')} hint="One line under your name in the listing." />
      <Field label="Tags" name="tags" defaultValue={profile.tags.join(', ')} error={fieldError('tags')} hint="Comma-separated, up to 10." />
      <Field
        label="Price per minute"
        name="price"
        inputMode="decimal"
        required
        defaultValue={(profile.ratePerMinuteCents / 100).toFixed(2)}
        error={fieldError('price')}
        hint={`Between ${formatCents(profile.priceMinCents)} and ${formatCents(profile.priceMaxCents)}. A new price applies to calls that start after the change.`}
      />
      <div>
        <button type="submit" name="intent" value="save-profile">
          Save
        </button>
      </div>
    </>
  )
}
