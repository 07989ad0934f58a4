// The runs page: for the selected run under runs/, charts of loss, reward, completion length and KL
// over steps (plus every other numeric metric), the MoE expert-load heatmap per layer, and the
// evaluation tables of eval.json — all drawn from /api/runs/:name/metrics. Below the runs, the result
// reports of docs/results that have figures (scaling laws, test-time compute, …): #report:<name> shows
// a report's SVG figures from /api/reports.
import { lineChart, heatmap, fmt, PALETTE } from './charts.js';

const $ = (id) => document.getElementById(id);
const SETTINGS = 'tinyseek.runs';
const prefs = (() => {
  try { return { smooth: true, auto: true, ...JSON.parse(localStorage.getItem(SETTINGS) ?? '{}') }; } catch { return { smooth: true, auto: true }; }
})();
$('smooth').checked = prefs.smooth;
$('auto').checked = prefs.auto;

let runs = [];
let reports = [];
const REPORT = 'report:';
let selected = decodeURIComponent(location.hash.slice(1)) || null;
let lastData = null;

function apiHeaders() {
  try {
    const key = JSON.parse(localStorage.getItem('tinyseek.settings') ?? '{}').apiKey;
    return key ? { Authorization: `Bearer ${key}` } : {};
  } catch {
    return {};
  }
}

async function getJson(url) {
  const res = await fetch(url, { headers: apiHeaders() });
  const body = await res.json().catch(() => null);
  if (!res.ok) throw new Error(body?.error?.message ?? `HTTP ${res.status}`);
  return body;
}

const esc = (s) => String(s).replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c]);

