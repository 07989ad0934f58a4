// The trainer's objective path (a TrainObjective replaces the model's own loss: distillation's logit
// KD and GKD use it), found uncovered by mutation testing (docs/mutation.md). An objective whose loss
// is the model's own weighted SFT loss must train exactly as the plain SFT run (losses, gradient norms,
// final weights), with gradient accumulation, in one process and on an MPI singleton (the
// data-parallel share of the loss weight); what its batch hook is given (the run's example index of
// each micro-batch, the step) and what its loss is given (the hook's rows); its extras in the
// metrics (rates averaged over micro-batches, `_tokens` counts summed); and the runs it refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { train } from '../src/train/trainer.js';
import type { ObjectiveBatch, TrainObjective } from '../src/train/trainer.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel } from '../src/model/checkpoint.js';
import type { CausalLM } from '../src/model/causal-lm.js';
import type { Tensor } from '../src/tensor/index.js';
import { Mpi } from '../src/parallel/mpi.js';
import { mpiSkip } from './helpers/mpi.js';

const B = 2, A = 2, T = 16, STEPS = 3;

function setup(dir: string): { sft: string; tok: string } {
  const texts = Array.from({ length: 40 }, (_, i) => `What is ${i} + ${i % 7}? It is ${i + (i % 7)}.`);
  const tok = path.join(dir, 'tok');
  Tokenizer.train(texts, { vocabSize: 300 }).save(tok);
  const sft = path.join(dir, 'sft.jsonl');
  fs.writeFileSync(sft, Array.from({ length: 12 }, (_, i) => JSON.stringify({ prompt: `What is ${i} + ${i % 7}?`, response: `It is ${i + (i % 7)}.` })).join('\n') + '\n');
  return { sft, tok };
}

function recipe(f: { sft: string; tok: string }, kind = 'sft'): Recipe {
  return parseRunRecipe({
    kind, name: 'objective', seed: 8,
    model: { preset: 'nano', overrides: { num_hidden_layers: 1, first_k_dense_replace: 0, num_nextn_predict_layers: 0 } },
    tokenizer: { path: f.tok }, data: { file: f.sft },
    train: { steps: STEPS, batchSize: B, gradAccum: A, seqLen: T, lr: { peak: 0.01, warmup: 1, schedule: 'constant' }, clip: 0.05 },
    eval: { every: 0, final: false }, checkpoint: { every: 0 },
  });
}

/** The model's own weighted loss as an objective; records what it is given. */
function ownLoss(r: Recipe, withHook: boolean) {
  const seen: { g0: number | undefined; step: number; rows: number[] }[] = [];
  const given: { batch: ObjectiveBatch; fromHook: boolean; idsShape: number[]; wShape: number[] }[] = [];
  const hooked = new WeakSet<ObjectiveBatch>();
  const o: TrainObjective = {
    loss(model: CausalLM, ids: Tensor, weights: Tensor, batch: ObjectiveBatch) {
      given.push({ batch, fromHook: hooked.has(batch), idsShape: [...ids.shape], wShape: [...weights.shape] });
      const res = model.loss(ids, { weights, mtpWeight: r.train.mtpWeight });
      return { loss: res.loss, ce: res.ce, tokens: res.tokens, extra: { seen_tokens: res.tokens, rate: 0.25 } };
    },
  };
  if (withHook) {
    o.batch = async (base, _model, step) => {
      seen.push({ g0: base.g0, step, rows: base.rows });
      const copy = { ...base, ids: Int32Array.from(base.ids), weights: Float32Array.from(base.weights) };
      hooked.add(copy);
      return copy;
    };
  }
  return { o, seen, given };
}

const weights = (dir: string) => new Map(loadModel(dir).namedParameters().map(([n, p]) => [n, Float32Array.from(p.storage.data as Float32Array)]));

function assertSameRun(a: string, b: string, what: string): void {
  const ma = readMetrics(path.join(a, 'metrics.jsonl')), mb = readMetrics(path.join(b, 'metrics.jsonl'));
  assert.deepEqual(ma.map((x) => x.step), mb.map((x) => x.step), what);
  ma.forEach((x, i) => {
    for (const k of ['loss', 'ce', 'tokens', 'grad_norm', 'lr']) {
      const u = x[k] as number, v = mb[i]![k] as number;
      assert.ok(Math.abs(u - v) <= 1e-6 * Math.max(1, Math.abs(v)), `${what} step ${x.step}: ${k} ${u} vs ${v}`);
    }
  });
  const wa = weights(path.join(a, 'final')), wb = weights(path.join(b, 'final'));
  for (const [n, x] of wb) {
    const y = wa.get(n)!;
    let d = 0;
    for (let i = 0; i < x.length; i++) d = Math.max(d, Math.abs(x[i]! - y[i]!));
    assert.ok(d < 1e-6, `${what}: ${n} differs by ${d}`);
  }
}

