#!/usr/bin/env node
// Batch-1 greedy decode (and prefill) timing of a shipped model, tinyseek only, for A/B runs of two
// builds in the same window: `node scripts/decode-timing.mjs [ROOT] [--runs N] [--new N] [--model DIR] [--speculative] [--quiet]`,
// where ROOT is a checkout whose dist/ and native/build/ are built (default: this one). Prompt 32
// tokens, 128 new tokens, as `bench decode`. Prints one JSON line per run (decode and prefill tok/s)
// and, at the end, the medians; *Cpu rates are per second of this process's CPU time (user + system),
// steadier than wall time on a loaded machine. Set TINYSEEK_NUM_THREADS / OPENBLAS_NUM_THREADS for the thread count.
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  if (i < 0) return dflt;
  const v = args[i + 1];
  args.splice(i, 2);
  return v;
};
const runs = Number(opt('--runs', 5));
const quiet = args.includes('--quiet') && (args.splice(args.indexOf('--quiet'), 1), true);
const speculative = args.includes('--speculative') && (args.splice(args.indexOf('--speculative'), 1), true);
const newTokens = Number(opt('--new', 128));
const modelDir = path.resolve(opt('--model', path.join(here, '..', 'models', 'tinyseek-r1-mini')));
const root = path.resolve(args[0] ?? path.join(here, '..'));
const imp = (p) => import(pathToFileURL(path.join(root, 'dist', 'src', p)).href);

const { loadModelDir } = await imp('infer/load.js');
const { Generator } = await imp('infer/generator.js');
const lm = loadModelDir(modelDir);
const V = lm.model.cfg.vocabSize;
const PROMPT = 32;
const prompt = Array.from({ length: PROMPT }, (_, i) => 10 + ((i * 37) % (V - 10)));

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); const m = s.length >> 1; return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2; };
const decode = [], prefill = [], decodeCpu = [], prefillCpu = [];
let firstTokens = null;
for (let r = 0; r < runs + 1; r++) {
  const gen = new Generator(lm.model, { maxBatch: 1, maxLen: PROMPT + newTokens + 2, speculative });
  let tFirst = 0, cFirst = 0;
  const cpu = () => { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; };
  const c0 = cpu(), t0 = performance.now();
  const [res] = await gen.generateAll([{ prompt, maxNewTokens: newTokens, sampling: { temperature: 0 }, onToken: (ev) => { if (ev.index === 0) { tFirst = performance.now(); cFirst = cpu(); } } }]);
  const t1 = performance.now(), c1 = cpu();
  if (firstTokens === null) firstTokens = res.tokens.join(',');
  else if (firstTokens !== res.tokens.join(',')) throw new Error('outputs differ between runs');
  if (r === 0) continue; // warm-up
  const d = (newTokens - 1) / ((t1 - tFirst) / 1000), p = PROMPT / ((tFirst - t0) / 1000);
  const dc = (newTokens - 1) / (c1 - cFirst), pc = PROMPT / (cFirst - c0);
  decode.push(d);
  prefill.push(p);
  decodeCpu.push(dc);
  prefillCpu.push(pc);
  if (!quiet) console.log(JSON.stringify({ root, run: r, decode: +d.toFixed(1), decodeCpu: +dc.toFixed(1), prefill: +p.toFixed(1), prefillCpu: +pc.toFixed(1) }));
}
console.log(JSON.stringify({ root, median: true, speculative, decode: +median(decode).toFixed(1), decodeMin: +Math.min(...decode).toFixed(1), decodeMax: +Math.max(...decode).toFixed(1), decodeCpu: +median(decodeCpu).toFixed(1), decodeCpuMin: +Math.min(...decodeCpu).toFixed(1), decodeCpuMax: +Math.max(...decodeCpu).toFixed(1), prefill: +median(prefill).toFixed(1), prefillCpu: +median(prefillCpu).toFixed(1), tokensHash: firstTokens.length + ':' + firstTokens.slice(0, 60) }));
