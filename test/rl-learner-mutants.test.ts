// The GRPO learner role on a nano model (found by mutation testing, docs/mutation.md): an empty step
// moves nothing, the warmup schedule by hand, the reference reset every N steps, μ passes (statistics
// of the first; each pass's gradient alone), DAPO's overlong masking, micro-batched reference
// log-probs, and the group-relative advantages of several groups by hand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Learner, advantages, copyWeights } from '../src/rl/learner.js';
import { assembleBatch, policyGradient } from '../src/rl/policy-gradient.js';
import { aggregationWeights } from '../src/rl/loss.js';
import { clipGradNorm } from '../src/nn/optim.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import type { ScoredGroup } from '../src/rl/reward.js';
import { sampleProblem } from '../src/tasks/index.js';

const cfg = { ...getPreset('nano'), vocabSize: 16, numNextnPredictLayers: 0 };
const model = (seed: number) => new DeepseekV3(cfg, seed);
const recipe = (o: Record<string, unknown> = {}) => parseGrpoRecipe({ name: 'l', init: '/nonexistent', tasks: { families: ['add'], difficulties: [1] }, steps: 10, numGenerations: 2, lr: 0.01, ...o });
const problem = sampleProblem('add', 1, 'train', 1);
const weightsOf = (m: DeepseekV3) => new Map([...m.namedTensors()].map(([n, t]) => [n, Float32Array.from(t.f32())]));
const sameWeights = (a: Map<string, Float32Array>, b: Map<string, Float32Array>) => [...a].every(([n, w]) => b.get(n)!.every((x, i) => x === w[i]));

/** One group of two completions of prompt [3, 5] with the given rewards (and truncation). */
function group(rewards: number[], truncated = [false, false]): ScoredGroup {
  const completions = [[4, 9, 1], [8, 2]].map((tokens) => ({ tokens, logprobs: tokens.map(() => -2.5), finishReason: 'stop' as const }));
  return { problem, prompt: [3, 5], step: 0, attempt: 0, index: 0, version: 0, completions, rewards, truncated, perFn: {} };
}

test('advantages of several groups: each group centred and scaled by its own sample std (+1e-4), flattened in order', () => {
  const a = advantages([group([1, 0]), group([2, 2]), group([3, 1])], recipe());
  const s = Math.SQRT1_2 + 1e-4, s2 = Math.SQRT2 + 1e-4; // sample std of {1, 0}; of {3, 1}
  const want = [0.5 / s, -0.5 / s, 0, 0, 1 / s2, -1 / s2];
  want.forEach((w, i) => assert.ok(Math.abs(a[i] - w) < 1e-12, `Â${i} ${a[i]} vs ${w}`));
  const none = advantages([group([1, 0]), group([3, 1])], recipe({ scaleRewards: 'none' }));
  assert.deepEqual(Array.from(none), [0.5, -0.5, 1, -1]);
});

test('a step with no groups moves nothing and reports zeros at the current learning rate', () => {
  const m = model(1), before = weightsOf(m);
  const l = new Learner(m, null, recipe({ warmup: 4 }), 0);
  const s = l.update(0, [], new Float64Array(0));
  assert.deepEqual(s, { loss: 0, clipLow: 0, clipHigh: 0, kl: 0, entropy: 0, gradNorm: 0, lr: 0.01 });
  assert.ok(sameWeights(before, weightsOf(m)));
});

test('warmup by hand: lr · (step + 1) / warmup for steps below warmup, then lr', () => {
  const l = new Learner(model(1), null, recipe({ warmup: 4 }), 0);
  const g = [group([1, 0])];
  const lrs = [0, 1, 3, 4, 7].map((step) => l.update(step, g, advantages(g, recipe())).lr);
  assert.deepEqual(lrs, [0.01 * 1 / 4, 0.01 * 2 / 4, 0.01, 0.01, 0.01]);
  const n = new Learner(model(1), null, recipe(), 0);
  assert.equal(n.update(0, g, advantages(g, recipe())).lr, 0.01, 'no warmup');
});

test('the reference model is reset to the policy at the start of every refResetEvery-th step (not step 0), and never with 0', () => {
  for (const every of [2, 0]) {
    const pol = model(1), ref = model(2), ref0 = weightsOf(ref);
    const l = new Learner(pol, ref, recipe({ beta: 0.1, refResetEvery: every }), 0);
    const g = [group([1, 0])];
    l.update(0, g, advantages(g, recipe()));
    for (const step of [0, 1, 3]) { l.beginStep(step); assert.ok(sameWeights(ref0, weightsOf(ref)), `every ${every}: step ${step} keeps the reference`); }
    l.beginStep(2);
    assert.equal(sameWeights(weightsOf(pol), weightsOf(ref)), every === 2, `every ${every}: step 2 ${every === 2 ? 'resets' : 'keeps'} the reference`);
    assert.ok(!sameWeights(ref0, weightsOf(pol)), 'the policy moved');
  }
});

