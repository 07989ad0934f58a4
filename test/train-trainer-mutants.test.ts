// The trainer on a one-layer model and a few steps (found by mutation testing, docs/mutation.md;
// the train suite needs 30 s of training to reach the same code): the learning-rate schedules,
// gradient accumulation, what each step records, checkpoints and stops, the routing-bias update,
// and the errors for runs that cannot start.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { train, learningRate, recipeConfig } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { DeepseekV3 } from '../src/model/model.js';
import { getPreset } from '../src/model/presets.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-trainer-'));

/** A small corpus file (JSONL of {text, problems}), so no corpus has to be generated. */
function corpus(dir: string): string {
  const f = path.join(dir, 'corpus.jsonl');
  const docs = Array.from({ length: 60 }, (_, i) => ({ text: `${i} + ${i * 7 % 13} = ${i + (i * 7 % 13)}. The sum of ${i} and ${i * 3} is ${i * 4}.`, problems: [] }));
  fs.writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return f;
}

/** One transformer layer (dense), no MTP unless asked: a step takes milliseconds. */
function recipe(dataFile: string, train: Record<string, unknown>, over: Record<string, unknown> = {}): Recipe {
  return parseRunRecipe({
    kind: 'pretrain', name: 'tiny', seed: 4,
    model: { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1 } },
    tokenizer: { vocabSize: 300 },
    data: { file: dataFile },
    train: { steps: 3, batchSize: 2, seqLen: 16, lr: { peak: 0.01, warmup: 1, schedule: 'constant' }, ...train },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
    ...over,
  });
}

const close = (a: number, b: number, rel: number, what: string) => assert.ok(Math.abs(a - b) <= rel * Math.max(1, Math.abs(b)), `${what}: ${a} vs ${b}`);

test('learning-rate schedules: constant with warmup, cosine to decayTo (default peak/10), DeepSeek-V3 shape with its defaults', () => {
  const r = (lr: Record<string, unknown>, steps = 100) => parseRunRecipe({ name: 'x', train: { steps, lr } });
  const c = r({ peak: 1, warmup: 4, schedule: 'constant' });
  assert.deepEqual([0, 1, 3, 4, 99].map((s) => learningRate(c, s)), [0.25, 0.5, 1, 1, 1]);
  const cos = r({ peak: 1, warmup: 0, schedule: 'cosine' });
  assert.equal(learningRate(cos, 0), 1);
  close(learningRate(cos, 50), 0.55, 1e-12, 'cosine midpoint (min 0.1)');
  close(learningRate(cos, 100), 0.1, 1e-12, 'cosine end');
  close(learningRate(r({ peak: 1, warmup: 0, schedule: 'cosine', decayTo: 0.5 }), 50), 0.75, 1e-12, 'cosine to decayTo');
  // deepseek (default): warmup 2 → constant until 60% → cosine to peak/10 at 95% → peak/30
  const d = r({ peak: 3, warmup: 2 });
  assert.deepEqual([0, 1, 2, 59].map((s) => learningRate(d, s)), [1.5, 3, 3, 3]);
  close(learningRate(d, 60), 3, 1e-12, 'decay starts at 60%');
  close(learningRate(d, 77.5), 0.3 + 0.5 * 2.7, 1e-12, 'half-way through the decay');
  close(learningRate(d, 94.99), 0.3, 1e-3, 'decayed to peak/10 at 95%');
  close(learningRate(d, 95), 0.1, 1e-12, 'final = peak/30');
  const d2 = r({ peak: 1, warmup: 0, constantFrac: 0.5, decayEndFrac: 0.7, decayTo: 0.2, final: 0.05 }, 10);
  assert.deepEqual([4, 5, 7].map((s) => learningRate(d2, s)), [1, 1, 0.05]);
  close(learningRate(d2, 6), 0.2 + 0.4, 1e-12, 'decay midpoint');
  // warmup longer than the constant phase: the phases start after warmup
  const d3 = r({ peak: 1, warmup: 8, constantFrac: 0.1, decayEndFrac: 0.2 }, 20);
  assert.equal(learningRate(d3, 7), 1);
  close(learningRate(d3, 8), 1 / 30, 1e-12, 'decay phase empty: final right after warmup');
});

