/**
 * A bar chart drawn on the server as SVG: no script, readable without JavaScript, with the figures also in a table
 * beside it for screen readers (the SVG is labelled as an image with a summary).
 */
export function BarChart({ title, points, format }: { title: string; points: { label: string; value: number }[]; format: (value: number) => string }) {
  const width = 600
  const height = 160
  const pad = { top: 10, bottom: 24, left: 4, right: 4 }
  const max = Math.max(1, ...points.map((p) => p.value))
  const slot = (width - pad.left - pad.right) / Math.max(1, points.length)
  const total = points.reduce((s, p) => s + p.value, 0)
  return (
    <figure>
      <svg className="chart" viewBox={`0 0 ${width} ${height}`} role="img" aria-label={`${title}: ${format(total)} in total, highest ${format(max)}`}>
        {points.map((p, i) => {
          const h = Math.round(((height - pad.top - pad.bottom) * p.value) / max)
          return (
            <g key={p.label}>
              <rect x={pad.left + i * slot + 1} y={height - pad.bottom - h} width={Math.max(1, slot - 2)} height={h} fill="#0969da">
                <title>{`${p.label}: ${format(p.value)}`}</title>
              </rect>
              {(i === 0 || i === points.length - 1 || i % 7 === 0) && (
                <text x={pad.left + i * slot} y={height - 8}>
                  {p.label.slice(5)}
                </text>
              )}
            </g>
          )
        })}
      </svg>
      <figcaption>{title}</figcaption>
    </figure>
  )
}
