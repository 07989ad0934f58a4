// Small, deterministic GRPO runs whose metrics and final weights are stored in
// test/fixtures/grpo-reference-<backend>.json. The fixture was produced by the single-function
// grpo() before it was split into rollout / reward / learner roles; the split must reproduce it
// bit for bit (test/grpo-reference.test.ts). Each run exercises different branches: the KL to a
// reference model that is reset, μ = 2 passes, micro-batching, soft overlong punishment and a
// mid-run evaluation (A); dynamic sampling that replaces zero-spread groups, batch-scaled
// advantages, warm-up, temperature and top-p (B); caller-supplied reward functions, prompts and
// prompt encoding, overlong masking, dropped groups and Dr. GRPO aggregation (C).
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad } from '../../src/tensor/index.js';
import type { Rng } from '../../src/tensor/index.js';
import { getPreset } from '../../src/model/presets.js';
import { DeepseekV3 } from '../../src/model/model.js';
import { loadModel, saveModel } from '../../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../../src/tokenizer/index.js';
import { parseGrpoRecipe } from '../../src/rl/config.js';
import type { GrpoRecipe } from '../../src/rl/config.js';
import type { GrpoOptions } from '../../src/rl/grpo.js';
import { sampleProblem } from '../../src/tasks/index.js';
import type { Problem } from '../../src/tasks/index.js';
import { readMetrics } from '../../src/train/metrics.js';

/** Where the reference fixtures live (the source tree, not dist/). */
export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../test/fixtures');

/** Metrics that measure time, not the computation: left out of the comparison. */
export const TIMING_KEYS = new Set(['step_time', 'generation_tokens_per_s', 'elapsed_minutes']);

/**
 * Writes a tokenizer and a nano policy into `dir` (a model directory). The policy ends a completion
 * with probability ≈ 0.2 per token (a constant direction in the residual stream read by the EOS row
 * of the head), so completion lengths vary and length-dependent rewards differ inside a group.
 */
export function writeInitModel(dir: string): void {
  const texts = Array.from({ length: 200 }, (_, i) => `Problem: What is ${i} + ${i + 3}? <think> ${i} plus ${i + 3} </think> <answer> ${2 * i + 3} </answer>`);
  texts.push(...Array.from({ length: 50 }, () => R1ZERO_PREAMBLE + ' User: What is 3 + 4. Assistant:'));
  const tok = Tokenizer.train(texts, { vocabSize: 400 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 4);
  noGrad(() => {
    const D = model.cfg.hiddenSize, emb = model.model.embedTokens.weight.f32(), head = model.headWeight().f32();
    for (let v = 0; v < tok.vocabSize; v++) emb[v * D] = 1;
    head[tok.eosId * D] = 0.6;
  });
  const tokDir = `${dir}.tok`;
  tok.save(tokDir);
  saveModel(dir, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
  fs.rmSync(tokDir, { recursive: true, force: true });
}

/** A named reference run: its recipe and the grpo() options beyond recipe and out. */
export interface ReferenceRun {
  name: string;
  recipe: GrpoRecipe;
  extra: Omit<GrpoOptions, 'recipe' | 'out'>;
}

/** The three reference runs, starting from the model in `init`. */
export function referenceRuns(init: string): ReferenceRun[] {
  const base = { init, steps: 3, promptsPerStep: 2, numGenerations: 4, maxCompletionLength: 12, checkpoint: { every: 0 } };
  const a = parseGrpoRecipe({
    ...base, name: 'ref-a', seed: 2, tasks: { families: ['add', 'sort', 'countdown', 'mul'], difficulties: [1, 2] },
    overlong: 'soft', overlongCache: 12, lr: 1e-3, beta: 0.01, refResetEvery: 2, numIterations: 2, microBatch: 3,
    eval: { every: 3, n: 1, k: 2, difficulties: [1] },
  });
  const b = parseGrpoRecipe({
    ...base, name: 'ref-b', seed: 7, tasks: { families: ['add', 'sub'], difficulties: [1] },
    overlong: 'soft', overlongCache: 10, dynamicSampling: 'replace', scaleRewards: 'batch', lossType: 'grpo',
    warmup: 2, temperature: 0.8, topP: 0.9, lr: 2e-3, microBatch: 8,
  });
  const c = parseGrpoRecipe({
    ...base, name: 'ref-c', seed: 11, tasks: { families: ['add'], difficulties: [1] },
    overlong: 'mask', dynamicSampling: 'drop', lossType: 'dr_grpo', scaleRewards: 'none', lr: 1e-3, microBatch: 8, promptsPerStep: 3,
  });
  // Caller-supplied parts, as the R1 pipeline passes them: a length reward, its own prompts, its own encoding.
  const lengthFn = { name: 'short', weight: 1, fn: (info: { length: number }) => 1 - info.length / 12 };
  const samplePrompts = (rng: Rng, n: number): Problem[] => Array.from({ length: n }, () => sampleProblem('sub', 1, 'train', rng.nextU32()));
  const tok = Tokenizer.fromDir(init);
  const encodePrompt = (p: Problem) => tok.encode(`Q: ${p.prompt} A:`);
  return [
    { name: 'a', recipe: a, extra: {} },
    { name: 'b', recipe: b, extra: {} },
    { name: 'c', recipe: c, extra: { rewardFns: [lengthFn], samplePrompts, encodePrompt } },
  ];
}

/** SHA-256 over every tensor's name and float32 bytes, in the model's order. */
export function weightsHash(modelDir: string): string {
  const h = crypto.createHash('sha256');
  for (const [n, t] of loadModel(modelDir).namedTensors()) {
    const f = t.f32();
    h.update(n);
    h.update(Buffer.from(f.buffer, f.byteOffset, f.byteLength));
  }
  return h.digest('hex');
}

/** What a reference run is compared on: the metric lines without timings, and the final weights. */
export interface RunOutcome {
  lastStep: number;
  metrics: Record<string, number>[];
  evals: { step: number; pass1: number }[];
  finalWeightsSha256: string;
  /** A few final weights, to show how far apart two runs are when the hash differs. */
  sample: Record<string, number[]>;
}

/** The outcome of a finished run in `out`. */
export function outcome(out: string, lastStep: number, evals: { step: number; report: { mean: { pass1: number } } }[]): RunOutcome {
  const metrics = readMetrics(path.join(out, 'metrics.jsonl')).map((m) => Object.fromEntries(Object.entries(m).filter(([k]) => !TIMING_KEYS.has(k))) as Record<string, number>);
  const final = path.join(out, 'final');
  const model = loadModel(final);
  const sample: Record<string, number[]> = {};
  for (const [n, t] of model.namedTensors()) if (/embed_tokens|lm_head|layers\.0\.self_attn\.q_a_proj/.test(n)) sample[n] = Array.from(t.f32().subarray(0, 4));
  return { lastStep, metrics, evals: evals.map((e) => ({ step: e.step, pass1: e.report.mean.pass1 })), finalWeightsSha256: weightsHash(final), sample };
}