test('recipeConfig: preset, HF-key overrides, and the tokenizer\'s vocabulary size', () => {
  const r = parseRunRecipe({ name: 'x', model: { preset: 'nano', overrides: { hidden_size: 32, n_routed_experts: 16 } }, train: { steps: 1, lr: { peak: 1 } } });
  const c = recipeConfig(r, 777);
  assert.equal(c.hiddenSize, 32);
  assert.equal(c.nRoutedExperts, 16);
  assert.equal(c.vocabSize, 777);
  assert.equal(recipeConfig(r).vocabSize, 512, 'the preset\'s without a tokenizer');
});

test('a short run: per-step lr, tokens, losses and expert load are recorded; the final model and checkpoint are written', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 3, gradAccum: 2, lr: { peak: 0.01, warmup: 2, schedule: 'constant' }, biasUpdateSpeed: 0.01, mtpWeight: 0.5 });
    const out = path.join(dir, 'run');
    const res = await train({ recipe: r, out, quiet: true });
    assert.equal(res.lastStep, 3);
    assert.equal(res.interrupted, false);
    assert.deepEqual(res.history.map((m) => m.step), [1, 2, 3]);
    assert.deepEqual(res.history.map((m) => m.lr), [0.005, 0.01, 0.01]);
    for (const m of res.history) {
      assert.equal(m.tokens, 2 * 2 * 16, 'batch × accumulation × sequence targets');
      close(m.loss, m.ce + 0.5 * m.mtp_loss + m.balance_loss, 1e-5, 'loss = CE + λ·MTP + balance');
      assert.ok(m.mtp_loss > 0 && m.balance_loss > 0 && m.grad_norm > 0 && m.tokens_per_s > 0 && m.step_time_s > 0);
      assert.equal(m.expert_load.length, 1);
      assert.equal(m.expert_load[0].layer, 1);
      assert.equal(m.expert_load[0].counts.reduce((a, b) => a + b, 0), 2 * 2 * 16 * 2, 'every token of every micro-batch, k = 2');
      const counts = m.expert_load[0].counts, mean = counts.reduce((a, b) => a + b, 0) / counts.length;
      close(m.expert_load[0].max_over_mean, Math.max(...counts) / mean, 1e-12, 'max/mean');
    }
    const rows = readMetrics(path.join(out, 'metrics.jsonl'));
    assert.deepEqual(rows.map((x) => x.step), [1, 2, 3]);
    assert.equal(rows[2].loss, res.history[2].loss);
    assert.ok(fs.existsSync(path.join(out, 'final', 'tokenizer.json')));
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000003']);
    // the routing bias moved (aux-loss-free balancing at γ = 0.01) and was saved with the model
    const bias = loadModel(path.join(out, 'final')).moeLayers()[0].gate.bias!.f32();
    assert.ok(bias.some((b) => Math.abs(b) > 0.005), 'bias updated');
    // the run directory keeps its recipe
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'recipe.json'), 'utf8')), JSON.parse(JSON.stringify(r)));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('gradient accumulation: 2 micro-batches of 2 take the same step as one batch of 4', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const a = await train({ recipe: recipe(data, { steps: 1, batchSize: 2, gradAccum: 2, biasUpdateSpeed: 0 }), out: path.join(dir, 'a'), quiet: true });
    const b = await train({ recipe: recipe(data, { steps: 1, batchSize: 4, gradAccum: 1, biasUpdateSpeed: 0 }), out: path.join(dir, 'b'), quiet: true });
    close(a.history[0].loss, b.history[0].loss, 1e-5, 'loss');
    close(a.history[0].grad_norm, b.history[0].grad_norm, 1e-4, 'grad norm');
    const wa = new Map(loadModel(a.finalDir).namedTensors()), wb = loadModel(b.finalDir).namedTensors();
    let maxDiff = 0;
    for (const [n, t] of wb) { const x = wa.get(n)!.f32(), y = t.f32(); for (let i = 0; i < y.length; i++) maxDiff = Math.max(maxDiff, Math.abs(x[i] - y[i])); }
    assert.ok(maxDiff < 1e-4, `weights differ by ${maxDiff}`);
    // with γ = 0 the routing bias stays zero
    assert.ok(loadModel(a.finalDir).moeLayers()[0].gate.bias!.f32().every((x) => x === 0));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('checkpoints every N steps but not at the end step; stopAfter saves where it stopped; an existing run needs --resume', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 4 }, { checkpoint: { every: 2 } });
    const out = path.join(dir, 'run');
    const part = await train({ recipe: r, out, quiet: true, stopAfter: 3 });
    assert.deepEqual([part.interrupted, part.lastStep, part.finalDir], [true, 3, path.join(out, 'checkpoints', 'step-000003')]);
    assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).sort(), ['latest', 'step-000002', 'step-000003']);
    assert.ok(!fs.existsSync(path.join(out, 'final')));
    await assert.rejects(train({ recipe: r, out, quiet: true }), /already holds a run \(metrics.jsonl with 3 steps; complete checkpoints step-000003, step-000002\); pass --resume/);
    const rest = await train({ recipe: r, out, quiet: true, resume: true });
    assert.deepEqual(rest.history.map((m) => m.step), [4]);
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((m) => m.step), [1, 2, 3, 4]);
    // --resume of an empty directory starts from step 0
    const fresh = await train({ recipe: r, out: path.join(dir, 'fresh'), quiet: true, resume: true, stopAfter: 1 });
    assert.equal(fresh.lastStep, 1);
    await assert.rejects(train({ recipe: { ...r, seed: 99 }, out, quiet: true, resume: true }), /--resume: the recipe differs/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('runs that cannot start say why', async () => {
  const dir = tmp();
  try {
    const data = corpus(dir);
    const sft = (d: Record<string, unknown>, tk: Record<string, unknown> = {}) => parseRunRecipe({ kind: 'sft', name: 's', data: d, tokenizer: tk, train: { steps: 1, lr: { peak: 1 } } });
    await assert.rejects(train({ recipe: sft({}), out: path.join(dir, 's1'), quiet: true }), /an SFT recipe needs data\.file .* or data\.sftTasks/);
    await assert.rejects(train({ recipe: sft({ file: data }), out: path.join(dir, 's2'), quiet: true }), /an SFT recipe needs tokenizer\.path or model\.init/);
    // model.init whose vocabulary (the nano preset's 512) differs from the run's tokenizer (≤ 300)
    const base = path.join(dir, 'base');
    saveModel(base, new DeepseekV3(getPreset('nano'), 1));
    const other = recipe(data, { steps: 1 }, { model: { preset: 'nano', init: base } });
    await assert.rejects(train({ recipe: other, out: path.join(dir, 'init'), quiet: true }), /model\.init .*base has vocab 512, the tokenizer \d+$/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('Ctrl-C (a real SIGINT) during training stops the run at the next step, saves a checkpoint there, and --resume finishes it', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir), { steps: 40 });
    const out = path.join(dir, 'run');
    let sentAt = 0;
    const res = await train({
      recipe: r, out, quiet: true,
      onStep: (m) => { if (m.step === 2) { sentAt = m.step; process.kill(process.pid, 'SIGINT'); } },
    });
    assert.equal(sentAt, 2);
    assert.equal(res.interrupted, true, `the run went on to step ${res.lastStep} of 40 after SIGINT`);
    assert.ok(res.lastStep >= 2 && res.lastStep < 40, `stopped at ${res.lastStep}`);
    assert.equal(res.finalDir, path.join(out, 'checkpoints', `step-${String(res.lastStep).padStart(6, '0')}`));
    assert.ok(!fs.existsSync(path.join(out, 'final')));
    assert.equal(process.listenerCount('SIGINT'), 0, 'the handler is removed when the run returns');
    const rest = await train({ recipe: r, out, quiet: true, resume: true, stopAfter: res.lastStep + 1 });
    assert.deepEqual(rest.history.map((m) => m.step), [res.lastStep + 1]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
