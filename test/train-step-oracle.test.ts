// The trainer's optimizer steps checked against a hand computation (issue #21's independent oracles):
// each step's gradient is computed here on ONE batch of B·A rows (the trainer accumulates A
// micro-batches of B), clipped to the global norm by hand, and pushed through AdamW's closed form
// (bias-corrected moments, decoupled weight decay) in float64; the routing bias follows
// b_e += γ·sign(mean load − load_e) from the expert loads counted here. The learning rate comes from
// the schedule's formula, not from the trainer. The run is split by stopAfter/--resume so every step
// has its starting checkpoint, and an uninterrupted run must match it bit for bit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { train, recipeConfig } from '../src/train/trainer.js';
import type { StepMetrics } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel } from '../src/model/checkpoint.js';
import { DeepseekV3 } from '../src/model/model.js';
import { asDeepseek, deepseekConfig } from '../src/model/registry.js';
import { PackedDataset, encodeDocuments } from '../src/train/packing.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { readCorpus } from '../src/data/index.js';
import { loadAsFloat32 } from '../src/io/index.js';
import { Tensor } from '../src/tensor/index.js';

const tmp = () => fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-step-oracle-'));

function corpus(dir: string): string {
  const f = path.join(dir, 'corpus.jsonl');
  const docs = Array.from({ length: 60 }, (_, i) => ({ text: `${i} + ${i * 7 % 13} = ${i + (i * 7 % 13)}. The sum of ${i} and ${i * 3} is ${i * 4}.`, problems: [] }));
  fs.writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return f;
}

const PEAK = 0.02, WARMUP = 2, DECAY_TO = 0.004, STEPS = 4;
const B = 2, A = 2, T = 16, CLIP = 0.25, MTP = 0.7, WD = 0.05, BETA1 = 0.8, BETA2 = 0.9, GAMMA = 0.004, EPS = 1e-8;

function recipe(dataFile: string): Recipe {
  return parseRunRecipe({
    kind: 'pretrain', name: 'oracle', seed: 11,
    model: { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1 } },
    tokenizer: { vocabSize: 300 },
    data: { file: dataFile },
    train: {
      steps: STEPS, batchSize: B, gradAccum: A, seqLen: T, clip: CLIP, mtpWeight: MTP, weightDecay: WD, beta1: BETA1, beta2: BETA2,
      biasUpdateSpeed: GAMMA, documentMask: true,
      lr: { peak: PEAK, warmup: WARMUP, schedule: 'cosine', decayTo: DECAY_TO },
    },
    eval: { every: 0, final: false },
    checkpoint: { every: 1 },
  });
}

/** Linear warmup to the peak, then half a cosine from the peak to decayTo at the last step (written out here). */
function lrAt(step: number): number {
  if (step < WARMUP) return (PEAK * (step + 1)) / WARMUP;
  const p = (step - WARMUP) / (STEPS - WARMUP);
  return DECAY_TO + 0.5 * (PEAK - DECAY_TO) * (1 + Math.cos(Math.PI * p));
}

interface State { w: Map<string, Float32Array>; m: Map<string, Float32Array>; v: Map<string, Float32Array>; bias: Float32Array; model: DeepseekV3 }

function stateOf(dir: string): State {
  const model = asDeepseek(loadModel(dir));
  const w = new Map(model.namedParameters().map(([n, t]) => [n, Float32Array.from(t.f32())]));
  const m = new Map<string, Float32Array>(), v = new Map<string, Float32Array>();
  for (const r of loadAsFloat32(path.join(dir, 'optimizer.safetensors'))) (r.name.startsWith('m.') ? m : v).set(r.name.slice(2), r.data as Float32Array);
  return { w, m, v, bias: Float32Array.from(model.moeLayers()[0].gate.bias!.f32()), model };
}

