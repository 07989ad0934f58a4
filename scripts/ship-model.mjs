// Copies a trained model directory into models/<name> in BF16 (the repository's shipped model), with
// the R1 pipeline's reward model when the model is a pipeline stage (<run>/rm/reward-model.json, two
// levels above <run>/<stage>/run/final): `tinyseek ttc` uses it for best-of-N.
// Usage: node scripts/ship-model.mjs runs/r1-mini/stage4-rl/run/final models/tinyseek-r1-mini
import fs from 'node:fs';
import path from 'node:path';
import { loadModel, saveModel } from '../dist/src/model/checkpoint.js';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error('usage: node scripts/ship-model.mjs SRC_MODEL_DIR DST_DIR');
  process.exit(2);
}
const model = loadModel(src);
const tokenizerFiles = {};
for (const f of ['tokenizer.json', 'tokenizer_config.json']) tokenizerFiles[f] = fs.readFileSync(path.join(src, f));
saveModel(dst, model, { tokenizerFiles, dtype: 'BF16', generation: { source: src } });
const rm = path.resolve(src, '..', '..', '..', 'rm', 'reward-model.json');
if (fs.existsSync(rm)) fs.copyFileSync(rm, path.join(dst, 'reward-model.json'));
const bytes = fs.readdirSync(dst).reduce((a, f) => a + fs.statSync(path.join(dst, f)).size, 0);
console.log(`${dst}: ${(bytes / 1e6).toFixed(1)} MB (${model.numParameters()} parameters, BF16)`);
