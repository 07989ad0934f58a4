// Copies a trained model directory into models/<name> in BF16 (the repository's shipped model).
// Usage: node scripts/ship-model.mjs runs/sft-mini/final models/tinyseek-r1-mini
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
const bytes = fs.readdirSync(dst).reduce((a, f) => a + fs.statSync(path.join(dst, f)).size, 0);
console.log(`${dst}: ${(bytes / 1e6).toFixed(1)} MB (${model.numParameters()} parameters, BF16)`);
