// Line charts of training curves as standalone SVG files, drawn by Vega-Lite (compiled to Vega and
// rendered headless, no browser or canvas needed). Each series is drawn raw (thin) with its moving
// average (thick) over `smooth` steps, so a noisy per-step metric still shows its trend.
// For scaling plots a series may instead be drawn as points, as a dashed fit line, or with a shaded
// band (a confidence interval), and either axis may be logarithmic.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** One curve: y over x (same length). */
export interface Series {
  name: string;
  x: number[];
  y: number[];
  /** 'line' (default), 'point' (measurements), 'line+point'. */
  mark?: 'line' | 'point' | 'line+point';
  /** Dashed line (a fitted law). */
  dash?: boolean;
  /** A shaded band around the line: lower and upper y per x. */
  band?: { lo: number[]; hi: number[] };
}

/** Options of a line chart. */
export interface LineChartOptions {
  title: string;
  xTitle: string;
  yTitle: string;
  series: Series[];
  /** Window (in points) of the centred moving average drawn over the raw curve; ≤ 1 draws raw only. */
  smooth?: number;
  width?: number;
  height?: number;
  /** Logarithmic axes (scaling laws are straight lines on log-log axes). */
  logX?: boolean;
  logY?: boolean;
}

function plainSeries(s: Series): boolean {
  return (s.mark ?? 'line') === 'line' && !s.dash && !s.band;
}

/** The Vega-Lite spec of a line chart (exported for tests and for anyone who wants to restyle it). */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  for (const s of o.series) {
    if (s.x.length !== s.y.length) throw new Error(`line chart "${o.title}": series ${s.name} has ${s.x.length} x values but ${s.y.length} y values`);
    if (s.band && (s.band.lo.length !== s.x.length || s.band.hi.length !== s.x.length)) {
      throw new Error(`line chart "${o.title}": series ${s.name} has ${s.x.length} x values but a band of ${s.band.lo.length} / ${s.band.hi.length}`);
    }
  }
  const positive = (v: number, log?: boolean) => Number.isFinite(v) && (!log || v > 0);
  const kind = (s: Series) => (plainSeries(s) ? 'plain' : `${s.mark ?? 'line'}${s.dash ? '-dash' : ''}`);
  const values = o.series.flatMap((s) => s.x.map((x, i) => ({ series: s.name, kind: kind(s), x, y: s.y[i], lo: s.band?.lo[i], hi: s.band?.hi[i] }))
    .filter((p) => positive(p.x, o.logX) && positive(p.y, o.logY)));
  const color = { field: 'series', type: 'nominal' as const, title: null, legend: o.series.length > 1 ? { labelLimit: 320 } : null };
  // Large values on a log axis read better as 3e+11 than as 300,000,000,000.
  const big = (k: 'x' | 'y') => Math.max(...values.map((v) => Math.abs(v[k]))) >= 1e5;
  const x = { field: 'x', type: 'quantitative' as const, title: o.xTitle, ...(o.logX ? { scale: { type: 'log' as const }, ...(big('x') ? { axis: { format: '.0e' } } : {}) } : {}) };
  const yScale = o.logY ? { scale: { type: 'log' as const }, ...(big('y') ? { axis: { format: '.0e' } } : {}) } : {};
  const smooth = Math.max(1, Math.floor(o.smooth ?? 1));
  const only = (k: string) => ({ filter: { field: 'kind', equal: k } });
  const raw = { transform: [only('plain')], mark: { type: 'line' as const, strokeWidth: 1, opacity: smooth > 1 ? 0.35 : 1 }, encoding: { x, y: { field: 'y', type: 'quantitative' as const, title: o.yTitle, ...yScale }, color } };
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [];
  const y = { field: 'y', type: 'quantitative' as const, title: o.yTitle, ...yScale };
  if (o.series.some((s) => s.band)) {
    layers.push({
      transform: [{ filter: 'isValid(datum.lo) && isValid(datum.hi)' }],
      mark: { type: 'area', opacity: 0.18 },
      encoding: { x, y: { field: 'lo', type: 'quantitative', title: o.yTitle, ...yScale }, y2: { field: 'hi' }, color },
    });
  }
  if (o.series.some(plainSeries)) layers.push(raw);
  for (const k of new Set(o.series.filter((s) => !plainSeries(s)).map(kind))) {
    const [m, dash] = k.split('-');
    if (m === 'line' || m === 'line+point') layers.push({ transform: [only(k)], mark: { type: 'line', strokeWidth: 1.5, ...(dash ? { strokeDash: [5, 3] } : {}), ...(m === 'line+point' ? { point: true } : {}) }, encoding: { x, y, color } });
    if (m === 'point') layers.push({ transform: [only(k)], mark: { type: 'point', filled: true, size: 40 }, encoding: { x, y, color } });
  }
  if (smooth > 1) {
    const half = Math.floor(smooth / 2);
    layers.push({
      transform: [only('plain'), { window: [{ op: 'mean', field: 'y', as: 'y_avg' }], frame: [-half, half], groupby: ['series'], sort: [{ field: 'x' }] }],
      mark: { type: 'line', strokeWidth: 2.5 },
      encoding: { x, y: { field: 'y_avg', type: 'quantitative', title: o.yTitle, ...yScale }, color },
    });
  }
  return {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    title: o.title,
    width: o.width ?? 460,
    height: o.height ?? 180,
    background: 'white',
    data: { values },
    layer: layers,
  } as TopLevelSpec;
}

/** Renders a line chart to an SVG document string. */
export async function lineChartSvg(o: LineChartOptions): Promise<string> {
  const view = new vega.View(vega.parse(compile(lineChartSpec(o)).spec), { renderer: 'none' });
  try {
    return (await view.toSVG()) + '\n';
  } finally {
    view.finalize();
  }
}
