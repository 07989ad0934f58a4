// The pretraining / SFT trainer: packed (or chat) batches → DeepseekV3.loss (CE + λ·MTP + balance)
// → backward → global-norm clip → AdamW on DeepSeek-V3's schedule shape → auxiliary-loss-free bias
// update from the step's expert load. Metrics to `<out>/metrics.jsonl`, checkpoints that resume
// bit-exactly, Ctrl-C saves and exits, periodic held-out greedy evaluation.
import fs from 'node:fs';
import path from 'node:path';
import { Tensor, tidy, noGrad } from '../tensor/index.js';
import { DeepseekV3 } from '../model/model.js';
import { resolveConfig } from '../model/presets.js';
import { configFromHF, configToHF, ConfigError, loadConfigPath } from '../model/config.js';
import type { ModelConfig } from '../model/config.js';
import { loadModel, saveModel } from '../model/checkpoint.js';
import { AdamW, clipGradNorm } from '../nn/optim.js';
import { deepseekV3Schedule, warmupCosine } from '../nn/schedule.js';
import { Tokenizer } from '../tokenizer/index.js';
import { loadRecipe, readCorpus, writeCorpus } from '../data/index.js';
import { copyFileAtomic, writeFileAtomic } from '../io/index.js';
import { Generator } from '../infer/generator.js';
import { evaluate } from '../infer/evaluate.js';
import type { EvalReport } from '../infer/evaluate.js';
import { MetricsWriter } from './metrics.js';
import { PackedDataset, encodeDocuments } from './packing.js';
import { copyProbe } from '../infer/copy-probe.js';
import { SftDataset } from './sft-data.js';
import { parseRunRecipe } from './recipe.js';
import type { Recipe } from './recipe.js';
import { loadTrainerCheckpoint, openRun, saveTrainerCheckpoint, sameRecipe, unlockRun } from './checkpoint.js';
import { Progress } from './progress.js';

/** How to run. */
export interface TrainOptions {
  recipe: Recipe;
  /** Run directory (metrics, checkpoints, final model). */
  out: string;
  /** Continue the run in `out` from its latest checkpoint. */
  resume?: boolean;
  /** Stop after this step (for tests: simulate an interruption). */
  stopAfter?: number;
  /** No progress bar / log lines. */
  quiet?: boolean;
  /** Called after every step with its metrics. */
  onStep?: (m: StepMetrics) => void;
}

/** Metrics of one optimizer step. */
export interface StepMetrics {
  step: number;
  loss: number;
  ce: number;
  mtp_loss: number;
  balance_loss: number;
  lr: number;
  grad_norm: number;
  tokens: number;
  tokens_per_s: number;
  step_time_s: number;
  expert_load: { layer: number; counts: number[]; max_over_mean: number }[];
}

/** The outcome of a run. */
export interface TrainResult {
  finalDir: string;
  lastStep: number;
  interrupted: boolean;
  history: StepMetrics[];
  evals: { step: number; report: EvalReport }[];
}

/** Learning rate at a step for a recipe (DeepSeek-V3's warmup → constant → cosine → constant by default). */
export function learningRate(r: Recipe, step: number): number {
  const lr = r.train.lr, total = r.train.steps;
  if (lr.schedule === 'constant') return step < lr.warmup ? (lr.peak * (step + 1)) / lr.warmup : lr.peak;
  if (lr.schedule === 'cosine') return warmupCosine(step, { peak: lr.peak, min: lr.decayTo ?? lr.peak / 10, warmup: lr.warmup, total });
  return deepseekV3Schedule(step, {
    peak: lr.peak, warmup: lr.warmup,
    constantUntil: Math.max(lr.warmup, Math.round(lr.constantFrac * total)),
    decayEnd: Math.max(lr.warmup, Math.round(lr.decayEndFrac * total)),
    decayTo: lr.decayTo ?? lr.peak / 10,
    final: lr.final ?? lr.peak / 30,
  });
}