test('μ = 2 passes: statistics of the first pass; each pass steps on its own gradient (zeroed in between), the same as two μ = 1 updates', () => {
  const g = [group([1, 0])], adv = advantages(g, recipe());
  const a = model(1), b = model(1);
  const two = new Learner(a, null, recipe({ numIterations: 2 }), 0);
  const one = new Learner(b, null, recipe(), 0);
  const s2 = two.update(0, g, adv);
  const s1 = one.update(0, g, adv);
  assert.deepEqual(s2, s1, 'the first pass of μ = 2 is the μ = 1 update');
  assert.ok(s1.loss !== 0 && s1.gradNorm > 0 && s1.entropy > 0);
  // The second pass of μ = 2 is one more pass on the same batch with the same old log-probs, at the same step:
  // by hand, with the lower-level pieces (zero, gradient, clip, AdamW step).
  const r = recipe();
  const seqs = g[0]!.completions.map((c, i) => ({ prompt: g[0]!.prompt, completion: c.tokens, logprobs: c.logprobs, advantage: adv[i], useful: true }));
  const batch = assembleBatch(seqs, 0);
  const w = aggregationWeights(batch.mask, batch.N, batch.L, r.lossType, r.maxCompletionLength);
  one.opt.zeroGrad();
  policyGradient(b, batch, w, null, { epsLow: r.epsLow, epsHigh: r.epsHigh, beta: 0, temperature: r.temperature, microBatch: r.microBatch }, false);
  clipGradNorm(b.parameters(), r.clip);
  noGrad(() => one.opt.step());
  const wa = weightsOf(a), wb = weightsOf(b);
  for (const [n, x] of wa) x.forEach((v, i) => assert.ok(Math.abs(v - wb.get(n)![i]) <= 1e-6 * (1 + Math.abs(v)), `${n}[${i}]: ${v} vs ${wb.get(n)![i]}`));
});

test('overlong "mask": truncated completions carry no loss; with "none" (or untruncated) they do', () => {
  const g = [group([1, 0], [true, true])], adv = advantages(g, recipe());
  const masked = new Learner(model(1), null, recipe({ overlong: 'mask' }), 0).update(0, g, adv);
  assert.equal(masked.loss, 0);
  assert.equal(masked.gradNorm, 0);
  const kept = new Learner(model(1), null, recipe({ overlong: 'none' }), 0).update(0, g, adv);
  assert.ok(kept.loss !== 0 && kept.gradNorm > 0);
  const g2 = [group([1, 0], [true, false])];
  const half = new Learner(model(1), null, recipe({ overlong: 'mask' }), 0).update(0, g2, advantages(g2, recipe()));
  assert.ok(half.gradNorm > 0, 'the untruncated completion still counts');
  assert.notEqual(half.loss, kept.loss);
});

test('reference log-probs micro-batch by micro-batch: the KL is the same for any micro-batch size', () => {
  const g = [group([1, 0]), group([0, 3])];
  const kl = (microBatch: number) => new Learner(model(1), model(2), recipe({ beta: 0.1, microBatch }), 0).update(0, g, advantages(g, recipe())).kl;
  const whole = kl(8);
  assert.ok(whole > 1e-3, `the reference differs from the policy: kl ${whole}`);
  for (const mb of [1, 3]) assert.ok(Math.abs(kl(mb) - whole) < 1e-5 * whole, `micro-batch ${mb}: ${kl(mb)} vs ${whole}`);
});

test('the KL the learner reports is the k3 estimator against the reference model\'s log-probs, by hand (each sequence forwarded alone)', () => {
  const g = [group([1, 0]), group([0, 3])];
  const pol = model(1), ref = model(2);
  // by hand, before the update: log-softmax of each model's logits at the completion positions
  const lp = (m: DeepseekV3, seq: number[], P: number) => noGrad(() => {
    const logits = m.forward(Tensor.ints(seq.slice(0, -1), [1, seq.length - 1])).logits.f32();
    const V = cfg.vocabSize;
    return seq.slice(P).map((tok, j) => {
      const row = Array.from(logits.subarray((P - 1 + j) * V, (P + j) * V));
      const mx = Math.max(...row);
      return row[tok]! - mx - Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
    });
  });
  let sum = 0, n = 0;
  for (const gr of g) for (const c of gr.completions) {
    const seq = [...gr.prompt, ...c.tokens];
    const a = lp(pol, seq, gr.prompt.length), b = lp(ref, seq, gr.prompt.length);
    a.forEach((x, j) => { const d = b[j]! - x; sum += Math.exp(d) - d - 1; n++; });
  }
  for (const microBatch of [1, 3, 8]) {
    const kl = new Learner(model(1), model(2), recipe({ beta: 0.1, microBatch }), 0).update(0, g, advantages(g, recipe())).kl;
    assert.ok(Math.abs(kl - sum / n) < 1e-5 * (sum / n) + 1e-7, `micro-batch ${microBatch}: kl ${kl} vs ${sum / n} by hand`);
  }
});

test('without a reference model the reset is a no-op (and does not fail)', () => {
  const l = new Learner(model(1), null, recipe({ refResetEvery: 2 }), 0);
  for (const step of [0, 1, 2, 4]) l.beginStep(step);
});

test('copyWeights copies every weight and buffer', () => {
  const a = model(1), b = model(2);
  copyWeights(b, a);
  assert.ok(sameWeights(weightsOf(a), weightsOf(b)));
});