/** The expected state after optimizer step `t` (1-based) from `prev`, and the metrics the step should report. */
function expectedStep(prev: { model: DeepseekV3; m: Map<string, Float32Array>; v: Map<string, Float32Array> }, t: number, data: PackedDataset) {
  const model = prev.model;
  model.train();
  model.takeExpertLoad(); // reset the counters
  for (const [, p] of model.namedParameters()) p.zeroGrad();
  // one batch of all B·A rows of the step (blocks (t−1)·A·B … t·A·B − 1)
  const res = model.loss(Tensor.ints(data.batch((t - 1) * A * B, A * B), [A * B, T + 1]), { mtpWeight: MTP, documentMask: true });
  res.loss.backward();
  const loss = res.loss.item();
  const params = model.namedParameters();
  let ss = 0;
  for (const [, p] of params) if (p.grad) for (const g of p.grad.f32()) ss += g * g;
  const norm = Math.sqrt(ss);
  const scale = norm > CLIP ? CLIP / (norm + 1e-6) : 1;
  const lr = lrAt(t - 1);
  const w = new Map<string, Float64Array>(), m = new Map<string, Float64Array>(), v = new Map<string, Float64Array>();
  for (const [n, p] of params) {
    const g = p.grad ? p.grad.f32() : new Float32Array(p.numel);
    const w0 = p.f32(), m0 = prev.m.get(n)!, v0 = prev.v.get(n)!;
    const wd = p.ndim >= 2 ? WD : 0;
    const W = new Float64Array(p.numel), M = new Float64Array(p.numel), V = new Float64Array(p.numel);
    for (let i = 0; i < p.numel; i++) {
      const gi = g[i] * scale;
      M[i] = BETA1 * m0[i] + (1 - BETA1) * gi;
      V[i] = BETA2 * v0[i] + (1 - BETA2) * gi * gi;
      const mh = M[i] / (1 - BETA1 ** t), vh = V[i] / (1 - BETA2 ** t);
      W[i] = w0[i] * (1 - lr * wd) - (lr * mh) / (Math.sqrt(vh) + EPS);
    }
    w.set(n, W); m.set(n, M); v.set(n, V);
  }
  const counts = model.takeExpertLoad()[0].load.counts;
  const mean = counts.reduce((a, c) => a + c, 0) / counts.length;
  const bias = Float64Array.from(model.moeLayers()[0].gate.bias!.f32(), (b, e) => b + GAMMA * Math.sign(mean - counts[e]));
  return { w, m, v, bias, counts, loss, ce: res.ce, mtp: res.mtp, balance: res.balance, norm, lr, tokens: res.tokens };
}

function maxRelErr(got: Map<string, Float32Array>, want: Map<string, Float64Array>, floor: number): { err: number; where: string } {
  let err = 0, where = '';
  for (const [n, W] of want) {
    const G = got.get(n)!;
    assert.equal(G.length, W.length, n);
    for (let i = 0; i < W.length; i++) {
      const e = Math.abs(G[i] - W[i]) / Math.max(floor, Math.abs(W[i]));
      if (e > err) { err = e; where = `${n}[${i}]: ${G[i]} vs ${W[i]}`; }
    }
  }
  return { err, where };
}

