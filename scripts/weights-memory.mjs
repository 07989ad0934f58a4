// Memory of a model directory loaded with each `weights` mode (issue #15, 16-bit resident weights):
// for each mode, a fresh Node process (--expose-gc) loads the model and reports
//   weight_bytes — bytes the model's weights occupy: float32 tensors + 16-bit resident Linear weights
//   rss_before / rss_after — resident set size before loadModel and after it (after a full GC)
// Usage: node scripts/weights-memory.mjs [DIR] [--modes f32,bf16]   (DIR default: models/tinyseek-r1-mini)
// Run `npx tsc -p tsconfig.json` first (it imports dist/).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const args = process.argv.slice(2);
const modesAt = args.indexOf('--modes');
const modes = modesAt >= 0 ? args[modesAt + 1].split(',') : ['f32', 'bf16'];
const dir = path.resolve(args.find((a, i) => !a.startsWith('--') && i !== modesAt + 1) ?? path.join(root, 'models/tinyseek-r1-mini'));

const child = `
const { loadModel } = await import(${JSON.stringify(path.join(root, 'dist/src/model/checkpoint.js'))});
const { Linear } = await import(${JSON.stringify(path.join(root, 'dist/src/nn/layers.js'))});
const mode = process.argv[1], dir = process.argv[2];
global.gc(); global.gc();
const before = process.memoryUsage();
const m = loadModel(dir, { weights: mode, onWarning: () => {} });
global.gc(); global.gc();
const after = process.memoryUsage();
let f32 = 0, w16 = 0, kept = 0;
for (const [, t] of m.namedTensors()) f32 += t.storage.data.byteLength;
for (const [, l] of m.namedModules()) if (l instanceof Linear && l.weight16) { w16 += l.weight16.bits.byteLength; kept++; }
console.log(JSON.stringify({ mode, weight_bytes: f32 + w16, float32_bytes: f32, resident16_bytes: w16, linears_16bit: kept,
  rss_before: before.rss, rss_after: after.rss, rss_growth: after.rss - before.rss, array_buffers_after: after.arrayBuffers }));
`;
const rows = [];
for (const mode of modes) {
  const r = spawnSync(process.execPath, ['--expose-gc', '--input-type=module', '-e', child, mode, dir], { encoding: 'utf8' });
  if (r.status !== 0) { console.error(r.stderr); process.exit(1); }
  rows.push(JSON.parse(r.stdout.trim().split('\n').pop()));
}
const mb = (b) => (b / 2 ** 20).toFixed(2);
console.log(`model: ${dir}`);
for (const r of rows) console.log(`${r.mode.padEnd(5)} weights ${mb(r.weight_bytes)} MiB (float32 ${mb(r.float32_bytes)}, 16-bit ${mb(r.resident16_bytes)} in ${r.linears_16bit} Linear layers)  RSS ${mb(r.rss_before)} → ${mb(r.rss_after)} MiB (+${mb(r.rss_growth)})`);
if (rows.length >= 2) console.log(`weight bytes ${rows[1].mode}/${rows[0].mode} = ${(rows[1].weight_bytes / rows[0].weight_bytes).toFixed(3)}, RSS growth ${rows[1].mode}/${rows[0].mode} = ${(rows[1].rss_growth / rows[0].rss_growth).toFixed(3)}`);
