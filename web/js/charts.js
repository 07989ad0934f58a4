// Small SVG charts, no dependencies: line charts over training steps (optional EMA smoothing and
// ±std bands, hover read-out) and heatmaps (MoE expert load per step). Each function returns an
// element to insert; sizes are in viewBox units, so charts scale with their container.

const NS = 'http://www.w3.org/2000/svg';
export const PALETTE = ['#4d6bfe', '#e8590c', '#2f9e44', '#ae3ec9', '#1098ad', '#f08c00', '#c2255c', '#5c940d'];

function svgEl(tag, attrs = {}, parent) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  if (parent) parent.append(e);
  return e;
}

/** A compact number: 12.3k, 0.0123, 1.2e-5. */
export function fmt(v) {
  if (v === null || v === undefined || !Number.isFinite(v)) return '–';
  const a = Math.abs(v);
  if (a === 0) return '0';
  if (a >= 1e6) return `${(v / 1e6).toFixed(a >= 1e7 ? 0 : 1)}M`;
  if (a >= 1e4) return `${(v / 1e3).toFixed(a >= 1e5 ? 0 : 1)}k`;
  if (a >= 100) return v.toFixed(0);
  if (a >= 1) return v.toFixed(2).replace(/\.?0+$/, '');
  if (a >= 1e-3) return v.toPrecision(3).replace(/\.?0+$/, '');
  return v.toExponential(1);
}

/** About `count` round tick values covering [lo, hi]. */
export function niceTicks(lo, hi, count = 5) {
  if (!(hi > lo)) return [lo];
  const raw = (hi - lo) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => (hi - lo) / s <= count) ?? 10 * mag;
  const out = [];
  for (let t = Math.ceil(lo / step) * step; t <= hi + step * 1e-9; t += step) out.push(Math.abs(t) < step * 1e-9 ? 0 : t);
  return out;
}

/** Debiased exponential moving average (TensorBoard's smoothing), weight in [0, 1). */
export function ema(points, weight) {
  if (!(weight > 0)) return points;
  let last = 0, n = 0;
  return points.map((p) => {
    if (!Number.isFinite(p.y)) return p;
    last = last * weight + (1 - weight) * p.y;
    n++;
    return { x: p.x, y: last / (1 - weight ** n) };
  });
}

let tooltip = null;
function showTooltip(html, x, y) {
  if (!tooltip) {
    tooltip = document.createElement('div');
    tooltip.className = 'tooltip';
    document.body.append(tooltip);
  }
  tooltip.innerHTML = html;
  tooltip.hidden = false;
  const r = tooltip.getBoundingClientRect();
  tooltip.style.left = `${Math.min(x + 12, window.innerWidth - r.width - 6)}px`;
  tooltip.style.top = `${Math.max(6, y - r.height - 10)}px`;
}
function hideTooltip() {
  if (tooltip) tooltip.hidden = true;
}
const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

/**
 * A line chart. series: [{name, points: [{x, y}], color?, band?: [{x, lo, hi}]}].
 * Options: smooth (EMA weight, drawn over the faint raw line when there are enough points), xLabel.
 */
