// GRPO: advantages and loss against hand-computed values, reward hacks, a bandit where GRPO raises
// the probability of rewarded outputs, and exact resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../src/tensor/index.js';
import { groupAdvantages } from '../src/rl/advantages.js';
import { aggregationWeights, grpoLoss } from '../src/rl/loss.js';
import { accuracyReward, formatReward, rewardFunctions, scoreCompletions } from '../src/rl/rewards.js';
import type { CompletionInfo } from '../src/rl/rewards.js';
import { sampleProblem, getTask } from '../src/tasks/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { Generator } from '../src/infer/generator.js';
import { completionLogprobs, grpo } from '../src/rl/grpo.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import { AdamW } from '../src/nn/optim.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { readMetrics } from '../src/train/metrics.js';
import * as O from '../src/ops/index.js';

const close = (a: number, b: number, tol = 1e-5) => assert.ok(Math.abs(a - b) < tol, `${a} vs ${b}`);

test('group advantages: (r − mean)/std, r − mean (Dr. GRPO), and batch scaling', () => {
  const r = [1, 0, 0.5, 0.5, 2, 0];
  const g = groupAdvantages(r, 2, 'group', 1e-12);
  close(g[0], 0.5 / Math.SQRT1_2);
  close(g[1], -0.5 / Math.SQRT1_2);
  assert.equal(g[2], 0);
  close(g[4], 1 / Math.SQRT2);
  const n = groupAdvantages(r, 2, 'none');
  assert.deepEqual(Array.from(n), [0.5, -0.5, 0, 0, 1, -1]);
  const b = groupAdvantages(r, 2, 'batch', 1e-12);
  const m = r.reduce((a, x) => a + x, 0) / 6;
  const sd = Math.sqrt(r.reduce((a, x) => a + (x - m) ** 2, 0) / 5);
  close(b[4], 1 / sd);
});

test('GRPO loss: aggregation modes, clip-higher and the k3 KL against hand computation', () => {
  // Two sequences, L = 3; sequence 0 has 2 completion tokens, sequence 1 has 3.
  const mask = Float32Array.from([0, 1, 1, 1, 1, 1]);
  const lp = [0, -1.0, -0.5, -0.2, -2.0, -1.0];
  const old = Float32Array.from([0, -1.0, -0.9, -0.2, -1.0, -1.1]);
  const ref = Float32Array.from([0, -1.2, -0.4, -0.3, -2.5, -1.0]);
  const adv = Float32Array.from([0, 1, 1, -1, -1, -1]);
  const o = { epsLow: 0.2, epsHigh: 0.28, beta: 0.1 };
  const per = (i: number) => {
    const r = Math.exp(lp[i] - old[i]);
    const A = adv[i];
    const clipped = Math.min(Math.max(r, 1 - o.epsLow), 1 + o.epsHigh);
    const obj = Math.min(r * A, clipped * A);
    const d = ref[i] - lp[i];
    return obj - o.beta * (Math.exp(d) - d - 1);
  };
  const expect = {
    grpo: -((per(1) + per(2)) / 2 + (per(3) + per(4) + per(5)) / 3) / 2,
    dapo: -(per(1) + per(2) + per(3) + per(4) + per(5)) / 5,
    dr_grpo: -(per(1) + per(2) + per(3) + per(4) + per(5)) / (2 * 10),
  };
  for (const type of ['grpo', 'dapo', 'dr_grpo'] as const) {
    const w = aggregationWeights(mask, 2, 3, type, 10);
    const logp = Tensor.from(lp, [2, 3]).requiresGrad_();
    const { loss, stats } = grpoLoss(logp, old, ref, adv, w, o);
    close(loss.item(), expect[type]);
    if (type === 'dapo') {
      // token 2: r = e^0.4 = 1.49 > 1.28 with Â > 0 → clipped high; token 4: r = e^-1 = 0.37 < 0.8 with Â < 0 → clipped low.
      close(stats.clipHigh, 1 / 5);
      close(stats.clipLow, 1 / 5);
      loss.backward();
      const g = logp.grad!.f32();
      // A clipped token gets only the KL gradient: d/dlp [β(e^d − d − 1)]·w with d = ref − lp → β(1 − e^d)·w... sign as loss.
      const d2 = ref[2] - lp[2];
      close(g[2], (o.beta * (-Math.exp(d2) + 1)) / 5);
    }
  }
});