test('an objective that is the model\'s own SFT loss trains exactly as plain SFT (2 micro-batches); its hook sees each micro-batch\'s first example and the step; its extras are recorded', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-objective-'));
  try {
    const f = setup(dir);
    const r = recipe(f);
    const plain = path.join(dir, 'plain');
    await train({ recipe: r, out: plain, quiet: true });
    const gn = readMetrics(path.join(plain, 'metrics.jsonl')).map((x) => x.grad_norm as number);
    assert.ok(gn.every((g) => g > 0.05), `the clip (0.05) is active, so the loss scale shows in the step: ${gn}`);
    for (const withHook of [false, true]) {
      const out = path.join(dir, `objective-${withHook}`);
      const { o, seen, given } = ownLoss(r, withHook);
      const res = await train({ recipe: r, out, quiet: true, objective: o });
      assertSameRun(out, plain, `objective (hook ${withHook})`);
      assert.equal(given.length, STEPS * A, 'one loss call per micro-batch');
      for (const g of given) {
        assert.deepEqual([g.idsShape, g.wShape], [[B, T + 1], [B, T]]);
        assert.equal(g.fromHook, withHook, 'the loss gets the hook\'s rows when there is a hook');
      }
      if (withHook) {
        assert.deepEqual(seen.map((s) => s.g0), [0, 2, 4, 6, 8, 10], 'micro-batch a of step s starts at example (s·A + a)·B');
        assert.deepEqual(seen.map((s) => s.step), [0, 0, 1, 1, 2, 2]);
        assert.ok(seen.every((s) => s.rows.length === B));
      } else assert.deepEqual(given.map((g) => g.batch.g0), [0, 2, 4, 6, 8, 10]);
      const m = readMetrics(path.join(out, 'metrics.jsonl'));
      m.forEach((x) => {
        assert.equal(x.seen_tokens, x.tokens, '`_tokens` extras are summed over the micro-batches, as tokens');
        assert.ok(Math.abs((x.rate as number) - 0.25) < 1e-12, `rates are averaged: ${x.rate}`);
      });
      assert.equal(res.history.length, STEPS);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an objective on one data-parallel rank (MPI singleton) trains exactly as plain SFT; its extras are reduced', { skip: mpiSkip, timeout: 120_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-objective-dp-'));
  try {
    const f = setup(dir);
    const r = recipe(f);
    const comm = Mpi.init().world;
    const plain = path.join(dir, 'plain');
    await train({ recipe: r, out: plain, quiet: true });
    for (const zero1 of [false, true]) {
      const out = path.join(dir, `dp-${zero1}`);
      const { o } = ownLoss(r, true);
      await train({ recipe: r, out, quiet: true, objective: o, dp: { comm, zero1 } });
      assertSameRun(out, plain, `objective under DP 1${zero1 ? ' + ZeRO-1' : ''}`);
      const m = readMetrics(path.join(out, 'metrics.jsonl'));
      m.forEach((x) => {
        assert.equal(x.seen_tokens, x.tokens);
        assert.ok(Math.abs((x.rate as number) - 0.25) < 1e-12, `rate ${x.rate}`);
        assert.equal((x.dp as { ranks: number }).ranks, 1);
      });
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('an objective needs an SFT-kind run', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-objective-bad-'));
  try {
    const f = setup(dir);
    const corpus = path.join(dir, 'corpus.jsonl');
    fs.writeFileSync(corpus, Array.from({ length: 30 }, (_, i) => JSON.stringify({ text: `${i} + 1 = ${i + 1}.`, problems: [] })).join('\n') + '\n');
    const r = parseRunRecipe({ ...recipe(f, 'pretrain'), data: { file: corpus } });
    const out = path.join(dir, 'run');
    await assert.rejects(train({ recipe: r, out, quiet: true, objective: ownLoss(r, false).o }), /^Error: a training objective \(distillation\) needs an SFT-kind run without expert parallelism$/);
    assert.ok(!fs.existsSync(path.join(out, 'metrics.jsonl')) || fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8') === '', 'nothing trained');
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
