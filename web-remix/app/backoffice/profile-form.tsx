import { Form } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { Field, FormError, SelectField, TextAreaField } from '../components/field.js'
import { formatCents } from './format.js'
import { dayField, WEEKDAYS } from './weekly-hours.js'

/**
 * The operator's profile editor, for the operator's own page and their company's: one form per part (profile and
 * price, hours, photos, video), each a plain POST that works without JavaScript, answered by handleProfileForm
 * (operators.server.ts). A result belongs to the form whose intent it names, and shows there.
 */

export interface ProfileEditorData {
  headline: string
  tags: string[]
  ratePerMinuteCents: number
  priceMinCents: number
  priceMaxCents: number
  bioMarkdown: string
  bioHtml: string
  timeZone: string
  timeZones: string[]
  hours: Record<string, string>
  images: Array<{ id: string; url: string; altText: string }>
  video: { url: string; captionsUrl: string | null } | null
}

export interface ProfileEditorResult {
  ok: boolean
  intent: string
  message?: string
  error?: string
  errors?: Record<string, string>
  values?: Record<string, string>
  previewHtml?: string
}

const PROFILE_INTENTS = ['save-profile', 'preview-bio']
const IMAGE_INTENTS = ['add-image', 'move-image-up', 'move-image-down', 'remove-image']
const VIDEO_INTENTS = ['save-captions', 'remove-video']

function Outcome({ result, intents }: { result: ProfileEditorResult | null | undefined; intents: string[] }) {
  if (!result || !intents.includes(result.intent)) return null
  if (result.ok) {
    return result.message ? (
      <p className="notice" role="status">
        {result.message}
      </p>
    ) : null
  }
  return <FormError message={result.error} />
}

