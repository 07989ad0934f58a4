// A nano DeepseekV3 with random weights and a small trained tokenizer, saved as a model directory:
// the cheapest model GRPO and the R1 pipeline can run on.
import fs from 'node:fs';
import path from 'node:path';
import { getPreset } from '../../src/model/presets.js';
import { DeepseekV3 } from '../../src/model/model.js';
import { saveModel } from '../../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../../src/tokenizer/index.js';

/** A nano model directory with its own small tokenizer. */
export function nanoModel(root: string): string {
  const tok = Tokenizer.train([R1ZERO_PREAMBLE, 'User: Compute 3 + 4. Assistant: <think> 3 + 4 = 7 </think> <answer> 7 </answer>', 'Compute 12 - 5 = 7'], { vocabSize: 300 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 5);
  const init = path.join(root, 'init'), tokDir = path.join(root, 'tok');
  tok.save(tokDir);
  saveModel(init, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
  return init;
}

