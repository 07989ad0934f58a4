// Prints the copy probe of a model directory (src/infer/copy-probe.ts): the teacher-forced digit NLL
// of held-out worked solutions. Works on trainer checkpoints while a pretraining run goes on.
// Usage: node scripts/probe-copy.mjs MODEL_DIR [--n 8] [--difficulty 2]
import { parseArgs } from 'node:util';
import { loadModelDir } from '../dist/src/infer/load.js';
import { copyProbe } from '../dist/src/infer/copy-probe.js';

const { values, positionals } = parseArgs({ allowPositionals: true, options: { n: { type: 'string', default: '8' }, difficulty: { type: 'string', default: '2' } } });
if (positionals.length !== 1) {
  console.error('usage: node scripts/probe-copy.mjs MODEL_DIR [--n 8] [--difficulty 2]');
  process.exit(2);
}
const lm = loadModelDir(positionals[0]);
const report = copyProbe(lm.model, lm.tokenizer, { n: Number(values.n), difficulty: Number(values.difficulty) });
console.log(JSON.stringify({ model: positionals[0], ...report }));