export function lineChart(series, opts = {}) {
  const W = 480, H = 210, M = { l: 46, r: 10, t: 8, b: 24 };
  const wrap = document.createElement('div');
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart', role: 'img', 'aria-label': opts.title ?? series.map((s) => s.name).join(', ') }, wrap);
  const all = series.flatMap((s) => s.points.filter((p) => Number.isFinite(p.x) && Number.isFinite(p.y)));
  const bands = series.flatMap((s) => s.band ?? []);
  if (!all.length) {
    svgEl('text', { x: W / 2, y: H / 2, 'text-anchor': 'middle' }, svg).textContent = 'no data';
    return wrap;
  }
  let x0 = Math.min(...all.map((p) => p.x)), x1 = Math.max(...all.map((p) => p.x));
  let y0 = Math.min(...all.map((p) => p.y), ...bands.map((b) => b.lo)), y1 = Math.max(...all.map((p) => p.y), ...bands.map((b) => b.hi));
  if (x1 === x0) { x0 -= 1; x1 += 1; }
  if (y1 === y0) { const d = Math.abs(y0) * 0.1 || 1; y0 -= d; y1 += d; }
  const pad = (y1 - y0) * 0.06;
  y0 -= pad; y1 += pad;
  const sx = (x) => M.l + ((x - x0) / (x1 - x0)) * (W - M.l - M.r);
  const sy = (y) => H - M.b - ((y - y0) / (y1 - y0)) * (H - M.t - M.b);

  for (const t of niceTicks(y0, y1, 4)) {
    svgEl('line', { x1: M.l, x2: W - M.r, y1: sy(t), y2: sy(t), class: 'grid' }, svg);
    svgEl('text', { x: M.l - 6, y: sy(t) + 3.5, 'text-anchor': 'end' }, svg).textContent = fmt(t);
  }
  for (const t of niceTicks(x0, x1, 5)) {
    svgEl('text', { x: sx(t), y: H - M.b + 15, 'text-anchor': 'middle' }, svg).textContent = fmt(t);
  }
  svgEl('line', { x1: M.l, x2: W - M.r, y1: H - M.b, y2: H - M.b, class: 'axis' }, svg);

  const path = (pts) => {
    let d = '', pen = false;
    for (const p of pts) {
      if (!Number.isFinite(p.y) || !Number.isFinite(p.x)) { pen = false; continue; }
      d += `${pen ? 'L' : 'M'}${sx(p.x).toFixed(1)} ${sy(p.y).toFixed(1)}`;
      pen = true;
    }
    return d;
  };
  const drawn = series.map((s, i) => {
    const color = s.color ?? PALETTE[i % PALETTE.length];
    if (s.band?.length) {
      const top = s.band.map((b) => `${sx(b.x).toFixed(1)} ${sy(b.hi).toFixed(1)}`);
      const bottom = s.band.slice().reverse().map((b) => `${sx(b.x).toFixed(1)} ${sy(b.lo).toFixed(1)}`);
      svgEl('path', { d: `M${top.join('L')}L${bottom.join('L')}Z`, class: 'band', fill: color }, svg);
    }
    const smoothed = opts.smooth > 0 && s.points.length > 20 ? ema(s.points, opts.smooth) : null;
    if (smoothed) svgEl('path', { d: path(s.points), class: 'raw', stroke: color }, svg);
    svgEl('path', { d: path(smoothed ?? s.points), class: 'series', stroke: color, 'data-series': s.name }, svg);
    return { name: s.name, color, points: s.points };
  });

  // Hover: a vertical line at the nearest step and the values there.
  const hover = svgEl('line', { y1: M.t, y2: H - M.b, class: 'hover-line', visibility: 'hidden' }, svg);
  const overlay = svgEl('rect', { x: M.l, y: M.t, width: W - M.l - M.r, height: H - M.t - M.b, fill: 'transparent' }, svg);
  overlay.addEventListener('pointermove', (ev) => {
    const r = svg.getBoundingClientRect();
    const x = x0 + ((((ev.clientX - r.left) / r.width) * W - M.l) / (W - M.l - M.r)) * (x1 - x0);
    let best = null;
    for (const p of all) if (!best || Math.abs(p.x - x) < Math.abs(best.x - x)) best = p;
    if (!best) return;
    hover.setAttribute('x1', sx(best.x));
    hover.setAttribute('x2', sx(best.x));
    hover.setAttribute('visibility', 'visible');
    const rows = drawn.map((s) => {
      const p = s.points.find((q) => q.x === best.x);
      return p ? `<div><span style="color:${s.color}">●</span> ${esc(s.name)}: ${fmt(p.y)}</div>` : '';
    });
    showTooltip(`<div><b>${esc(opts.xLabel ?? 'step')} ${fmt(best.x)}</b></div>${rows.join('')}`, ev.clientX, ev.clientY);
  });
  overlay.addEventListener('pointerleave', () => {
    hover.setAttribute('visibility', 'hidden');
    hideTooltip();
  });

  if (series.length > 1 || opts.legend) {
    const legend = document.createElement('div');
    legend.className = 'legend';
    for (const s of drawn) {
      const item = document.createElement('span');
      item.innerHTML = `<i style="background:${s.color}"></i>${esc(s.name)}`;
      legend.append(item);
    }
    wrap.append(legend);
  }
  return wrap;
}

