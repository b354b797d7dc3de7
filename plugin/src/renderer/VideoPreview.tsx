import { useEffect, useRef, useState } from 'react'
import type { VideoUploadState } from '../core/plugin-state.js'
import { useAction, useApi } from './perminute.js'
import { ErrorMessage } from './ErrorMessage.js'

/** A preview is a short greeting: recording stops by itself after this long. */
export const MAX_RECORDING_SECONDS = 30
const VIDEO_BITS_PER_SECOND = 1_000_000
const MIME_TYPES = ['video/webm;codecs=vp9,opus', 'video/webm;codecs=vp8,opus', 'video/webm']

type Stage = { name: 'off' } | { name: 'camera' } | { name: 'recording'; secondsLeft: number } | { name: 'recorded'; blob: Blob; url: string }

/** The platform takes WebM or MP4; a recorder that names its container otherwise is sent as WebM. */
function uploadType(blob: Blob): string {
  return /^video\/(webm|mp4)\b/i.test(blob.type) ? blob.type : 'video/webm'
}

export function VideoPreview({ video }: { video: VideoUploadState }) {
  const api = useApi()
  const [stage, setStage] = useState<Stage>({ name: 'off' })
  const [cameraError, setCameraError] = useState<string | null>(null)
  const [upload, uploading, uploadError] = useAction(api.uploadVideo)
  const stream = useRef<MediaStream | null>(null)
  const recorder = useRef<MediaRecorder | null>(null)
  const live = useRef<HTMLVideoElement | null>(null)

  const stopCamera = () => {
    for (const track of stream.current?.getTracks() ?? []) track.stop()
    stream.current = null
  }
  useEffect(() => () => stopCamera(), [])
  useEffect(() => {
    if (live.current && stream.current && live.current.srcObject !== stream.current) live.current.srcObject = stream.current
  })
  useEffect(() => {
    if (stage.name !== 'recorded') return
    return () => URL.revokeObjectURL(stage.url)
  }, [stage])

  const turnOnCamera = async () => {
    setCameraError(null)
    try {
      stream.current = await navigator.mediaDevices.getUserMedia({ video: { width: 640, height: 360 }, audio: true })
      setStage({ name: 'camera' })
    } catch (error) {
      setCameraError(`The camera could not be used (${(error as Error).name}). Check that no other app holds it.`)
    }
  }

  const record = () => {
    if (!stream.current) return
    const mimeType = MIME_TYPES.find((type) => MediaRecorder.isTypeSupported(type))
    const chunks: Blob[] = []
    const started = new MediaRecorder(stream.current, { mimeType, videoBitsPerSecond: VIDEO_BITS_PER_SECOND })
    recorder.current = started
    let secondsLeft = MAX_RECORDING_SECONDS
    const countdown = setInterval(() => {
      secondsLeft -= 1
      if (secondsLeft <= 0) started.stop()
      else setStage({ name: 'recording', secondsLeft })
    }, 1000)
    started.ondataavailable = (event) => {
      if (event.data.size > 0) chunks.push(event.data)
    }
    started.onstop = () => {
      clearInterval(countdown)
      const blob = new Blob(chunks, { type: started.mimeType || 'video/webm' })
      stopCamera()
      setStage({ name: 'recorded', blob, url: URL.createObjectURL(blob) })
    }
    started.start(1000)
    setStage({ name: 'recording', secondsLeft })
  }

  const send = async (blob: Blob) => {
    // Once on the profile, this recording is done with: the section offers a new one.
    if (await upload({ bytes: await blob.arrayBuffer(), contentType: uploadType(blob) })) setStage({ name: 'off' })
  }

  return (
    <section aria-labelledby="video-title" className="panel">
      <h2 id="video-title">Video preview</h2>
      <p className="quiet">A short greeting members see on your profile (at most {MAX_RECORDING_SECONDS} seconds).</p>
      {(stage.name === 'camera' || stage.name === 'recording') && (
        <video ref={live} className="preview" autoPlay muted playsInline aria-label="Camera preview" />
      )}
      {stage.name === 'recorded' && <video className="preview" src={stage.url} controls aria-label="Your recording" />}
      <ErrorMessage text={cameraError} />
      {video.status === 'failed' && <ErrorMessage text={video.message ?? uploadError} />}
      {video.status === 'uploaded' && stage.name !== 'recording' && (
        <p className="notice success" role="status">
          Uploaded: your profile shows this video.
        </p>
      )}
      <div className="actions">
        {stage.name === 'off' && (
          <button type="button" className="secondary" onClick={() => void turnOnCamera()}>
            {video.status === 'uploaded' ? 'Record a new preview' : 'Turn on camera'}
          </button>
        )}
        {stage.name === 'camera' && (
          <button type="button" onClick={record}>
            Record
          </button>
        )}
        {stage.name === 'recording' && (
          <button type="button" className="danger" onClick={() => recorder.current?.stop()}>
            Stop ({stage.secondsLeft} s left)
          </button>
        )}
        {stage.name === 'recorded' && (
          <>
            <button type="button" onClick={() => void send(stage.blob)} disabled={uploading || video.status === 'uploading'}>
              {uploading || video.status === 'uploading' ? 'Uploading…' : 'Upload to my profile'}
            </button>
            <button type="button" className="secondary" onClick={() => void turnOnCamera()} disabled={uploading}>
              Record again
            </button>
          </>
        )}
      </div>
    </section>
  )
}
