/** A failure next to the control that caused it, announced to screen readers; nothing when there is none. */
export function ErrorMessage({ text }: { text: string | null | undefined }) {
  if (!text) return null
  return (
    <p className="error" role="alert">
      {text}
    </p>
  )
}
