// The trainer's in-training evaluation in the format the model was trained on (TrainOptions.evalFormat):
// the shipped model, trained on R1's chat format, fine-tuned one step with a learning rate too small to
// change it. Asked with the R1-Zero template and checked for <answer> tags (the default), its strict
// greedy score is 0; asked with R1's template and checked with R1's verifier, it is what evaluate()
// gives the final model with the same options. And the R1 evaluation of the distillation study
// (evaluateFamilies) scores each model in its own format.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { train } from '../src/train/trainer.js';
import { parseRunRecipe } from '../src/train/recipe.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { evaluate } from '../src/infer/evaluate.js';
import { r1Verify } from '../src/rl/r1/format.js';
import { evaluateFamilies } from '../src/rl/r1/evaluate.js';

const SHIPPED = path.resolve('models/tinyseek-r1-mini');
const EVAL = { families: ['add'], difficulties: [1], n: 12, maxNewTokens: 120 };

test('in-training evaluation: the R1-Zero template and verifier by default, the model\'s own format when given', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-eval-format-'));
  try {
    const data = path.join(dir, 'sft.jsonl');
    fs.writeFileSync(data, JSON.stringify({ prompt: 'Compute 2 + 3', response: '<think>\n2 + 3 = 5\n</think>\n\nThe answer is 5.' }) + '\n');
    const recipe = parseRunRecipe({
      kind: 'sft', name: 'eval-format', seed: 4, model: { preset: 'mini', init: SHIPPED }, data: { file: data },
      train: { steps: 1, batchSize: 1, seqLen: 64, lr: { peak: 1e-12, warmup: 0, schedule: 'constant' }, mtpWeight: 0, biasUpdateSpeed: 0 },
      eval: { every: 1, final: false, ...EVAL }, checkpoint: { every: 0 },
    });
    const greedyOf = (out: string) => readMetrics(path.join(out, 'metrics.jsonl')).find((m) => typeof m.eval_greedy_mean === 'number')!.eval_greedy_mean as number;
    const plain = path.join(dir, 'plain'), r1 = path.join(dir, 'r1');
    await train({ recipe, out: plain, quiet: true });
    const res = await train({ recipe, out: r1, quiet: true, evalFormat: { template: 'default', verify: r1Verify } });
    assert.equal(greedyOf(plain), 0, 'an R1-format model never writes <answer> tags');
    const model = loadModel(res.finalDir);
    model.eval();
    const gen = new Generator(model, { maxBatch: 64, maxLen: 512 });
    const want = await evaluate(gen, Tokenizer.fromDir(res.finalDir), { ...EVAL, k: 0, seed: 4, template: 'default', verify: r1Verify });
    assert.ok(want.mean.greedy > 0.2, `the shipped model solves some held-out additions: ${want.mean.greedy}`);
    assert.equal(greedyOf(r1), want.mean.greedy);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('evaluateFamilies scores a model in the format it was trained for: R1\'s chat format, or R1-Zero\'s template and <answer> tags', async () => {
  const model = loadModel(SHIPPED);
  model.eval();
  const gen = new Generator(model, { maxBatch: 64, maxLen: 512 });
  const tok = Tokenizer.fromDir(SHIPPED);
  const o = { families: ['add'], difficulties: [1], n: 12, k: 2, maxNewTokens: 120, seed: 4 };
  const r1 = await evaluateFamilies(gen, tok, o);
  const zero = await evaluateFamilies(gen, tok, { ...o, format: 'r1zero' });
  assert.deepEqual(await evaluateFamilies(gen, tok, { ...o, format: 'r1' }), r1, 'r1 is the default');
  assert.ok(r1.mean.greedy > 0.2 && r1.mean.well_formed > 0.9, `the shipped model in its own format: ${JSON.stringify(r1.mean)}`);
  // asked in R1-Zero's template it answers, but never inside <answer> tags: strict 0, well-formed 0
  assert.deepEqual([zero.mean.greedy, zero.mean.pass1, zero.mean.well_formed], [0, 0, 0]);
});