export function ProfileEditor({ profile, result }: { profile: ProfileEditorData; result?: ProfileEditorResult | null }) {
  const mine = (intents: string[]) => (result && intents.includes(result.intent) ? result : null)
  const profileResult = mine(PROFILE_INTENTS)
  const hoursResult = mine(['save-hours'])
  const imageResult = mine(IMAGE_INTENTS)
  const videoResult = mine(VIDEO_INTENTS)
  const error = (r: ProfileEditorResult | null, name: string) => (r && !r.ok ? (r.errors?.[name] ?? null) : null)
  // What was sent comes back on a refusal or a preview, so nothing typed is lost; saved hours come back too, as the
  // action's answer may render before the page's data is reloaded.
  const sent = (r: ProfileEditorResult | null, name: string, saved: string) => r?.values?.[name] ?? saved
  const previewHtml = profileResult?.previewHtml ?? profile.bioHtml

  return (
    <div className="profile-editor">
      <section aria-labelledby="profile-section">
        <h2 id="profile-section">Profile and price</h2>
        <Outcome result={result} intents={PROFILE_INTENTS} />
        <Form method="post" className="stack" key={`profile-${profileResult?.intent ?? ''}-${profileResult?.ok ?? ''}`}>
          <CsrfInput />
          <Field
            label="Headline"
            name="headline"
            maxLength={140}
            defaultValue={sent(profileResult, 'headline', profile.headline)}
            error={error(profileResult, 'headline')}
            hint="One line under your name in the listing."
          />
          <Field
            label="Tags"
            name="tags"
            defaultValue={sent(profileResult, 'tags', profile.tags.join(', '))}
            error={error(profileResult, 'tags')}
            hint="Comma-separated, up to 10; members filter the listing by them."
          />
          <Field
            label="Price per minute"
            name="price"
            inputMode="decimal"
            required
            defaultValue={sent(profileResult, 'price', (profile.ratePerMinuteCents / 100).toFixed(2))}
            error={error(profileResult, 'price')}
            hint={`Between ${formatCents(profile.priceMinCents)} and ${formatCents(profile.priceMaxCents)}. A new price applies to calls that start after the change.`}
          />
          <TextAreaField
            label="About you"
            name="bio"
            rows={8}
            maxLength={10_000}
            defaultValue={sent(profileResult, 'bio', profile.bioMarkdown)}
            error={error(profileResult, 'bio')}
            hint="Markdown: **bold**, *italic*, lists with -, links as [text](https://…). Raw HTML is shown as text."
          />
          <div className="button-row">
            <button type="submit" name="intent" value="save-profile">
              Save profile
            </button>
            <button type="submit" name="intent" value="preview-bio" className="secondary">
              Preview the bio
            </button>
          </div>
        </Form>
        <h3 id="bio-preview-heading">{profileResult?.previewHtml !== undefined ? 'Preview (not saved yet)' : 'Your bio as members see it'}</h3>
        {previewHtml ? (
          // Rendered from Markdown and sanitised on the server, as on the storefront (storefront/markdown.server.ts).
          <div className="bio bio-preview" aria-labelledby="bio-preview-heading" role="region" dangerouslySetInnerHTML={{ __html: previewHtml }} />
        ) : (
          <p>No bio yet.</p>
        )}
      </section>

      <section aria-labelledby="hours-section">
        <h2 id="hours-section">Weekly hours</h2>
        <p>
          When members may schedule calls with you, in your own time zone. Write each day's hours as ranges, such as{' '}
          <code>09:00–12:00, 14:00–18:00</code>; leave a day empty when you do not work. A range past midnight goes in two days.
        </p>
        <Outcome result={result} intents={['save-hours']} />
        <Form method="post" className="stack" key={`hours-${hoursResult?.ok ?? ''}`}>
          <CsrfInput />
          <SelectField
            // A select does not follow a changed defaultValue: a new default makes a new select.
            key={sent(hoursResult, 'timeZone', profile.timeZone)}
            label="Your time zone"
            name="timeZone"
            options={profile.timeZones.includes(profile.timeZone) ? profile.timeZones : [profile.timeZone, ...profile.timeZones]}
            defaultValue={sent(hoursResult, 'timeZone', profile.timeZone)}
            error={error(hoursResult, 'timeZone')}
          />
          {WEEKDAYS.map(({ weekday, name }) => (
            <Field
              key={weekday}
              label={name}
              name={dayField(weekday)}
              autoComplete="off"
              placeholder="Not available"
              defaultValue={sent(hoursResult, dayField(weekday), profile.hours[dayField(weekday)] ?? '')}
              error={error(hoursResult, dayField(weekday))}
            />
          ))}
          <div>
            <button type="submit" name="intent" value="save-hours">
              Save hours
            </button>
          </div>
        </Form>
      </section>

      <section aria-labelledby="images-section">
        <h2 id="images-section">Photos</h2>
        <Outcome result={result} intents={IMAGE_INTENTS} />
        {profile.images.length === 0 ? (
          <p>No photos yet.</p>
        ) : (
          <ol className="image-list">
            {profile.images.map((image, index) => (
              <li key={image.id} data-image-id={image.id}>
                <img src={image.url} alt={image.altText} loading="lazy" />
                <p className="wrap">{image.altText}</p>
                <Form method="post" className="inline-form">
                  <CsrfInput />
                  <input type="hidden" name="imageId" value={image.id} />
                  {index > 0 && (
                    <button type="submit" name="intent" value="move-image-up" className="secondary">
                      Move up
                      <span className="visually-hidden"> photo {index + 1}</span>
                    </button>
                  )}
                  {index < profile.images.length - 1 && (
                    <button type="submit" name="intent" value="move-image-down" className="secondary">
                      Move down
                      <span className="visually-hidden"> photo {index + 1}</span>
                    </button>
                  )}
                  <button type="submit" name="intent" value="remove-image" className="danger">
                    Remove
                    <span className="visually-hidden"> photo {index + 1}</span>
                  </button>
                </Form>
              </li>
            ))}
          </ol>
        )}
        <Form method="post" encType="multipart/form-data" className="stack" key={`image-${imageResult?.ok ?? ''}-${profile.images.length}`}>
          <CsrfInput />
          <Field
            label="Add a photo"
            name="image"
            type="file"
            accept="image/jpeg,image/png,image/webp"
            required
            error={error(imageResult, 'image')}
            hint="JPEG, PNG or WebP, up to 5 MB; up to 8 photos. The first one shows in the listing."
          />
          <Field
            label="Description of the photo"
            name="altText"
            maxLength={250}
            required
            defaultValue={sent(imageResult, 'altText', '')}
            error={error(imageResult, 'altText')}
            hint="What it shows, for people who cannot see it."
          />
          <div>
            <button type="submit" name="intent" value="add-image">
              Upload photo
            </button>
          </div>
        </Form>
      </section>

      <section aria-labelledby="video-section">
        <h2 id="video-section">Video preview</h2>
        <Outcome result={result} intents={VIDEO_INTENTS} />
        {profile.video ? (
          <>
            <div className="profile-video">
              <video controls preload="metadata" playsInline aria-label="Your video preview">
                <source src={profile.video.url} />
                {profile.video.captionsUrl ? <track kind="captions" src={profile.video.captionsUrl} srcLang="en" label="English" default /> : null}
                Your browser cannot play this video. <a href={profile.video.url}>Download it</a>.
              </video>
            </div>
            <Form method="post" className="stack" key={`captions-${videoResult?.ok ?? ''}`}>
              <CsrfInput />
              <Field
                label="Captions address"
                name="captionsUrl"
                type="url"
                inputMode="url"
                defaultValue={sent(videoResult, 'captionsUrl', profile.video.captionsUrl ?? '')}
                error={error(videoResult, 'captionsUrl')}
                hint="An https:// address of a WebVTT (.vtt) file with the words of your video; leave empty for none."
              />
              <div>
                <button type="submit" name="intent" value="save-captions">
                  Save captions
                </button>
              </div>
            </Form>
            <Form method="post">
              <CsrfInput />
              <button type="submit" name="intent" value="remove-video" className="danger">
                Remove the video
              </button>
            </Form>
          </>
        ) : (
          <p>No video preview yet. Record one in the plugin: it shows here and on your profile once uploaded.</p>
        )}
      </section>
    </div>
  )
}
