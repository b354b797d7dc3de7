import { callingAppName } from './calling-apps.js'

/**
 * How the member wants to talk, as the submit buttons of a request form (POST /calls/request): in the platform,
 * audio or video, or on the operator's outside app when they linked one. Each button sends its `channel`; Enter in the
 * form sends the first (audio).
 */
export function ChannelButtons(props: {
  callingProvider: string | null
  disabled?: boolean
  describedBy?: string
  labels?: { audio: string; video: string }
}) {
  const app = callingAppName(props.callingProvider)
  const labels = props.labels ?? { audio: 'Call now', video: 'Video call' }
  const common = { type: 'submit' as const, name: 'channel', disabled: props.disabled, 'aria-describedby': props.describedBy }
  return (
    <>
      <button {...common} value="audio">
        {labels.audio}
      </button>
      <button {...common} value="video" className="secondary">
        {labels.video}
      </button>
      {props.callingProvider ? (
        <button {...common} value="outside" className="secondary">
          {app ? `Call on ${app}` : 'Call on their own app'}
        </button>
      ) : null}
    </>
  )
}
