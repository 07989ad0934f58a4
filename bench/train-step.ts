// `tinyseek bench train-step`: one full DeepSeek-V3 training step — forward with the MTP module and
// the balance loss, backward, global-norm clipping, AdamW, the auxiliary-loss-free bias update — in
// tinyseek (what src/train/trainer.ts does per step) vs the same model's step in PyTorch CPU
// (bench/peers/train_step_torch.py, built from the config.json written here), fp32, same thread count.
// Cases: the model of recipes/pretrain-small-prose.json, and the plain `mini` preset, both at
// vocabulary 2048 and batch 16 × 256 tokens (the recipe's), random token ids, MTP weight 0.1.
// ratio = PyTorch ms / tinyseek ms (> 1: tinyseek is faster).
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Tensor, Rng, tidy, noGrad } from '../src/tensor/index.js';
import { backend } from '../src/backend/index.js';
import type { ModelConfig } from '../src/model/config.js';
import { configToHF } from '../src/model/config.js';
import type { DeepseekV3 } from '../src/model/model.js';
import { createModel, asDeepseek, deepseekConfig } from '../src/model/registry.js';
import { AdamW, clipGradNorm } from '../src/nn/optim.js';
import { recipeConfig } from '../src/train/trainer.js';
import { loadRunRecipe, RECIPES_DIR } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { PYTHON, pythonHas, report, setTinyseekThreads, timeIt } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'DeepSeek-V3 training step (MTP, MoE, AdamW), B16×T256, vs PyTorch CPU (ratio = torch ms / tinyseek ms)';

const here = path.dirname(fileURLToPath(import.meta.url));
export const peerScript = path.resolve(here, '../../bench/peers/train_step_torch.py');

/** The recipe whose model and batch shape the benchmark runs. */
export const RECIPE = 'pretrain-small-prose';
const MTP_WEIGHT = 0.1;
const LR = 1e-3;
const WEIGHT_DECAY = 0.1;
const CLIP = 1.0;
const BIAS_SPEED = 0.001;

/** One benchmarked model: its config (as the trainer builds it) and the batch shape. */
export interface TrainStepCase {
  name: string;
  cfg: ModelConfig;
  batch: number;
  seqLen: number;
}

/**
 * The cases: the recipe's model (preset + overrides, the tokenizer's vocabulary) and the plain `mini`
 * preset at the same vocabulary, both at the recipe's batch size and sequence length. Configs come
 * from the trainer's own recipeConfig, so they are exactly what `tinyseek pretrain` would build.
 */
export function trainStepCases(): TrainStepCase[] {
  const r = loadRunRecipe(path.join(RECIPES_DIR, `${RECIPE}.json`));
  const V = r.tokenizer.vocabSize;
  const plainMini: Recipe = { ...r, model: { ...r.model, preset: 'mini', overrides: {} } };
  return [
    { name: RECIPE, cfg: deepseekConfig(recipeConfig(r, V), 'bench train-step'), batch: r.train.batchSize, seqLen: r.train.seqLen },
    { name: 'mini', cfg: deepseekConfig(recipeConfig(plainMini, V), 'bench train-step'), batch: r.train.batchSize, seqLen: r.train.seqLen },
  ];
}

/** Trainable parameters of the model a config builds (tinyseek side: MTP module included, the gate biases excluded). */
export function tinyseekParams(cfg: ModelConfig): number {
  return createModel(cfg, 0).numParameters();
}

/** Random token ids [B, T+1] (seeded) in [0, V). */
function randomIds(B: number, T: number, V: number, seed = 0): Tensor {
  const rng = new Rng(seed);
  const ids = new Int32Array(B * (T + 1));
  for (let i = 0; i < ids.length; i++) ids[i] = rng.int(V);
  return Tensor.ints(ids, [B, T + 1]);
}

/**
 * The model, optimizer and a closure running one training step exactly as src/train/trainer.ts does
 * (gradAccum 1, no data parallelism, document mask off): zeroGrad; in tidy, loss (CE + λ·MTP +
 * balance) and backward; clip the global gradient norm; AdamW step without autograd; bias update
 * from the step's expert load.
 */
export function makeTrainStep(cfg: ModelConfig, B: number, T: number, seed = 0): { step: () => number; params: number } {
  const model: DeepseekV3 = asDeepseek(createModel(cfg, seed), 'bench train-step');
  model.train();
  const opt = new AdamW(model.namedParameters(), { lr: LR, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: WEIGHT_DECAY });
  const ids = randomIds(B, T, cfg.vocabSize, seed);
  const step = (): number => {
    opt.zeroGrad();
    let loss = 0;
    tidy(() => {
      const res = model.loss(ids, { mtpWeight: MTP_WEIGHT, documentMask: false });
      res.loss.backward();
      loss = res.loss.item();
    });
    const loads = model.takeExpertLoad();
    clipGradNorm(model.parameters(), CLIP);
    noGrad(() => opt.step());
    model.updateRoutingBias(loads, BIAS_SPEED);
    return loss;
  };
  return { step, params: model.numParameters() };
}

