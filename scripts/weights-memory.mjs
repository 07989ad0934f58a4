// Memory and start-up of a model directory loaded with each `weights` mode (issue #15: 16-bit
// resident weights, memory-mapped loading): for each mode, a fresh Node process (--expose-gc) loads
// the model and reports
//   load_ms      — wall time of loadModel
//   weight_bytes — bytes the model's weights occupy: float32 tensors + 16-bit resident Linear weights
//   rss_*        — resident set size before loadModel, after it, and after generating --generate N
//                  greedy tokens from a short prompt (after a full GC each time). Memory-mapped pages
//                  count in RSS once touched, but they are clean file pages the kernel can drop.
// Modes: f32, bf16, f16, and bf16+mmap / f16+mmap (loadModel's mmap option).
// Usage: node scripts/weights-memory.mjs [DIR] [--modes f32,bf16,bf16+mmap] [--generate N] [--random-moe]
//   DIR default: models/tinyseek-r1-mini. --random-moe: instead, a random BF16 MoE of 64 experts per
//   layer (about 100 M parameters, built once under the system's temp directory).
// Run `npx tsc -p tsconfig.json` first (it imports dist/).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const opt = (name) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : undefined; };
const modes = (opt('--modes') ?? 'f32,bf16,bf16+mmap').split(',');
const generate = Number(opt('--generate') ?? 16);
const positional = args.filter((a, i) => !a.startsWith('--') && !['--modes', '--generate'].includes(args[i - 1]));
let dir = path.resolve(positional[0] ?? path.join(root, 'models/tinyseek-r1-mini'));

if (args.includes('--random-moe')) {
  dir = path.join(os.tmpdir(), 'tinyseek-random-moe-64e');
  if (!fs.existsSync(path.join(dir, 'config.json'))) {
    const make = `
const { getPreset } = await import(${JSON.stringify(path.join(root, 'dist/src/model/presets.js'))});
const { DeepseekV3 } = await import(${JSON.stringify(path.join(root, 'dist/src/model/model.js'))});
const { saveModel } = await import(${JSON.stringify(path.join(root, 'dist/src/model/checkpoint.js'))});
const fs = await import('node:fs');
const path = await import('node:path');
const cfg = { ...getPreset('mini'), hiddenSize: 512, numHiddenLayers: 4, firstKDenseReplace: 1, nRoutedExperts: 64, numExpertsPerTok: 6, nGroup: 8, topkGroup: 4, moeIntermediateSize: 384, numNextnPredictLayers: 0 };
const m = new DeepseekV3(cfg, 1);
const src = ${JSON.stringify(path.join(root, 'models/tinyseek-r1-mini'))};
const tokenizerFiles = Object.fromEntries(['tokenizer.json', 'tokenizer_config.json'].map((f) => [f, fs.readFileSync(path.join(src, f))]));
saveModel(process.argv[1], m, { layout: 'bf16', tokenizerFiles });
console.log(m.numParameters());
`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', make, dir], { encoding: 'utf8' });
    if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
  }
}

const child = `
const { loadModel } = await import(${JSON.stringify(path.join(root, 'dist/src/model/checkpoint.js'))});
const { Linear } = await import(${JSON.stringify(path.join(root, 'dist/src/nn/layers.js'))});
const { Generator } = await import(${JSON.stringify(path.join(root, 'dist/src/infer/generator.js'))});
const [spec, dir, n] = process.argv.slice(1);
const [mode, how] = spec.split('+');
global.gc(); global.gc();
const before = process.memoryUsage();
const t0 = performance.now();
const m = loadModel(dir, { weights: mode, mmap: how === 'mmap', onWarning: () => {} });
const loadMs = performance.now() - t0;
m.eval();
global.gc(); global.gc();
const after = process.memoryUsage();
let f32 = 0, w16 = 0, kept = 0;
for (const [, t] of m.namedTensors()) f32 += t.storage.data.byteLength;
for (const [, l] of m.namedModules()) if (l instanceof Linear && l.weight16) { w16 += l.weight16.bits.byteLength; kept++; }
let gen = after;
if (Number(n) > 0) {
  const g = new Generator(m, { maxBatch: 1, maxLen: 64 });
  await g.generateAll([{ prompt: [1, 5, 9, 42, 7], maxNewTokens: Number(n), sampling: { temperature: 0 } }]);
  global.gc(); global.gc();
  gen = process.memoryUsage();
}
console.log(JSON.stringify({ mode: spec, load_ms: loadMs, weight_bytes: f32 + w16, float32_bytes: f32, resident16_bytes: w16, linears_16bit: kept,
  rss_before: before.rss, rss_after: after.rss, rss_growth: after.rss - before.rss, rss_after_generate: gen.rss }));
`;
const rows = [];
for (const mode of modes) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', child, mode, dir, String(generate)], { encoding: 'utf8' });
  if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
  rows.push(JSON.parse(r.stdout.trim().split('\n').pop()));
}
const mb = (b) => (b / 2 ** 20).toFixed(2);
const bytes = fs.readdirSync(dir).filter((f) => f.endsWith('.safetensors')).reduce((a, f) => a + fs.statSync(path.join(dir, f)).size, 0);
console.log(`model: ${dir} (${mb(bytes)} MiB of safetensors); RSS after a full GC; "after gen": after ${generate} greedy tokens`);
for (const r of rows) {
  console.log(`${r.mode.padEnd(9)} load ${r.load_ms.toFixed(0).padStart(6)} ms  weights ${mb(r.weight_bytes)} MiB (float32 ${mb(r.float32_bytes)}, 16-bit ${mb(r.resident16_bytes)} in ${r.linears_16bit} Linear layers)  ` +
    `RSS ${mb(r.rss_before)} → ${mb(r.rss_after)} MiB (+${mb(r.rss_growth)}), after gen ${mb(r.rss_after_generate)} MiB`);
}
const base = rows[0];
for (const r of rows.slice(1)) console.log(`${r.mode}/${base.mode}: load time ${(r.load_ms / base.load_ms).toFixed(3)}, RSS growth ${(r.rss_growth / base.rss_growth).toFixed(3)}, RSS after gen ${(r.rss_after_generate / base.rss_after_generate).toFixed(3)}`);
