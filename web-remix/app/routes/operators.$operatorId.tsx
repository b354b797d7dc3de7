import type { LinksFunction, LoaderFunctionArgs, MetaFunction } from '@remix-run/node'
import { Link, useLoaderData } from '@remix-run/react'
import { CsrfInput } from '../auth/csrf-input.js'
import { ChannelButtons } from '../calls/call-choice.js'
import { servicesFrom } from '../plugin-api/services.server.js'
import { AvailabilityTable, ZonePicker } from '../storefront/availability-table.js'
import { formatPricePerMinute } from '../storefront/money.js'
import { PresenceBadge, RatingSummaryText } from '../storefront/presence-badge.js'
import { loadProfile } from '../storefront/profile.server.js'
import storefrontStyles from '../storefront/storefront.css?url'
import { useTimeZoneCookie } from '../storefront/time-zone-cookie.js'
import { knownTimeZones, viewerTimeZone } from '../storefront/time-zone.server.js'
import { useLivePresence } from '../storefront/use-live-presence.js'
import { idFromPath } from '../ids.server.js'

export const links: LinksFunction = () => [{ rel: 'stylesheet', href: storefrontStyles }]

export const meta: MetaFunction<typeof loader> = ({ data }) => [
  { title: data ? `${data.profile.displayName} · perminute` : 'Operator not found · perminute' },
  { name: 'description', content: data?.profile.headline ?? '' },
]

export async function loader({ request, params, context }: LoaderFunctionArgs) {
  const { db } = servicesFrom(context)
  const viewer = viewerTimeZone(request)
  const profile = await loadProfile(db, idFromPath(params.operatorId, 'Not found'), viewer.zone, Date.now())
  if (!profile) throw new Response('Not found', { status: 404 })
  const reviewDate = new Intl.DateTimeFormat('en-GB', { timeZone: viewer.zone, dateStyle: 'medium' })
  return {
    profile: { ...profile, reviews: profile.reviews.map((r) => ({ ...r, date: reviewDate.format(r.createdAt) })) },
    viewer,
    zones: knownTimeZones(),
  }
}

const starText = (stars: number) => '★'.repeat(stars) + '☆'.repeat(5 - stars)

export default function OperatorProfile() {
  const { profile, viewer, zones } = useLoaderData<typeof loader>()
  const live = useLivePresence([profile.id])
  useTimeZoneCookie(viewer.zone, viewer.source)
  const presence = live[profile.id] ?? profile.presence
  return (
    <div className="storefront profile" data-operator-id={profile.id}>
      <section className="profile-head" aria-labelledby="profile-name">
        <h1 id="profile-name">{profile.displayName}</h1>
        {profile.headline ? <p className="headline">{profile.headline}</p> : null}
        <p className="facts">
          <PresenceBadge presence={presence} />
          <span className="price">{formatPricePerMinute(profile.ratePerMinuteCents)}</span>
          <RatingSummaryText rating={profile.rating} />
        </p>
        {profile.tags.length > 0 ? (
          <ul className="tag-list" aria-label="Tags">
            {profile.tags.map((tag) => (
              <li key={tag}>
                <Link to={`/?tag=${encodeURIComponent(tag)}`}>{tag}</Link>
              </li>
            ))}
          </ul>
        ) : null}
      </section>

      <section aria-labelledby="actions-heading">
        <h2 id="actions-heading" className="visually-hidden">
          Talk to {profile.displayName}
        </h2>
        <div className="profile-actions">
          <form method="post" action="/calls/request" className="profile-actions">
            <CsrfInput />
            <input type="hidden" name="operatorId" value={profile.id} />
            <ChannelButtons
              callingProvider={profile.callingProvider}
              disabled={presence !== 'online'}
              describedBy={presence !== 'online' ? 'call-now-hint' : 'call-price-hint'}
            />
          </form>
          <a className="button secondary" href={`/calls/prepaid?operator=${profile.id}`}>
            Book a prepaid block
          </a>
          <Link className="button secondary" to={`/schedule/${profile.id}`}>
            Schedule a call
          </Link>
        </div>
        {presence === 'online' ? (
          <p id="call-price-hint">
            {formatPricePerMinute(profile.ratePerMinuteCents)}, billed from the moment you are both connected
            {profile.callingProvider ? `; on ${profile.displayName}’s own app, from when you say you are connected` : ''}.
          </p>
        ) : null}
        {presence !== 'online' ? (
          <p id="call-now-hint">
            {profile.displayName} is {presence === 'busy' ? 'in a call' : 'offline'} right now: schedule a call, or come back when they are online.
          </p>
        ) : null}
      </section>

      {profile.images.length > 0 || profile.video ? (
        <section aria-labelledby="media-heading">
          <h2 id="media-heading">Photos and video</h2>
          {profile.video ? (
            <div className="profile-video">
              <video controls preload="metadata" playsInline aria-label={`Introduction video of ${profile.displayName}`}>
                <source src={profile.video.url} />
                {profile.video.captionsUrl ? <track kind="captions" src={profile.video.captionsUrl} srcLang="en" label="English" default /> : null}
                Your browser cannot play this video. <a href={profile.video.url}>Download it</a>.
              </video>
            </div>
          ) : null}
          {profile.images.length > 0 ? (
            <div className="profile-media">
              {profile.images.map((image) => (
                <figure key={image.url}>
                  <img src={image.url} alt={image.altText} loading="lazy" />
                </figure>
              ))}
            </div>
          ) : null}
        </section>
      ) : null}

      {profile.bioHtml ? (
        <section aria-labelledby="about-heading">
          <h2 id="about-heading">About</h2>
          {/* Rendered from Markdown and sanitised on the server (storefront/markdown.server.ts). */}
          <div className="bio" dangerouslySetInnerHTML={{ __html: profile.bioHtml }} />
        </section>
      ) : null}

      <section aria-labelledby="availability-heading">
        <h2 id="availability-heading">Availability</h2>
        <p>
          Times are shown in <strong>{viewer.zone}</strong>
          {viewer.source === 'default' ? ' (choose your time zone below)' : ''}. {profile.displayName} keeps their hours in{' '}
          {profile.operatorTimeZone}.
        </p>
        <AvailabilityTable days={profile.availability} zone={viewer.zone} />
        <ZonePicker key={viewer.zone} zone={viewer.zone} zones={zones} />
      </section>

      <section aria-labelledby="reviews-heading">
        <h2 id="reviews-heading">Reviews</h2>
        {profile.reviews.length === 0 ? (
          <p>No reviews yet.</p>
        ) : (
          <ul className="reviews">
            {profile.reviews.map((review, index) => (
              <li key={index}>
                <p>
                  <span className="visually-hidden">{`${review.stars} out of 5 stars`}</span>
                  <span aria-hidden="true">{starText(review.stars)}</span> · {review.memberFirstName} · {review.date}
                </p>
                {review.comment ? <p>{review.comment}</p> : null}
              </li>
            ))}
          </ul>
        )}
      </section>
    </div>
  )
}
