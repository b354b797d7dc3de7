import type { ReactNode } from 'react'

/**
 * A table that scrolls sideways on its own on a narrow screen instead of widening the page: the scrolling region is
 * focusable (keyboard users can scroll it) and named by the table's caption, which screen readers also read.
 */
export function DataTable({ caption, className, children }: { caption: string; className?: string; children: ReactNode }) {
  return (
    <div className="table-scroll" tabIndex={0} role="region" aria-label={caption}>
      <table className={className}>
        <caption className="visually-hidden">{caption}</caption>
        {children}
      </table>
    </div>
  )
}