test('each trainer step is the hand-computed AdamW step of the clipped gradient of one B·A batch, with the scheduled lr and the routing-bias update', async () => {
  const dir = tmp();
  try {
    const r = recipe(corpus(dir));
    const out = path.join(dir, 'run');
    const ckpt = (s: number) => path.join(out, 'checkpoints', `step-${String(s).padStart(6, '0')}`);
    const history: StepMetrics[] = [];
    // Step by step: stop after 1, resume to 2, resume to the end.
    for (const stopAfter of [1, 2, 3, undefined]) {
      const res = await train({ recipe: r, out, quiet: true, resume: stopAfter !== 1, stopAfter });
      history.push(...res.history);
      const s = history.length;
      const tok = Tokenizer.fromDir(path.join(out, 'tokenizer'));
      const data = new PackedDataset(encodeDocuments(tok, readCorpus(path.join(out, 'corpus.jsonl')).map((d) => d.text)), T, r.seed, tok.bosId, tok.eosId);
      let prev;
      if (s === 1) {
        const model = new DeepseekV3(deepseekConfig(recipeConfig(r, tok.vocabSize)), r.seed);
        const zeros = new Map(model.namedParameters().map(([n, p]) => [n, new Float32Array(p.numel)]));
        prev = { model, m: zeros, v: new Map([...zeros].map(([n, z]) => [n, new Float32Array(z.length)])) };
      } else prev = stateOf(ckpt(s - 1));
      const want = expectedStep(prev, s, data);
      const got = stateOf(ckpt(s));
      const h = history[s - 1];
      assert.equal(h.step, s);
      assert.ok(Math.abs(h.lr - want.lr) <= 1e-12 * PEAK, `step ${s}: lr ${h.lr} vs ${want.lr}`);
      assert.ok(want.norm > CLIP, `step ${s}: the gradient norm ${want.norm} must exceed the clip ${CLIP}, so clipping is exercised`);
      assert.ok(Math.abs(h.grad_norm - want.norm) <= 1e-4 * want.norm, `step ${s}: grad norm ${h.grad_norm} vs ${want.norm}`);
      for (const [k, a, b] of [['loss', h.loss, want.loss], ['ce', h.ce, want.ce], ['mtp', h.mtp_loss, want.mtp], ['balance', h.balance_loss, want.balance]] as const) {
        assert.ok(Math.abs(a - b) <= 1e-5 * Math.max(1, Math.abs(b)), `step ${s}: ${k} ${a} vs ${b}`);
      }
      assert.equal(h.tokens, want.tokens);
      assert.deepEqual(h.expert_load[0].counts, want.counts, `step ${s}: expert load`);
      // moments: relative to their own scale (float32 sums of a different grouping)
      const mErr = maxRelErr(got.m, want.m, 1e-3 * Math.max(...[...want.m.values()].map((x) => x.reduce((a, c) => Math.max(a, Math.abs(c)), 0))));
      assert.ok(mErr.err < 2e-2, `step ${s}: first moment off by ${mErr.err} at ${mErr.where}`);
      // weights: the update is at most lr per element; compare to it
      let wErr = 0, where = '';
      for (const [n, W] of want.w) {
        const G = got.w.get(n)!, W0 = prev.model.namedParameters().find(([x]) => x === n)![1];
        void W0;
        for (let i = 0; i < W.length; i++) {
          const e = Math.abs(G[i] - W[i]) / want.lr;
          if (e > wErr) { wErr = e; where = `${n}[${i}]: ${G[i]} vs ${W[i]}`; }
        }
      }
      if (process.env.ORACLE_DEBUG) console.log(`step ${s}: mErr ${mErr.err} wErr ${wErr} norm ${want.norm} loss ${h.loss} vs ${want.loss}`);
      assert.ok(wErr < 0.05, `step ${s}: weights off by ${wErr}·lr at ${where}`);
      const bErr = Math.max(...Array.from(got.bias, (b, e) => Math.abs(b - want.bias[e])));
      assert.ok(bErr < 1e-6, `step ${s}: routing bias off by ${bErr}`);
      assert.ok(got.bias.some((b) => b !== 0), 'the bias moved');
    }
    assert.deepEqual(readMetrics(path.join(out, 'metrics.jsonl')).map((x) => x.step), [1, 2, 3, 4]);

    // The same run without interruptions: the same losses, norms and final weights, bit for bit.
    const straight = await train({ recipe: r, out: path.join(dir, 'straight'), quiet: true });
    assert.deepEqual(straight.history.map((x) => [x.loss, x.grad_norm, x.lr]), history.map((x) => [x.loss, x.grad_norm, x.lr]));
    assert.ok(new Set(history.map((x) => x.loss)).size === STEPS, 'the loss changes from step to step');
    const a = loadModel(path.join(out, 'final')).namedTensors(), b = new Map(loadModel(straight.finalDir).namedTensors());
    for (const [n, t] of a) assert.deepEqual(t.f32(), b.get(n)!.f32(), n);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