test('reward hacks score zero; a correct well-formed answer scores accuracy + format', () => {
  const p = sampleProblem('add', 2, 'train', 5);
  const info = (text: string): CompletionInfo => ({ problem: p, text, length: 10, truncated: false });
  const fns = rewardFunctions({ accuracy: 1, format: 0.5 });
  const score = (t: string) => scoreCompletions(fns, [info(t)]).total[0];
  assert.equal(score(`<think>\nadd the digits\n</think> <answer>${p.answer}</answer>`), 1.5);
  assert.equal(score('<think>\nx\n</think> <answer></answer>'), 0, 'empty answer');
  assert.equal(score(`<think>\nx\n</think> <answer>${p.answer}</answer><answer>${p.answer}</answer>`), 0, 'repeated answer tags');
  assert.equal(score(`<think>\nx\n</think><think>y</think> <answer>${p.answer}</answer>`), 0, 'repeated think tags');
  assert.equal(score(`<think>\nthe answer is ${p.answer}\n</think> ${p.answer}`), 0, 'answer outside the tags');
  assert.equal(score(`${p.answer}`), 0, 'bare answer');
  assert.equal(accuracyReward(info(`<think>\nx\n</think> <answer>${Number(p.answer) + 1}</answer>`)), 0);
  assert.equal(formatReward(info(`<think>\nx\n</think> <answer>${Number(p.answer) + 1}</answer>`)), 1);
  assert.ok(getTask('add'));
});

test('bandit: GRPO updates raise the probability of the rewarded first token', async () => {
  const cfg = { ...getPreset('nano'), vocabSize: 16, numNextnPredictLayers: 0 };
  const model = new DeepseekV3(cfg, 1);
  model.eval();
  const prompt = [3, 5, 7];
  const rewarded = new Set([4, 9]);
  const probOf = () => noGrad(() => tidy(() => {
    const p = O.softmax(model.forward(Tensor.ints(prompt, [1, 3]), { lastOnly: true }).logits).toFloat32Array();
    return p[4] + p[9];
  }));
  const before = probOf();
  const opt = new AdamW(model.namedParameters(), { lr: 3e-3, weightDecay: 0 });
  const gen = new Generator(model, { maxBatch: 16, maxLen: 16 });
  const G = 16;
  for (let step = 0; step < 15; step++) {
    const res = await gen.generateAll(Array.from({ length: G }, (_, j) => ({ prompt, maxNewTokens: 1, sampling: { temperature: 1 }, seed: step * 100 + j })));
    const rewards = res.map((x) => (rewarded.has(x.tokens[0]) ? 1 : 0));
    const adv = groupAdvantages(rewards, G, 'group');
    const L = 3;
    const ids = new Int32Array(G * (L + 1));
    const mask = new Float32Array(G * L), old = new Float32Array(G * L), advTok = new Float32Array(G * L);
    res.forEach((x, i) => {
      ids.set([...prompt, x.tokens[0]], i * (L + 1));
      mask[i * L + 2] = 1;
      old[i * L + 2] = x.logprobs[0];
      advTok[i * L + 2] = adv[i];
    });
    const w = aggregationWeights(mask, G, L, 'grpo', 1);
    opt.zeroGrad();
    tidy(() => {
      const cur = completionLogprobs(model, ids, G, L, 1, true);
      grpoLoss(cur.logp, old, null, advTok, w, { epsLow: 0.2, epsHigh: 0.28, beta: 0 }).loss.backward();
    });
    noGrad(() => opt.step());
  }
  const after = probOf();
  assert.ok(after > before + 0.3, `P(rewarded) ${before.toFixed(3)} → ${after.toFixed(3)}`);
});