/** The model config of a recipe (preset or config path, plus HF-key overrides). */
export function recipeConfig(r: Recipe, vocabSize?: number): ModelConfig {
  const base = configToHF(resolveConfig(r.model.preset));
  const merged = { ...base, ...r.model.overrides, ...(vocabSize ? { vocab_size: vocabSize } : {}) };
  return configFromHF(merged);
}

/**
 * Checks, before any data is built or weights are allocated, that the recipe's sequences fit the
 * model's RoPE table: train.seqLen positions must not exceed max_position_embeddings (of model.init's
 * config.json when the run starts from a model directory, else of the preset with its overrides).
 */
export function checkRecipeFitsModel(r: Recipe): void {
  const cfg = r.model.init ? loadConfigPath(r.model.init) : recipeConfig(r);
  const from = r.model.init ? `model.init ${r.model.init}` : `model.preset ${JSON.stringify(r.model.preset)}`;
  if (r.train.seqLen > cfg.maxPositionEmbeddings) {
    throw new ConfigError(
      `recipe "${r.name}": train.seqLen ${r.train.seqLen} exceeds the model's max_position_embeddings ${cfg.maxPositionEmbeddings} (${from}); ` +
        `lower train.seqLen to at most ${cfg.maxPositionEmbeddings} or raise max_position_embeddings in model.overrides`,
      'max_position_embeddings', `at least train.seqLen (${r.train.seqLen})`, String(cfg.maxPositionEmbeddings),
    );
  }
}

function log(quiet: boolean | undefined, msg: string): void {
  if (!quiet) console.error(msg);
}

