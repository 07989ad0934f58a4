// Does a base model read digits from the problem? Teacher-forced on held-out worked solutions (plain
// format), the mean NLL of digit tokens in the solution: ln 10 ≈ 2.3 nats means the model only knows
// "a digit comes here"; a base that copies operands and carries gets far below it. Pretraining runs
// can be probed checkpoint by checkpoint while they train.
// Usage: node scripts/probe-copy.mjs MODEL_DIR [--n 8] [--difficulty 2]
import { parseArgs } from 'node:util';
import { loadModelDir } from '../dist/src/infer/load.js';
import { Tensor, noGrad, tidy } from '../dist/src/tensor/index.js';
import { getTask, taskNames } from '../dist/src/tasks/registry.js';
import { sampleProblem } from '../dist/src/tasks/splits.js';
import { renderWorked } from '../dist/src/data/formats.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { n: { type: 'string', default: '8' }, difficulty: { type: 'string', default: '2' } } });
if (positionals.length !== 1) {
  console.error('usage: node scripts/probe-copy.mjs MODEL_DIR [--n 8] [--difficulty 2]');
  process.exit(2);
}
const lm = loadModelDir(positionals[0]);
const n = Number(values.n), difficulty = Number(values.difficulty);
const rows = [];
for (const family of taskNames()) {
  let sum = 0, count = 0;
  for (let i = 0; i < n; i++) {
    const p = sampleProblem(family, difficulty, 'test', 1000 + i);
    const w = getTask(family).work(p);
    const text = renderWorked('plain', p.prompt, w.trace, w.answer);
    const ids = lm.tokenizer.encode(text, { allowSpecial: true });
    const solStart = lm.tokenizer.encode(text.slice(0, text.indexOf('\nSolution:')), { allowSpecial: true }).length;
    noGrad(() => tidy(() => {
      const logits = lm.model.forward(Tensor.ints(ids, [1, ids.length])).logits;
      const V = logits.shape[2], L = logits.toFloat32Array();
      for (let t = solStart; t < ids.length - 1; t++) {
        if (!/^[0-9]$/.test(lm.tokenizer.decode([ids[t + 1]]))) continue;
        const row = L.subarray(t * V, (t + 1) * V);
        let m = -Infinity;
        for (const v of row) m = Math.max(m, v);
        let s = 0;
        for (const v of row) s += Math.exp(v - m);
        sum += -(row[ids[t + 1]] - m - Math.log(s));
        count++;
      }
    }));
  }
  rows.push({ family, digit_nll: sum / count, digits: count });
}
const mean = rows.reduce((a, r) => a + r.digit_nll, 0) / rows.length;
console.log(JSON.stringify({ model: positionals[0], difficulty, n, mean_digit_nll: mean, families: rows }));