test('GRPO run on a nano model: metrics with TRL names, and exact resume of a run that learns (rewards vary, loss and grad norm ≠ 0)', async () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-'));
  const texts = Array.from({ length: 200 }, (_, i) => `Problem: What is ${i} + ${i + 3}? <think> ${i} plus ${i + 3} </think> <answer> ${2 * i + 3} </answer>`);
  texts.push(...Array.from({ length: 50 }, () => R1ZERO_PREAMBLE + ' User: What is 3 + 4. Assistant:'));
  const tok = Tokenizer.train(texts, { vocabSize: 400 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 4);
  // A policy that ends its completion with probability ≈ 0.2 per token: a constant direction in the
  // residual stream (embedding column 0) read by the EOS row of the head. Completion lengths then
  // vary, and DAPO's soft overlong penalty (a cache as long as the budget: reward −|o|/12) gives
  // every group rewards that differ, so every step has a nonzero loss and gradient.
  noGrad(() => {
    const D = model.cfg.hiddenSize, emb = model.model.embedTokens.weight.f32(), head = model.headWeight().f32();
    for (let v = 0; v < tok.vocabSize; v++) emb[v * D] = 1;
    head[tok.eosId * D] = 0.6;
  });
  const init = path.join(root, 'init');
  const tokDir = path.join(root, 'tok');
  tok.save(tokDir);
  saveModel(init, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
  const recipe = parseGrpoRecipe({
    name: 'grpo-test', seed: 2, init, tasks: { families: ['add', 'sort', 'countdown', 'mul'], difficulties: [1, 2] },
    steps: 3, promptsPerStep: 2, numGenerations: 4, maxCompletionLength: 12, overlong: 'soft', overlongCache: 12,
    lr: 1e-3, beta: 0.01, microBatch: 4, checkpoint: { every: 1 },
  });
  const a = await grpo({ recipe, out: path.join(root, 'a'), quiet: true });
  assert.equal(a.lastStep, 3);
  const ma = readMetrics(path.join(root, 'a', 'metrics.jsonl')) as Record<string, number>[];
  for (const k of ['reward', 'reward_std', 'rewards/accuracy/mean', 'rewards/format/mean', 'frac_reward_zero_std', 'completions/mean_length', 'completions/clipped_ratio', 'kl', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean', 'grad_norm', 'step_time', 'generation_tokens_per_s']) {
    assert.ok(k in ma[0], `metric ${k}`);
  }
  for (const m of ma) {
    assert.ok(m.reward_std > 0 && m.frac_reward_zero_std < 1, `step ${m.step}: rewards vary (std ${m.reward_std})`);
    assert.ok(m.loss !== 0 && m.grad_norm > 0, `step ${m.step}: loss ${m.loss}, grad norm ${m.grad_norm}`);
  }
  assert.ok(ma.at(-1)!.kl > 0, 'the policy has moved away from the reference');
  // Interrupted after step 1, then resumed: the same metrics, bit for bit, and the same final weights.
  await grpo({ recipe, out: path.join(root, 'b'), quiet: true, stopAfter: 1 });
  await grpo({ recipe, out: path.join(root, 'b'), quiet: true, resume: true });
  const mb = readMetrics(path.join(root, 'b', 'metrics.jsonl'));
  const keys = ['step', 'loss', 'reward', 'reward_std', 'completions/mean_length', 'grad_norm', 'kl', 'entropy', 'clip_ratio/low_mean', 'clip_ratio/high_mean'];
  assert.deepEqual(mb.map((m) => keys.map((k) => m[k])), ma.map((m) => keys.map((k) => m[k])));
  const wa = loadModel(path.join(root, 'a', 'final')).namedTensors(), wb = new Map(loadModel(path.join(root, 'b', 'final')).namedTensors());
  for (const [n, t] of wa) assert.deepEqual(wb.get(n)!.f32(), t.f32(), `final weight ${n}`);
  fs.rmSync(root, { recursive: true, force: true });
});

test('completion log-probs and entropy at temperature T: the grad pass reads the same entropy as a no-grad pass and a softmax by hand', () => {
  const cfg = { ...getPreset('nano'), vocabSize: 16, numNextnPredictLayers: 0 };
  const model = new DeepseekV3(cfg, 2);
  model.eval();
  const N = 2, L = 4, T = 0.7;
  const ids = Int32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  const a = noGrad(() => tidy(() => { const c = completionLogprobs(model, ids, N, L, T, false); return { lp: c.logp.toFloat32Array(), ent: c.entropy! }; }));
  const b = tidy(() => { const c = completionLogprobs(model, ids, N, L, T, true, true); return { lp: c.logp.toFloat32Array(), ent: c.entropy! }; });
  assert.equal(completionLogprobs(model, ids, N, L, T, true).entropy, null, 'the grad pass skips entropy unless asked');
  const logits = noGrad(() => tidy(() => ({ v: model.forward(Tensor.ints([1, 2, 3, 4, 6, 7, 8, 9], [N, L])).logits.toFloat32Array() }))).v;
  const targets = [2, 3, 4, 5, 7, 8, 9, 10];
  for (let r = 0; r < N * L; r++) {
    const z = Array.from(logits.subarray(r * 16, r * 16 + 16), (x) => x / T);
    const mx = Math.max(...z), lse = mx + Math.log(z.reduce((s, x) => s + Math.exp(x - mx), 0));
    const p = z.map((x) => Math.exp(x - lse));
    const H = -p.reduce((s, q, v) => s + q * (z[v] - lse), 0);
    close(a.lp[r], z[targets[r]] - lse, 1e-4);
    close(b.lp[r], a.lp[r], 1e-6);
    close(a.ent[r], H, 1e-4);
    close(b.ent[r], H, 1e-4);
  }
});
