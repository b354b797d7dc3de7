import { useId, type InputHTMLAttributes, type SelectHTMLAttributes, type TextareaHTMLAttributes } from 'react'

/** A labelled input with its hint and error tied to it for screen readers (aria-describedby, aria-invalid). */
export function Field({
  label,
  hint,
  error,
  ...input
}: { label: string; hint?: string; error?: string | null } & InputHTMLAttributes<HTMLInputElement> & { name: string }) {
  const id = useId()
  const hintId = `${id}-hint`
  const errorId = `${id}-error`
  const describedBy = [hint ? hintId : null, error ? errorId : null].filter(Boolean).join(' ') || undefined
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
      <input id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...input} />
      {error && (
        <p className="field-error" id={errorId}>
          {error}
        </p>
      )}
    </div>
  )
}

/** Field's label, hint and error around a textarea. */
export function TextAreaField({
  label,
  hint,
  error,
  ...textarea
}: { label: string; hint?: string; error?: string | null } & TextareaHTMLAttributes<HTMLTextAreaElement> & { name: string }) {
  const id = useId()
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      <textarea id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...textarea} />
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  )
}

/** Field's label, hint and error around a select of plain options. */
export function SelectField({
  label,
  hint,
  error,
  options,
  ...select
}: { label: string; hint?: string; error?: string | null; options: readonly string[] } & SelectHTMLAttributes<HTMLSelectElement> & { name: string }) {
  const id = useId()
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {hint && (
        <span className="hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
      <select id={id} aria-describedby={describedBy} aria-invalid={error ? true : undefined} {...select}>
        {options.map((option) => (
          <option key={option} value={option}>
            {option}
          </option>
        ))}
      </select>
      {error && (
        <p className="field-error" id={`${id}-error`}>
          {error}
        </p>
      )}
    </div>
  )
}

/** The form-level message of a failed action, announced to screen readers when it appears. */
export function FormError({ message }: { message?: string | null }) {
  if (!message) return null
  return (
    <div className="alert" role="alert">
      {message}
    </div>
  )
}
