// Line charts of training curves as standalone SVG files, drawn by Vega-Lite (compiled to Vega and
// rendered headless, no browser or canvas needed). Each series is drawn raw (thin) with its moving
// average (thick) over `smooth` steps, so a noisy per-step metric still shows its trend.
import * as vega from 'vega';
import { compile } from 'vega-lite';
import type { TopLevelSpec } from 'vega-lite';

/** One curve: y over x (same length). */
export interface Series {
  name: string;
  x: number[];
  y: number[];
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
}

/** The Vega-Lite spec of a line chart (exported for tests and for anyone who wants to restyle it). */
export function lineChartSpec(o: LineChartOptions): TopLevelSpec {
  for (const s of o.series) {
    if (s.x.length !== s.y.length) throw new Error(`line chart "${o.title}": series ${s.name} has ${s.x.length} x values but ${s.y.length} y values`);
  }
  const values = o.series.flatMap((s) => s.x.map((x, i) => ({ series: s.name, x, y: s.y[i] })).filter((p) => Number.isFinite(p.y)));
  const color = { field: 'series', type: 'nominal' as const, title: null, legend: o.series.length > 1 ? {} : null };
  const x = { field: 'x', type: 'quantitative' as const, title: o.xTitle };
  const smooth = Math.max(1, Math.floor(o.smooth ?? 1));
  const raw = { mark: { type: 'line' as const, strokeWidth: 1, opacity: smooth > 1 ? 0.35 : 1 }, encoding: { x, y: { field: 'y', type: 'quantitative' as const, title: o.yTitle }, color } };
  const layers: NonNullable<Extract<TopLevelSpec, { layer: unknown }>['layer']> = [raw];
  if (smooth > 1) {
    const half = Math.floor(smooth / 2);
    layers.push({
      transform: [{ window: [{ op: 'mean', field: 'y', as: 'y_avg' }], frame: [-half, half], groupby: ['series'], sort: [{ field: 'x' }] }],
      mark: { type: 'line', strokeWidth: 2.5 },
      encoding: { x, y: { field: 'y_avg', type: 'quantitative', title: o.yTitle }, color },
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
