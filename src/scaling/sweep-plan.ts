// The scaling sweeps: which models, at which compute budgets, with which hyperparameters.
// Models are the `mini` family sized by depth and width as the presets are (mini = 4 layers, d = 192):
// d/48 heads (one for d = 24) of MLA with mini's head dims (qk 32 + 16 rope, v 32), q_lora_rank d/2, kv_lora_rank d/3,
// dense MLP 8/3·d, experts 2/3·d (8 routed, top-2, + 1 shared, 4 groups, top-2 groups; layer 0 dense
// unless it is the only layer),
// no MTP module (M does not count it, and the sweep measures the language model alone).
// The dense variant of a size is the same model with every layer's MLP dense (8/3·d).
// Compute is DeepSeek LLM's C = M·D (src/analysis/flops.ts). For each budget C every size runs for
// D = C/M tokens (rounded to whole steps; sizes under `minSteps` steps are left out); the learning rate
// follows a warmup + cosine to peak/10 over the run's own length (Chinchilla §D.1). A second study
// trains one size over a grid of batch sizes and learning rates at the smallest two budgets (DeepSeek
// LLM §3.1). Every run is a pretraining recipe under recipes/scaling-<sweep>/ (tested equal to this plan).
import { configFromHF, configToHF } from '../model/config.js';
import type { ModelConfig } from '../model/config.js';
import { getPreset } from '../model/presets.js';
import { modelScale } from '../analysis/flops.js';
import type { Recipe } from '../train/recipe.js';
import type { AccuracySpec } from './sweep-accuracy.js';

/** One model size of the family. */
export interface SweepSize {
  layers: number;
  hidden: number;
}

export type Arch = 'moe' | 'dense';

/** A sweep's definition. */
export interface SweepPlan {
  name: string;
  seed: number;
  vocabSize: number;
  /** Pretraining corpus tokens (pre-tokens of the data recipe) and the share held out for validation. */
  corpusTokens: number;
  dataRecipe: string;
  /** Every this-many-th document goes to validation, up to valTokens tokens. */
  valEvery: number;
  valTokens: number;
  seqLen: number;
  batchSize: number;
  lr: number;
  documentMask: boolean;
  budgets: number[];
  sizes: SweepSize[];
  archs: Arch[];
  minSteps: number;
  /** The batch-size / learning-rate grid: budgets, one size, MoE only. */
  hyper: { budgets: number[]; size: SweepSize; batchSizes: number[]; lrs: number[] };
  /**
   * Seed replicates: the IsoFLOP run of one size at one budget trained again with other seeds (same
   * data, initialisation and data order drawn from the seed), per architecture, to measure how much
   * the final loss moves with the seed alone — the noise every comparison in the sweep is read against.
   */
  seeds?: { budget: number; size: SweepSize; seeds: number[] };
  /** Reasoning accuracy against compute: the fine-tune and evaluation of the sweep's models (sweep-accuracy.ts). */
  accuracy: AccuracySpec;
  /** Assumed training speed here when quiet, for the time estimate: FLOP/s of M·D plus the head … */
  flopsPerSecond: number;
  /** … plus a fixed cost per token (embedding, norms, kernel launches), which dominates the smallest models. */
  secondsPerToken: number;
}

/** One run of a sweep. */
export interface SweepRun {
  name: string;
  study: 'isoflop' | 'hyper' | 'seed';
  /** The run's seed when it is not the plan's (seed replicates). */
  seed?: number;
  arch: Arch;
  budget: number;
  size: SweepSize;
  M: number;
  /** M/6: the effective parameter count for C = 6·N·D. */
  N: number;
  nonEmbeddingActivated: number;
  steps: number;
  batchSize: number;
  lr: number;
  tokens: number;
  /** Actual compute M·D (≈ budget). */
  C: number;
  /** Head FLOPs, not in M but paid: 6·vocab·d·D. */
  headFlops: number;
}

const r16 = (x: number) => Math.max(16, Math.round(x / 16) * 16);

