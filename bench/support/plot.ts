import * as vega from 'vega'
import { compile, type TopLevelSpec } from 'vega-lite'

/**
 * The lag-over-time picture of a benchmark run, as an SVG file rendered with Vega-Lite (no browser, no canvas):
 * each hold's lag at its period boundary, the 99th percentile per time window drawn over it, and the number of calls
 * running below, on the same time axis, so the moment lag starts to grow can be read against the load.
 */

export interface LagPoint {
  /** Seconds since the calls began. */
  t: number
  lagMs: number
  period: number
}

export interface LoadPoint {
  t: number
  active: number
}

/** At most this many dots: beyond it an SVG grows to megabytes and shows nothing more. */
const MAX_POINTS = 4_000

export function percentileWindows(points: readonly LagPoint[], windowS: number): Array<{ t: number; p99: number; p50: number }> {
  const windows = new Map<number, number[]>()
  for (const p of points) {
    const w = Math.floor(p.t / windowS)
    let list = windows.get(w)
    if (!list) windows.set(w, (list = []))
    list.push(p.lagMs)
  }
  return [...windows.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([w, values]) => {
      values.sort((a, b) => a - b)
      const at = (q: number) => values[Math.min(values.length - 1, Math.max(0, Math.ceil(q * values.length) - 1))]!
      return { t: (w + 0.5) * windowS, p99: at(0.99), p50: at(0.5) }
    })
}

export async function lagOverTimeSvg(input: { title: string; lags: readonly LagPoint[]; load: readonly LoadPoint[]; targetMs?: number }): Promise<string> {
  const stride = Math.max(1, Math.ceil(input.lags.length / MAX_POINTS))
  const dots = input.lags.filter((_, i) => i % stride === 0).map((p) => ({ ...p, kind: p.period === 1 ? 'period 1 (call start)' : 'periods 2… (timer)' }))
  const span = Math.max(1, ...input.lags.map((p) => p.t), ...input.load.map((p) => p.t))
  const windowS = Math.max(1, Math.round(span / 60))
  const windows = percentileWindows(input.lags.filter((p) => p.period >= 2), windowS)
  const x = { field: 't', type: 'quantitative' as const, title: 'seconds since the calls began', scale: { domain: [0, span] } }
  const spec: TopLevelSpec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: input.title,
    vconcat: [
      {
        width: 720,
        height: 260,
        layer: [
          {
            data: { values: dots },
            mark: { type: 'point', filled: true, size: 8, opacity: 0.35 },
            encoding: {
              x,
              y: { field: 'lagMs', type: 'quantitative', title: 'hold lag after the period began (ms)' },
              color: { field: 'kind', type: 'nominal', title: null, legend: { orient: 'top-left' } },
            },
          },
          {
            data: { values: windows },
            mark: { type: 'line', color: '#d62728', strokeWidth: 2 },
            encoding: { x, y: { field: 'p99', type: 'quantitative' } },
          },
          ...(input.targetMs
            ? [
                {
                  data: { values: [{ target: input.targetMs }] },
                  mark: { type: 'rule' as const, strokeDash: [4, 4], color: '#555' },
                  encoding: { y: { field: 'target', type: 'quantitative' as const } },
                },
              ]
            : []),
        ],
      },
      {
        width: 720,
        height: 110,
        data: { values: input.load },
        mark: { type: 'area', opacity: 0.5, line: true },
        encoding: { x, y: { field: 'active', type: 'quantitative', title: 'calls running' } },
      },
    ],
  }
  const view = new vega.View(vega.parse(compile(spec).spec), { renderer: 'none' })
  const svg = await view.toSVG()
  view.finalize()
  return `${svg}\n<!-- red line: p99 of periods 2… per ${windowS}-s window; dashed: the ${input.targetMs ?? '–'} ms target -->\n`
}