/** Prepares (or reloads, on resume) the tokenizer and the training data of a run. */
function prepareData(r: Recipe, out: string, quiet?: boolean): { tok: Tokenizer; data: PackedDataset | SftDataset } {
  const tokDir = path.join(out, 'tokenizer');
  if (r.kind === 'sft') {
    if (!r.data.file && !r.data.sftTasks) throw new Error('an SFT recipe needs data.file (a JSONL of {"prompt", "response"} or {"messages"}) or data.sftTasks');
    const tok = r.tokenizer.path ? Tokenizer.fromDir(r.tokenizer.path) : r.model.init ? Tokenizer.fromDir(r.model.init) : null;
    if (!tok) throw new Error('an SFT recipe needs tokenizer.path or model.init (a model directory with tokenizer files)');
    const data = r.data.file ? SftDataset.fromFile(r.data.file, tok, r.train.seqLen, r.seed) : SftDataset.fromTasks(r.data.sftTasks!, tok, r.train.seqLen, r.seed);
    return { tok, data };
  }
  // Pretraining corpus: written once into the run directory, so a resume reads the very same documents.
  const corpusFile = path.join(out, 'corpus.jsonl');
  if (!fs.existsSync(corpusFile)) {
    if (r.data.file) copyFileAtomic(r.data.file, corpusFile);
    else {
      const t0 = performance.now();
      const dataRecipe = loadRecipe(r.data.recipe);
      writeCorpus(corpusFile, dataRecipe, { seed: r.seed, tokens: r.data.tokens });
      log(quiet, `data: built corpus "${dataRecipe.name}" into ${corpusFile} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
  }
  const texts = readCorpus(corpusFile).map((d) => d.text);
  let tok: Tokenizer;
  if (r.tokenizer.path) tok = Tokenizer.fromDir(r.tokenizer.path);
  else if (fs.existsSync(path.join(tokDir, 'tokenizer.json'))) tok = Tokenizer.fromDir(tokDir);
  else {
    const t0 = performance.now();
    tok = Tokenizer.train(texts, { vocabSize: r.tokenizer.vocabSize });
    tok.save(tokDir);
    log(quiet, `tokenizer: trained byte-level BPE, ${tok.vocabSize} tokens, in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const ids = encodeDocuments(tok, texts);
  return { tok, data: new PackedDataset(ids, r.train.seqLen, r.seed, tok.bosId, tok.eosId) };
}

function tokenizerFiles(tok: Tokenizer): Record<string, string | Uint8Array> {
  const dir = fs.mkdtempSync(path.join(process.env.TMPDIR ?? '/tmp', 'tinyseek-tok-'));
  tok.save(dir);
  const files: Record<string, string | Uint8Array> = {};
  for (const f of fs.readdirSync(dir)) files[f] = fs.readFileSync(path.join(dir, f));
  fs.rmSync(dir, { recursive: true, force: true });
  return files;
}

/** Runs (or resumes) a pretraining or SFT run. */
export async function train(opts: TrainOptions): Promise<TrainResult> {
  try {
    return await trainLocked(opts);
  } finally {
    unlockRun(opts.out); // taken by openRun
  }
}

async function trainLocked(opts: TrainOptions): Promise<TrainResult> {
  const r = opts.recipe;
  const out = opts.out;
  checkRecipeFitsModel(r); // before anything is written
  // Cleans up after killed saves; refuses to start over a folder with history; picks the newest
  // complete checkpoint on --resume (printing what it skipped).
  const resumed = openRun(out, opts.resume ?? false, loadTrainerCheckpoint);

  const { tok, data } = prepareData(r, out, opts.quiet);
  const tokFiles = tokenizerFiles(tok);

  let model: DeepseekV3;
  let start = 0;
  let restoreOpt: ((o: AdamW) => void) | null = null;
  if (resumed) {
    const c = resumed.loaded;
    if (!sameRecipe(c.state.recipe, r, parseRunRecipe)) throw new Error(`--resume: the recipe differs from the one ${out} was started with (see ${resumed.dir}/trainer_state.json)`);
    model = c.model;
    start = c.state.step;
    restoreOpt = c.optimizer;
    console.error(`resume: continuing from step ${start} (${resumed.dir})`);
  } else if (r.model.init) {
    model = loadModel(r.model.init);
    if (model.cfg.vocabSize !== tok.vocabSize) throw new Error(`model.init ${r.model.init} has vocab ${model.cfg.vocabSize}, the tokenizer ${tok.vocabSize}`);
  } else {
    model = new DeepseekV3(recipeConfig(r, tok.vocabSize), r.seed);
  }
  model.train();
  const opt = new AdamW(model.namedParameters(), {
    lr: r.train.lr.peak, beta1: r.train.beta1, beta2: r.train.beta2, eps: 1e-8, weightDecay: r.train.weightDecay,
  });
  if (restoreOpt) restoreOpt(opt);

  writeFileAtomic(path.join(out, 'recipe.json'), JSON.stringify(r, null, 2) + '\n');
  const metrics = new MetricsWriter(out);
  // Lines after the resumed step are from the interrupted part of the run; starting at step 0 is
  // only allowed when the file holds no records (openRun refuses otherwise).
  if (start > 0) metrics.truncateAfter(start);
  else if (fs.existsSync(metrics.file)) fs.rmSync(metrics.file);

  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.on('SIGINT', onSigint);
  const history: StepMetrics[] = [];
  const evals: { step: number; report: EvalReport }[] = [];
  const B = r.train.batchSize, A = r.train.gradAccum, T = r.train.seqLen;
  const progress = new Progress(r.train.steps, start, opts.quiet);
  const save = (step: number) => saveTrainerCheckpoint(out, model, opt, { step, seed: r.seed, recipe: r }, tokFiles);
  let step = start;
  try {
    for (; step < r.train.steps; step++) {
      // The step loop is synchronous: let the event loop run once per step, or a SIGINT (Ctrl-C)
      // would only be dispatched after the whole run.
      await new Promise<void>((resolve) => setImmediate(resolve));
      if (interrupted) break;
      if (opts.stopAfter !== undefined && step >= opts.stopAfter) break;
      const t0 = performance.now();
      const lr = learningRate(r, step);
      opt.lr = lr;
      opt.zeroGrad();
      let loss = 0, ce = 0, mtp = 0, bal = 0, tokens = 0;
      for (let a = 0; a < A; a++) {
        const g = (step * A + a) * B;
        tidy(() => {
          const batch = data instanceof PackedDataset
            ? { ids: Tensor.ints(data.batch(g, B), [B, T + 1]), weights: undefined }
            : data.batch(g, B);
          const res = model.loss(batch.ids, { mtpWeight: r.train.mtpWeight, weights: batch.weights, documentMask: r.train.documentMask && data instanceof PackedDataset });
          res.loss.mul(1 / A).backward();
          loss += res.loss.item() / A;
          ce += res.ce / A;
          mtp += res.mtp / A;
          bal += res.balance / A;
          tokens += res.tokens;
        });
      }
      const gradNorm = clipGradNorm(model.parameters(), r.train.clip);
      noGrad(() => opt.step());
      const loads = model.takeExpertLoad();
      model.updateRoutingBias(loads, r.train.biasUpdateSpeed);
      const dt = (performance.now() - t0) / 1000;
      const m: StepMetrics = {
        step: step + 1, loss, ce, mtp_loss: mtp, balance_loss: bal, lr, grad_norm: gradNorm, tokens,
        tokens_per_s: tokens / dt, step_time_s: dt,
        expert_load: loads.map(({ layer, load }) => ({ layer, counts: load.counts, max_over_mean: load.maxOverMean })),
      };
      if (!Number.isFinite(loss)) throw new Error(`step ${step + 1}: loss is ${loss} (diverged); lower train.lr.peak or check the data`);
      metrics.write({ ...m });
      history.push(m);
      opts.onStep?.(m);
      progress.update(step + 1, { ce: m.ce, tokS: m.tokens_per_s });
      const done = step + 1;
      if (r.checkpoint.every > 0 && done % r.checkpoint.every === 0 && done < r.train.steps) save(done);
      if (r.eval.probeEvery > 0 && done % r.eval.probeEvery === 0) {
        model.eval();
        const probe = copyProbe(model, tok, { seed: r.seed + 1000 });
        model.train();
        metrics.write({ step: done, digit_nll: probe.meanDigitNll, digit_nll_by_family: Object.fromEntries(probe.families.map((f) => [f.family, f.digitNll])) });
      }
      if (r.eval.every > 0 && done % r.eval.every === 0) {
        const report = await runEval(model, tok, r);
        evals.push({ step: done, report });
        metrics.write({ step: done, eval: report.families.map((f) => ({ family: f.family, greedy: f.greedy, greedy_lenient: f.greedyLenient })), eval_greedy_mean: report.mean.greedy });
        model.train();
      }
    }
  } finally {
    process.off('SIGINT', onSigint);
    progress.stop();
  }
  if (interrupted || (opts.stopAfter !== undefined && step < r.train.steps)) {
    const dir = save(step);
    log(opts.quiet, interrupted ? `interrupted: saved ${dir}; continue with --resume` : `stopped at step ${step}: saved ${dir}`);
    return { finalDir: dir, lastStep: step, interrupted: true, history, evals };
  }
  const finalDir = path.join(out, 'final');
  saveModel(finalDir, model, { tokenizerFiles: tokFiles });
  save(step);
  if (r.eval.final) {
    const report = evals.at(-1)?.step === step ? evals.at(-1)!.report : await runEval(model, tok, r);
    if (evals.at(-1)?.step !== step) evals.push({ step, report });
    writeFileAtomic(path.join(out, 'eval.json'), JSON.stringify({ step, ...report }, null, 2) + '\n');
  }
  return { finalDir, lastStep: step, interrupted: false, history, evals };
}

/** Held-out greedy accuracy per task family (the trainer's periodic evaluation). */
export async function runEval(model: DeepseekV3, tok: Tokenizer, r: Recipe): Promise<EvalReport> {
  model.eval();
  const gen = new Generator(model, { maxBatch: 64, maxLen: Math.min(model.cfg.maxPositionEmbeddings, 512) });
  return evaluate(gen, tok, { families: r.eval.families, difficulties: r.eval.difficulties, n: r.eval.n, k: 0, maxNewTokens: r.eval.maxNewTokens, seed: r.seed });
}