function ago(ms) {
  const s = (Date.now() - ms) / 1000;
  if (s < 90) return `${Math.max(0, Math.round(s))} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return new Date(ms).toLocaleDateString();
}

// ---------- metrics → series ----------

const num = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
const IGNORED = new Set(['step', 'time', 'timestamp', 'epoch', 'elapsed', 'wall_time', 'expert_load']);

function points(rows, key) {
  const out = [];
  rows.forEach((r, i) => {
    const y = num(r[key]);
    if (y !== null) out.push({ x: num(r.step) ?? i, y });
  });
  return out;
}

function numericKeys(rows) {
  const keys = new Set();
  for (const r of rows) for (const [k, v] of Object.entries(r)) if (num(v) !== null && !IGNORED.has(k)) keys.add(k);
  return [...keys];
}

/** The chart groups: [title, keys, options]. */
function groups(keys) {
  const used = new Set();
  const take = (pred) => {
    const ks = keys.filter((k) => !used.has(k) && pred(k));
    ks.forEach((k) => used.add(k));
    return ks;
  };
  const g = [];
  const loss = take((k) => k === 'loss' || /(^|[/_])loss$/.test(k) || k.startsWith('loss/') || k === 'ce' || k === 'mtp');
  if (loss.length) g.push({ title: 'Loss', keys: loss });
  const hasStd = keys.includes('reward_std');
  const reward = take((k) => k === 'reward' || k === 'reward_mean' || k === 'rewards/mean');
  if (hasStd) used.add('reward_std');
  if (reward.length) g.push({ title: 'Reward', keys: reward, band: hasStd ? 'reward_std' : null });
  const perFn = take((k) => k.startsWith('rewards/') && !k.endsWith('/std'));
  keys.filter((k) => k.startsWith('rewards/') && k.endsWith('/std')).forEach((k) => used.add(k));
  if (perFn.length) g.push({ title: 'Reward by function', keys: perFn });
  const len = take((k) => /length/.test(k) && (k.startsWith('completions/') || k.startsWith('completion')));
  if (len.length) g.push({ title: 'Completion length', keys: len });
  const kl = take((k) => k === 'kl' || k === 'kl_div' || k.startsWith('kl/') || k === 'objective/kl');
  if (kl.length) g.push({ title: 'KL', keys: kl });
  // Distributed GRPO rollouts (tinyseek grpo --rollout-workers): the queue, the workers, their throughput, the staleness.
  const queue = take((k) => k === 'rollout/queue_depth' || k === 'rollout/active_jobs' || k === 'rollout/workers');
  if (queue.length) g.push({ title: 'Rollout queue and workers', keys: queue });
  const rtok = take((k) => k === 'rollout/tokens_per_s');
  if (rtok.length) g.push({ title: 'Rollout tokens/s', keys: rtok });
  const stale = take((k) => k.startsWith('rollout/staleness_') || k === 'rollout/learner_idle_frac');
  if (stale.length) g.push({ title: 'Rollout staleness and learner idle fraction', keys: stale });
  const rest = keys.filter((k) => !used.has(k)).sort();
  return { main: g, rest };
}

/** Expert load in any of the shapes trainers write → [{layer, rows: [{step, counts}]}]. */
export function expertLoadLayers(rows) {
  const layers = new Map();
  const add = (label, step, counts) => {
    if (!Array.isArray(counts) || !counts.every((c) => typeof c === 'number')) return;
    if (!layers.has(label)) layers.set(label, []);
    layers.get(label).push({ step, counts });
  };
  rows.forEach((r, i) => {
    const v = r.expert_load;
    const step = num(r.step) ?? i;
    if (!v) return;
    if (Array.isArray(v)) {
      if (v.every((c) => typeof c === 'number')) add('0', step, v);
      else v.forEach((x, j) => {
        if (Array.isArray(x)) add(String(j), step, x);
        else if (x && typeof x === 'object') add(String(x.layer ?? j), step, x.counts);
      });
    } else if (typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) add(k, step, Array.isArray(x) ? x : x?.counts);
    }
  });
  return [...layers.entries()].sort((a, b) => Number(a[0]) - Number(b[0]) || a[0].localeCompare(b[0])).map(([layer, rows]) => ({ layer, rows }));
}

// ---------- eval.json → tables ----------

const isScalar = (v) => v === null || ['number', 'string', 'boolean'].includes(typeof v);
const looksLikeRate = (k, v) => typeof v === 'number' && v >= 0 && v <= 1 && (/acc|pass|rate|score|correct|format|frac|pct/i.test(k) || !Number.isInteger(v));

function cell(key, v) {
  const td = document.createElement('td');
  if (typeof v === 'number') {
    td.className = 'num';
    if (looksLikeRate(key, v)) {
      td.innerHTML = `${(v * 100).toFixed(1)}% <span class="bar-track"><span class="bar" style="width:${(v * 80).toFixed(0)}px"></span></span>`;
    } else td.textContent = Number.isInteger(v) ? v.toLocaleString() : fmt(v);
  } else td.textContent = v === null || v === undefined ? '–' : typeof v === 'object' ? JSON.stringify(v) : String(v);
  return td;
}

function table(headers, rows) {
  const wrap = document.createElement('div');
  wrap.className = 'scroll-x';
  const t = document.createElement('table');
  t.className = 'eval';
  t.innerHTML = `<thead><tr>${headers.map((h) => `<th>${esc(h)}</th>`).join('')}</tr></thead>`;
  const tb = document.createElement('tbody');
  for (const r of rows) {
    const tr = document.createElement('tr');
    r.forEach(([k, v], i) => {
      if (i === 0 && typeof v === 'string') {
        const th = document.createElement('td');
        th.textContent = v;
        tr.append(th);
      } else tr.append(cell(k, v));
    });
    tb.append(tr);
  }
  t.append(tb);
  wrap.append(t);
  return wrap;
}

/** Renders any JSON value as tables (objects of objects → one row per key). */
export function evalView(v, depth = 0) {
  const box = document.createElement('div');
  if (isScalar(v)) {
    box.textContent = String(v);
    return box;
  }
  if (Array.isArray(v)) {
    if (v.every((x) => x && typeof x === 'object' && !Array.isArray(x))) {
      const cols = [...new Set(v.flatMap((x) => Object.keys(x).filter((k) => isScalar(x[k]))))];
      box.append(table(cols, v.map((x) => cols.map((c) => [c, x[c]]))));
    } else box.append(table(['#', 'value'], v.map((x, i) => [['#', String(i)], ['value', x]])));
    return box;
  }
  const entries = Object.entries(v);
  if (entries.every(([, x]) => isScalar(x))) {
    box.append(table(['metric', 'value'], entries.map(([k, x]) => [['metric', k], [k, x]])));
    return box;
  }
  const objs = entries.filter(([, x]) => x && typeof x === 'object' && !Array.isArray(x) && Object.values(x).every(isScalar));
  if (objs.length === entries.length) {
    const cols = [...new Set(objs.flatMap(([, x]) => Object.keys(x)))];
    box.append(table(['', ...cols], objs.map(([k, x]) => [['', k], ...cols.map((c) => [c, x[c]])])));
    return box;
  }
  const scalars = entries.filter(([, x]) => isScalar(x));
  if (scalars.length) box.append(table(['metric', 'value'], scalars.map(([k, x]) => [['metric', k], [k, x]])));
  for (const [k, x] of entries) {
    if (isScalar(x)) continue;
    const h = document.createElement(depth ? 'h5' : 'h4');
    h.textContent = k;
    box.append(h, evalView(x, depth + 1));
  }
  return box;
}

// ---------- page ----------

function card(title, content, last) {
  const c = document.createElement('section');
  c.className = 'card';
  const h = document.createElement('h4');
  h.innerHTML = `<span>${esc(title)}</span>${last !== undefined ? `<span class="last">${esc(last)}</span>` : ''}`;
  c.append(h, content);
  return c;
}

function renderReportList() {
  const ul = $('reports');
  ul.replaceChildren();
  $('reports-h').hidden = reports.length === 0;
  for (const r of reports) {
    const li = document.createElement('li');
    if (selected === REPORT + r.name) li.className = 'active';
    li.innerHTML = `<a href="#${REPORT}${encodeURIComponent(r.name)}">${esc(r.title)}<span class="sub">${esc(r.name)} · ${r.figures.length} figure${r.figures.length === 1 ? '' : 's'}</span></a>`;
    ul.append(li);
  }
}

function renderReport(r) {
  const head = document.createElement('div');
  head.innerHTML = `<h2>${esc(r.title)}</h2><div class="summary">docs/results/${esc(r.name)}.md · ${r.figures.length} figure${r.figures.length === 1 ? '' : 's'}</div>`;
  const grid = document.createElement('div');
  grid.className = 'figures';
  for (const f of r.figures) {
    const img = document.createElement('img');
    img.src = `/api/reports/${encodeURIComponent(f)}`;
    img.alt = f.slice(r.name.length + 1, -4).replace(/-/g, ' ');
    img.loading = 'lazy';
    grid.append(card(img.alt, img));
  }
  $('run').replaceChildren(head, grid);
}

function renderList() {
  const ul = $('runs');
  ul.replaceChildren();
  $('no-runs').hidden = runs.length > 0;
  for (const r of runs) {
    const li = document.createElement('li');
    if (r.name === selected) li.className = 'active';
    li.innerHTML = `<a href="#${encodeURIComponent(r.name)}">${esc(r.name)}<span class="sub">${r.lastStep !== null ? `step ${r.lastStep}` : `${r.lines} rows`} · ${ago(r.updated)}</span></a>`;
    ul.append(li);
  }
}

function renderRun(data) {
  const main = $('run');
  const smooth = $('smooth').checked ? 0.6 : 0;
  const rows = data.rows;
  const head = document.createElement('div');
  const last = rows[rows.length - 1] ?? {};
  const info = runs.find((r) => r.name === data.name);
  head.innerHTML = `<h2>${esc(data.name)}</h2><div class="summary">${rows.length} rows${data.sampled ? ' (thinned)' : ''} · last step ${esc(last.step ?? '–')}${info ? ` · updated ${ago(info.updated)}` : ''}${data.skipped ? ` · ${data.skipped} unreadable line(s) skipped` : ''}</div>`;
  const out = [head];

  const keys = numericKeys(rows);
  const { main: g, rest } = groups(keys);
  if (g.length) {
    const grid = document.createElement('div');
    grid.className = 'charts';
    for (const grp of g) {
      const series = grp.keys.map((k, i) => {
        const s = { name: k, points: points(rows, k), color: PALETTE[i % PALETTE.length] };
        if (grp.band && k === grp.keys[0]) {
          s.band = rows.flatMap((r, j) => {
            const m = num(r[k]), sd = num(r[grp.band]);
            return m !== null && sd !== null ? [{ x: num(r.step) ?? j, lo: m - sd, hi: m + sd }] : [];
          });
        }
        return s;
      });
      const lastVal = series[0].points[series[0].points.length - 1]?.y;
      const chart = lineChart(series, { smooth, title: grp.title, legend: grp.keys.length > 1 || !!grp.band });
      if (grp.band) chart.querySelector('.legend')?.insertAdjacentHTML('beforeend', `<span class="muted">band: ±${esc(grp.band)}</span>`);
      grid.append(card(grp.title, chart, fmt(lastVal)));
    }
    out.push(grid);
  } else if (!rows.length) {
    out.push(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'No metric rows yet.' }));
  }

  const layers = expertLoadLayers(rows);
  if (layers.length) {
    const h = document.createElement('h3');
    h.textContent = 'MoE expert load';
    const sub = document.createElement('p');
    sub.className = 'muted';
    sub.textContent = 'Tokens routed to each expert (rows) over steps (columns), relative to the mean over experts: red = overloaded, blue = underused.';
    const grid = document.createElement('div');
    grid.className = 'heatmaps';
    for (const l of layers) {
      const lastCounts = l.rows[l.rows.length - 1].counts;
      const mean = lastCounts.reduce((a, b) => a + b, 0) / lastCounts.length;
      const maxVio = mean > 0 ? (Math.max(...lastCounts) - mean) / mean : 0;
      grid.append(card(`Layer ${l.layer}`, heatmap(l.rows, { title: `expert load, layer ${l.layer}` }), `MaxVio ${maxVio.toFixed(2)}`));
    }
    out.push(h, sub, grid);
  }

  if (rest.length) {
    const h = document.createElement('h3');
    h.textContent = 'Other metrics';
    const grid = document.createElement('div');
    grid.className = 'charts small';
    for (const k of rest) {
      const p = points(rows, k);
      grid.append(card(k, lineChart([{ name: k, points: p }], { smooth, title: k }), fmt(p[p.length - 1]?.y)));
    }
    out.push(h, grid);
  }

  if (data.eval !== null && data.eval !== undefined) {
    const h = document.createElement('h3');
    h.textContent = 'Evaluation';
    out.push(h, evalView(data.eval));
  }
  main.replaceChildren(...out);
}

async function refresh() {
  try {
    [runs, reports] = await Promise.all([getJson('/api/runs').then((x) => x.runs), getJson('/api/reports').then((x) => x.reports).catch(() => [])]);
  } catch (e) {
    $('run').replaceChildren(Object.assign(document.createElement('div'), { className: 'error-box', textContent: `Cannot list runs: ${e.message}` }));
    return;
  }
  const report = selected?.startsWith(REPORT) ? reports.find((r) => REPORT + r.name === selected) : undefined;
  if (!report && (!selected || !runs.some((r) => r.name === selected))) selected = runs[0]?.name ?? (reports[0] ? REPORT + reports[0].name : null);
  renderList();
  renderReportList();
  const shown = selected?.startsWith(REPORT) ? reports.find((r) => REPORT + r.name === selected) : undefined;
  if (shown) {
    // A report's figures do not change while the page is open: drawn once, not on every auto-refresh.
    if ($('run').dataset.report !== shown.name) {
      renderReport(shown);
      $('run').dataset.report = shown.name;
    }
    return;
  }
  delete $('run').dataset.report;
  if (!selected) {
    $('run').replaceChildren(Object.assign(document.createElement('p'), { className: 'muted', textContent: 'No runs to show.' }));
    return;
  }
  try {
    lastData = await getJson(`/api/runs/${encodeURIComponent(selected)}/metrics`);
    renderRun(lastData);
  } catch (e) {
    $('run').replaceChildren(Object.assign(document.createElement('div'), { className: 'error-box', textContent: `Cannot read run ${selected}: ${e.message}` }));
  }
}

window.addEventListener('hashchange', () => {
  selected = decodeURIComponent(location.hash.slice(1)) || null;
  refresh();
});
for (const id of ['smooth', 'auto']) {
  $(id).addEventListener('change', () => {
    prefs[id] = $(id).checked;
    localStorage.setItem(SETTINGS, JSON.stringify(prefs));
    if (id === 'smooth' && lastData && !selected?.startsWith(REPORT)) renderRun(lastData);
  });
}
setInterval(() => {
  if ($('auto').checked && document.visibilityState === 'visible') refresh();
}, 10_000);
refresh();