/** HF config overrides (on the mini preset) for one size and architecture. */
export function sizeOverrides(s: SweepSize, arch: Arch): Record<string, unknown> {
  if (s.hidden % 48 !== 0 && s.hidden !== 24) throw new RangeError(`sweep size: hidden must be 24 (one head) or a multiple of 48 (d/48 heads), found ${s.hidden}`);
  const d = s.hidden;
  const heads = Math.max(1, d / 48);
  return {
    hidden_size: d, num_hidden_layers: s.layers, num_attention_heads: heads, num_key_value_heads: heads,
    intermediate_size: r16((8 * d) / 3), moe_intermediate_size: r16((2 * d) / 3),
    q_lora_rank: d / 2, kv_lora_rank: r16(d / 3),
    first_k_dense_replace: arch === 'dense' ? s.layers : Math.min(1, s.layers - 1), // a 1-layer MoE model has no dense layer
    num_nextn_predict_layers: 0, initializer_range: 0.04,
  };
}

/** The model config of a size. */
export function sizeConfig(s: SweepSize, arch: Arch, vocabSize: number): ModelConfig {
  return configFromHF({ ...configToHF(getPreset('mini')), ...sizeOverrides(s, arch), vocab_size: vocabSize });
}

const budgetTag = (C: number) => C.toExponential(1).replace('.0e', 'e').replace('+', '');

/** Every run of a plan, cheapest first. */
export function planRuns(p: SweepPlan): SweepRun[] {
  const runs: SweepRun[] = [];
  const make = (study: SweepRun['study'], arch: Arch, budget: number, size: SweepSize, batchSize: number, lr: number, seed?: number): SweepRun | null => {
    const cfg = sizeConfig(size, arch, p.vocabSize);
    const sc = modelScale(cfg, p.seqLen);
    const perStep = batchSize * p.seqLen;
    const steps = Math.round(budget / (sc.M * perStep));
    if (steps < p.minSteps) return null;
    const tokens = steps * perStep;
    const hp = study === 'hyper' ? `-b${batchSize}-lr${lr}` : study === 'seed' ? `-s${seed}` : '';
    return {
      name: `${study}-${arch}-C${budgetTag(budget)}-L${size.layers}d${size.hidden}${hp}`, study, arch, budget, size, ...(seed === undefined ? {} : { seed }),
      M: sc.M, N: sc.M / 6, nonEmbeddingActivated: sc.nonEmbeddingActivated, steps, batchSize, lr, tokens, C: sc.M * tokens, headFlops: sc.headFlops * tokens,
    };
  };
  for (const arch of p.archs) for (const C of p.budgets) for (const s of p.sizes) {
    const r = make('isoflop', arch, C, s, p.batchSize, p.lr);
    if (r) runs.push(r);
  }
  for (const C of p.hyper.budgets) for (const b of p.hyper.batchSizes) for (const lr of p.hyper.lrs) {
    if (b === p.batchSize && lr === p.lr) continue; // the IsoFLOP run of this size is the grid's centre
    const r = make('hyper', 'moe', C, p.hyper.size, b, lr);
    if (r) runs.push(r);
  }
  if (p.seeds) for (const arch of p.archs) for (const seed of p.seeds.seeds) {
    if (seed === p.seed) throw new RangeError(`${p.name}: seed replicate ${seed} is the plan's own seed (its IsoFLOP run is the first replicate)`);
    const r = make('seed', arch, p.seeds.budget, p.seeds.size, p.batchSize, p.lr, seed);
    if (r) runs.push(r);
  }
  return runs.sort((a, b) => a.C - b.C || a.name.localeCompare(b.name));
}

/** The pretraining recipe of one run (data and tokenizer are the sweep's shared ones under `dataDir`). */
export function runRecipe(p: SweepPlan, r: SweepRun, dataDir: string): Recipe {
  const warmup = Math.max(1, Math.min(50, Math.round(0.1 * r.steps)));
  return {
    kind: 'pretrain', name: r.name, seed: r.seed ?? p.seed,
    model: { preset: 'mini', overrides: { ...sizeOverrides(r.size, r.arch), vocab_size: p.vocabSize } },
    tokenizer: { vocabSize: p.vocabSize, path: `${dataDir}/tokenizer` },
    data: { recipe: p.dataRecipe, file: `${dataDir}/train.jsonl` },
    train: {
      steps: r.steps, batchSize: r.batchSize, seqLen: p.seqLen, gradAccum: 1,
      lr: { peak: r.lr, warmup, schedule: 'cosine', constantFrac: 0.6, decayEndFrac: 0.95, decayTo: r.lr / 10 },
      weightDecay: 0.1, beta1: 0.9, beta2: 0.95, clip: 1.0, mtpWeight: 0, biasUpdateSpeed: 0.001, documentMask: p.documentMask,
    },
    eval: { every: 0, final: false, n: 1, difficulties: [1], maxNewTokens: 1, probeEvery: 0 },
    checkpoint: { every: Math.max(25, Math.round(r.steps / 4)) },
  } as Recipe;
}