/** What the PyTorch peer printed. */
export interface PeerResult {
  ms: number;
  params: number;
  steps?: number;
  first_loss?: number;
  threads?: number;
  torch?: string;
  /** 'eager' (matmul, mask, softmax, matmul) or 'sdpa' (F.scaled_dot_product_attention, PyTorch ≥ 2.1). */
  attention?: string;
}

/** Writes cfg as a Hugging Face config.json into a fresh temp dir; returns its path (the caller removes the dir). */
export function writeConfig(cfg: ModelConfig): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-bench-train-step-'));
  const file = path.join(dir, 'config.json');
  fs.writeFileSync(file, JSON.stringify(configToHF(cfg), null, 2) + '\n');
  return file;
}

/** Runs the PyTorch peer on a config (with `countOnly`, just builds the model and reports its parameter count). */
export function runPeer(cfg: ModelConfig, B: number, T: number, seconds: number, threads: number, countOnly = false): PeerResult {
  const file = writeConfig(cfg);
  try {
    const args = [peerScript, file, String(B), String(T), String(seconds), String(threads), String(MTP_WEIGHT), ...(countOnly ? ['--count'] : [])];
    const r = spawnSync(PYTHON, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
    if (r.status !== 0) throw new Error(`PyTorch peer failed: ${(r.stderr || r.error?.message || '').trim().split('\n').pop()}`);
    return JSON.parse(r.stdout.trim().split('\n').pop()!) as PeerResult;
  } finally {
    fs.rmSync(path.dirname(file), { recursive: true, force: true });
  }
}

/** Threads of both sides: TINYSEEK_BENCH_THREADS, else 2 (the machine's cores here). */
export function benchThreads(): number {
  const forced = Number(process.env.TINYSEEK_BENCH_THREADS);
  return Number.isInteger(forced) && forced >= 1 ? forced : 2;
}

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const threads = benchThreads();
  setTinyseekThreads(threads);
  const missing = pythonHas('torch');
  const notes: string[] = [];
  const cpus = os.cpus().length, load = os.loadavg()[0];
  if (load > Math.max(0, cpus - threads) + 0.5) {
    notes.push(`machine busy (load average ${load.toFixed(1)} on ${cpus} CPUs, ${threads} thread${threads > 1 ? 's' : ''} per side): the timings are noisy` +
      (threads > 1 ? ', and PyTorch\'s OpenMP threads slow down several times when oversubscribed; measure on a quiet machine, or set TINYSEEK_BENCH_THREADS=1' : '; measure on a quiet machine'));
  }
  const rows: Record<string, string | number>[] = [];
  for (const c of trainStepCases()) {
    const { cfg, batch: B, seqLen: T } = c;
    const tokens = B * T;
    const ts = makeTrainStep(cfg, B, T);
    const tinyMs = timeIt(() => { ts.step(); }, opts.seconds);
    let peer: PeerResult | null = null;
    if (!missing) {
      try {
        peer = runPeer(cfg, B, T, opts.seconds, threads);
      } catch (e) {
        notes.push(`${c.name}: ${(e as Error).message}`);
      }
    }
    if (peer && peer.params !== ts.params) {
      throw new Error(`bench train-step (${c.name}): the two models differ: tinyseek has ${ts.params} trainable parameters, the PyTorch peer ${peer.params}`);
    }
    const torchMs = peer ? peer.ms : NaN;
    rows.push({
      bench: 'train-step', model: c.name,
      shape: `L${cfg.numHiddenLayers} d${cfg.hiddenSize} V${cfg.vocabSize} B${B} T${T}`,
      params: ts.params, peer_params: peer ? peer.params : NaN,
      backend: backend().name, threads,
      tinyseek_ms: tinyMs, peer_ms: torchMs,
      tinyseek_tok_s: (tokens / tinyMs) * 1000, peer_tok_s: (tokens / torchMs) * 1000,
      ratio: torchMs / tinyMs,
      torch: peer ? `${peer.torch ?? '?'} ${peer.attention ?? ''}`.trim() : '-',
    });
  }
  report(rows, opts.json, `DeepSeek-V3 training step (forward + MTP + backward + clip + AdamW + bias update), fp32, ${threads} thread${threads > 1 ? 's' : ''} each (ratio = PyTorch ms / tinyseek ms; > 1 means tinyseek is faster)`);
  for (const n of notes) console.error(n);
}