/** Diverging colour for log2(load / mean) in [-2, 2]: blue (under) → light (balanced) → red (over). */
function loadColor(r) {
  const t = Math.max(-1, Math.min(1, Math.log2(Math.max(r, 1e-6)) / 2));
  const mid = [246, 246, 240], hot = [214, 40, 57], cold = [44, 106, 210];
  const to = t >= 0 ? hot : cold, a = Math.abs(t);
  const c = mid.map((m, i) => Math.round(m + (to[i] - m) * a));
  return `rgb(${c[0]},${c[1]},${c[2]})`;
}

/**
 * An expert-load heatmap: columns are steps (binned to at most maxCols), rows are experts, colour is
 * tokens routed to the expert divided by the mean over experts at that step (1 = perfectly balanced).
 * rows: [{step, counts: number[]}].
 */
export function heatmap(rows, opts = {}) {
  const maxCols = opts.maxCols ?? 120;
  const wrap = document.createElement('div');
  const E = Math.max(0, ...rows.map((r) => r.counts.length));
  if (!rows.length || !E) {
    wrap.textContent = 'no expert-load data';
    return wrap;
  }
  // Bin steps: sum counts within a bin.
  const per = Math.ceil(rows.length / maxCols);
  const cols = [];
  for (let i = 0; i < rows.length; i += per) {
    const chunk = rows.slice(i, i + per);
    const sum = new Array(E).fill(0);
    for (const r of chunk) r.counts.forEach((c, e) => { sum[e] += Number(c) || 0; });
    cols.push({ from: chunk[0].step, to: chunk[chunk.length - 1].step, counts: sum });
  }
  const W = 480, M = { l: 34, r: 8, t: 6, b: 22 };
  const cellH = Math.max(3, Math.min(14, 180 / E));
  const H = M.t + M.b + cellH * E;
  const cw = (W - M.l - M.r) / cols.length;
  const svg = svgEl('svg', { viewBox: `0 0 ${W} ${H}`, class: 'chart heatmap', role: 'img', 'aria-label': opts.title ?? 'expert load' }, wrap);
  cols.forEach((col, j) => {
    const mean = col.counts.reduce((a, b) => a + b, 0) / E;
    col.counts.forEach((c, e) => {
      const ratio = mean > 0 ? c / mean : 1;
      const rect = svgEl('rect', { x: (M.l + j * cw).toFixed(2), y: (M.t + e * cellH).toFixed(2), width: (cw + 0.4).toFixed(2), height: (cellH + 0.4).toFixed(2), fill: loadColor(ratio) }, svg);
      rect.addEventListener('pointermove', (ev) => {
        const steps = col.from === col.to ? `step ${col.from}` : `steps ${col.from}–${col.to}`;
        showTooltip(`<div><b>${steps}</b>, expert ${e}</div><div>${fmt(c)} tokens · ${ratio.toFixed(2)}× mean</div>`, ev.clientX, ev.clientY);
      });
      rect.addEventListener('pointerleave', hideTooltip);
    });
  });
  const eTicks = E <= 16 ? [...Array(E).keys()] : niceTicks(0, E - 1, 4).map(Math.round);
  for (const e of eTicks) svgEl('text', { x: M.l - 5, y: M.t + (e + 0.5) * cellH + 3.5, 'text-anchor': 'end' }, svg).textContent = String(e);
  const s0 = rows[0].step, s1 = rows[rows.length - 1].step;
  for (const t of niceTicks(s0, s1, 5)) {
    const j = cols.findIndex((c) => c.to >= t);
    if (j >= 0) svgEl('text', { x: M.l + (j + 0.5) * cw, y: H - M.b + 15, 'text-anchor': 'middle' }, svg).textContent = fmt(t);
  }
  const legend = document.createElement('div');
  legend.className = 'legend';
  legend.innerHTML = ['¼×', '½×', '1× mean', '2×', '4×']
    .map((l, i) => `<span><i style="background:${loadColor(2 ** (i - 2))};height:10px;width:14px"></i>${l}</span>`)
    .join('');
  wrap.append(legend);
  return wrap;
}