/**
 * The full sweep: 3 budgets over 10× (3e11–3e12 FLOPs: Chinchilla's 20 tokens per parameter puts
 * M_opt near 6·√(C/120) ≈ 0.3–1M here), 6 sizes from 1 layer × 24 to 3 × 144, MoE and dense; the
 * batch/LR grid at the smallest two budgets on the size nearest their optimum. (1 × 24 was added after
 * the first 44 runs: at 3e11 the smallest size was the best, so that parabola's minimum was not bracketed.
 * The seed replicates were added after the 50 runs, to measure the noise the fits are read against.)
 */
export const SWEEP: SweepPlan = {
  name: 'sweep', seed: 0, vocabSize: 1024, corpusTokens: 6_000_000, dataRecipe: 'default', valEvery: 50, valTokens: 65_536,
  seqLen: 256, batchSize: 16, lr: 3e-3, documentMask: true,
  budgets: [3e11, 1e12, 3e12],
  sizes: [{ layers: 1, hidden: 24 }, { layers: 1, hidden: 48 }, { layers: 2, hidden: 48 }, { layers: 4, hidden: 48 }, { layers: 2, hidden: 96 }, { layers: 3, hidden: 144 }],
  archs: ['moe', 'dense'], minSteps: 20,
  hyper: { budgets: [3e11, 1e12], size: { layers: 2, hidden: 48 }, batchSizes: [8, 16, 32], lrs: [1.5e-3, 3e-3, 6e-3] },
  seeds: { budget: 1e12, size: { layers: 2, hidden: 48 }, seeds: [1, 2, 3] },
  accuracy: { runs: 'best', difficulties: [1, 2], n: 100, steps: 200, batchSize: 16, lr: 1e-3, evalN: 25, maxNewTokens: 160 },
  flopsPerSecond: 2.5e10, secondsPerToken: 2e-5,
};

/** A few-minute version of the whole path (2 budgets × 3 sizes × few steps), for checking the machinery. */
export const SWEEP_TINY: SweepPlan = {
  name: 'sweep-tiny', seed: 0, vocabSize: 512, corpusTokens: 150_000, dataRecipe: 'default', valEvery: 20, valTokens: 8_192,
  seqLen: 64, batchSize: 8, lr: 3e-3, documentMask: true,
  budgets: [1.5e10, 4.5e10],
  sizes: [{ layers: 1, hidden: 48 }, { layers: 2, hidden: 48 }, { layers: 2, hidden: 96 }],
  archs: ['moe', 'dense'], minSteps: 4,
  hyper: { budgets: [1.5e10, 4.5e10], size: { layers: 2, hidden: 48 }, batchSizes: [4, 8], lrs: [3e-3, 1e-2] },
  seeds: { budget: 1.5e10, size: { layers: 1, hidden: 48 }, seeds: [1] },
  accuracy: { runs: 'best', families: ['add', 'sort'], difficulties: [1], n: 20, steps: 4, batchSize: 4, lr: 1e-3, evalN: 2, maxNewTokens: 16 },
  flopsPerSecond: 2.5e10, secondsPerToken: 2e-5,
};

/** The sweeps by name. */
export const SWEEPS: Record<string, SweepPlan> = { sweep: SWEEP, 'sweep-tiny': SWEEP_TINY };

/** A sweep by name, with the names in the error. */
export function getSweep(name: string): SweepPlan {
  const p = SWEEPS[name];
  if (!p) throw new RangeError(`unknown sweep preset "${name}"; expected one of: ${Object.keys(SWEEPS).join(', ')}`);
  return p;
}

/** Totals of a plan: compute, head FLOPs, tokens and the estimated hours at the assumed speed. */
export function planTotals(p: SweepPlan, runs = planRuns(p)): { runs: number; C: number; headFlops: number; tokens: number; estimatedHours: number } {
  const C = runs.reduce((a, r) => a + r.C, 0), head = runs.reduce((a, r) => a + r.headFlops, 0);
  return { runs: runs.length, C, headFlops: head, tokens: runs.reduce((a, r) => a + r.tokens, 0), estimatedHours: ((C + head) / p.flopsPerSecond + p.secondsPerToken * runs.reduce((a, r) => a + r.tokens, 0)) / 3600 };
}
