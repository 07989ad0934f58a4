// DeepSeek-R1's four-stage pipeline on tinyseek (R1 paper §2.3), each stage a role with one input and
// one output, run in order under <out>/ and skipped on a rerun once its STAGE.json marker exists
// (written last, after the stage's model/data is complete; a stage interrupted midway resumes from its
// own checkpoints through openRun):
//
//   base         pretrain (if missing)                           → base model
//   r1zero       GRPO, R1-Zero template, accuracy + format        → R1-Zero model (or an existing one)
//   stage1-data  collect(R1-Zero, prompts) → clean → filter ∪ written worked solutions → cold-start JSONL
//   stage1-sft   sft(base, cold start)                            → stage-1 model
//   stage2-rl    rl(stage-1, accuracy + format + readability)     → stage-2 model
//   stage3-data  collect(stage-2, phrased prompts) → filter ∪ written ∪ general ∪ multi-turn → mixture JSONL
//   stage3-sft   sft(BASE, mixture)                               → stage-3 model
//   rm           Bradley–Terry on chosen/rejected pairs           → reward model (+ held-out pair accuracy)
//   stage4-rl    rl(stage-3, rule rewards ∪ RM on general prompts) → the R1 model
//
// Every model stage is evaluated on held-out material (src/rl/r1/evaluate.ts) and the report
// docs/results/r1-<preset>.{md,json} is rewritten after each stage.
import fs from 'node:fs';
import path from 'node:path';
import { RECIPES_DIR, builtinRecipe, loadRunRecipe, parseRunRecipe } from '../../train/recipe.js';
import { train } from '../../train/trainer.js';
import { parseGrpoRecipe } from '../config.js';
import type { GrpoRecipe } from '../config.js';
import type { Recipe } from '../../train/recipe.js';
import { grpo } from '../grpo.js';
import { loadModel } from '../../model/checkpoint.js';
import { Tokenizer } from '../../tokenizer/index.js';
import { Generator } from '../../infer/generator.js';
import type { Problem } from '../../tasks/index.js';
import { getTask, sampleProblem } from '../../tasks/index.js';
import { Rng as TaskRng } from '../../tasks/rng.js';
import type { Rng } from '../../tensor/index.js';
import { readMetrics } from '../../train/metrics.js';
import { writeFileAtomic } from '../../io/index.js';
import { CATEGORIES, HELDOUT_GENERAL, TRAIN_GENERAL, generalPrompts, preferencePairs } from '../../data/conversations.js';
import type { R1Recipe } from './config.js';
import { cleanR1Zero, collect, filterTraces } from './rejection.js';
import type { FilterStats, Trace } from './rejection.js';
import { generalRows, multiTurnRows, splitGeneral, problemsPerCombo, trainProblems, traceRow, writtenRow } from './data.js';
import type { SftRow } from './data.js';
import { trainPhrasing } from './phrasings.js';
import { r1RewardFunctions, CHAT_FAMILY } from './rewards.js';
import { LinearRewardModel, trainRewardModel } from './reward-model.js';
import { evaluateR1 } from './evaluate.js';
import type { R1Eval } from './evaluate.js';
import { writeR1Report } from './report.js';
import { finished } from '../../train/interrupted.js';
import type { R1Report, StageRecord } from './report.js';

/** Options of a pipeline run. */
export interface R1PipelineOptions {
  recipe: R1Recipe;
  /** Run folder (default runs/r1-<preset>). */
  out?: string;
  reportDir: string;
  quiet?: boolean;
  /** What `--preset` named (a recipe name or file), when it is not the recipe's model preset. */
  recipeArg?: string;
}

const STAGE_FILE = 'STAGE.json';

/**
 * Runs a stage unless its marker exists; the marker (with wall time and what `fn` returned) is written
 * last, so a stage that failed or was killed runs again (resuming from its own checkpoints).
 */
export async function runStage(dir: string, name: string, fn: () => Promise<Record<string, unknown>>, say: (m: string) => void, settings: unknown = null, tag = 'r1'): Promise<StageRecord> {
  const marker = path.join(dir, STAGE_FILE);
  const key = JSON.stringify(settings);
  if (fs.existsSync(marker)) {
    const rec = JSON.parse(fs.readFileSync(marker, 'utf8')) as StageRecord;
    say(`${tag}: ${name}: complete in ${dir} (${rec.seconds.toFixed(0)} s when it ran); skipping`);
    if (rec.settings !== undefined && rec.settings !== key) say(`${tag}: ${name}: note: the recipe's settings for this stage changed since it ran; delete ${dir} (and the stages after it) to redo it`);
    return { ...rec, skipped: true };
  }
  say(`${tag}: ${name}: starting (${dir})`);
  fs.mkdirSync(dir, { recursive: true });
  const t0 = performance.now();
  const info = await fn();
  const rec: StageRecord = { stage: name, dir, seconds: (performance.now() - t0) / 1000, settings: key, info };
  writeFileAtomic(marker, JSON.stringify(rec, null, 2) + '\n');
  say(`${tag}: ${name}: done in ${rec.seconds.toFixed(1)} s`);
  return rec;
}

function writeJsonl(file: string, rows: readonly SftRow[]): void {
  writeFileAtomic(file, rows.map((r) => JSON.stringify({ messages: r.messages, source: r.source })).join('\n') + '\n');
}

function countBy<T>(xs: readonly T[], key: (x: T) => string): Record<string, number> {
  const o: Record<string, number> = {};
  for (const x of xs) o[key(x)] = (o[key(x)] ?? 0) + 1;
  return o;
}

/** The GRPO curve of a run: reward and its parts per step. */
function curve(run: string): Record<string, number[]> {
  const m = readMetrics(path.join(run, 'metrics.jsonl')).filter((x) => typeof x.reward === 'number');
  const pick = (k: string) => m.map((x) => (typeof x[k] === 'number' ? (x[k] as number) : NaN));
  return {
    step: m.map((x) => x.step), reward: pick('reward'), accuracy: pick('rewards/accuracy/mean'), format: pick('rewards/format/mean'),
    readability: pick('rewards/readability/mean'), preference: pick('rewards/preference/mean'), mean_length: pick('completions/mean_length'),
  };
}

/** Builders of the stages' SFT and GRPO recipes from the pipeline recipe's sections. */
export function stageRecipes(r: R1Recipe): {
  sftRecipe: (name: string, init: string, file: string, sec: R1Recipe['sft1']) => Recipe;
  grpoRecipe: (name: string, init: string, template: string, sec: Record<string, unknown>) => GrpoRecipe;
} {
  return {
    sftRecipe: (name, init, file, sec) => parseRunRecipe({
      kind: 'sft', name, seed: r.seed, model: { preset: r.preset, init }, data: { file },
      train: { ...sec.train, ...(sec.seqLen ? { seqLen: sec.seqLen } : {}) }, eval: { every: 0, final: false }, checkpoint: { every: 50 },
    }, `${name} (recipe section)`),
    grpoRecipe: (name, init, template, sec) => parseGrpoRecipe({
      ...sec, name, seed: r.seed, init, template, tasks: r.tasks, eval: { every: 0 },
    }, `${name} (recipe section)`),
  };
}

/**
 * The pretraining recipe that builds a missing base: `baseRecipe` (a path from the working directory,
 * or from the package root, as "recipes/pretrain-small-prose.json"), else recipes/pretrain-<preset>.json.
 * The pretraining run writes its model to <dir>/final, so the base must be a folder named `final`.
 */
export function baseRecipeOf(r: R1Recipe): { file: string; recipe: Recipe } {
  const fail = (msg: string): never => { throw new Error(`${r.name}: ${msg}`); };
  if (path.basename(path.resolve(r.base)) !== 'final' && !fs.existsSync(path.join(r.base, 'config.json'))) {
    fail(`base ${r.base} does not exist and cannot be pretrained there: a pretraining run writes its model to <run>/final, so a base to pretrain must be a path ending in /final`);
  }
  if (!r.baseRecipe) return { file: `recipes/pretrain-${r.preset}.json`, recipe: builtinRecipe('pretrain', r.preset) };
  const root = path.dirname(RECIPES_DIR);
  const file = fs.existsSync(r.baseRecipe) ? r.baseRecipe : path.join(root, r.baseRecipe);
  if (!fs.existsSync(file)) fail(`baseRecipe ${r.baseRecipe} not found (looked in ${process.cwd()} and ${root})`);
  const recipe = loadRunRecipe(file);
  if (recipe.kind !== 'pretrain') fail(`baseRecipe ${r.baseRecipe} is a ${recipe.kind} recipe; expected "kind": "pretrain"`);
  return { file: r.baseRecipe, recipe };
}

/** Checks every section of a pipeline recipe up front (task families, SFT and GRPO sections), so a bad section fails now, not hours in. */
export function checkR1Recipe(r: R1Recipe): void {
  for (const f of r.tasks.families) {
    const t = getTask(f);
    for (const d of r.tasks.difficulties) if (!t.difficulties.includes(d)) throw new Error(`${r.name}: task family ${f} has no difficulty ${d} (it has ${t.difficulties.join(', ')})`);
  }
  if (!fs.existsSync(path.join(r.base, 'config.json'))) baseRecipeOf(r);
  const { sftRecipe, grpoRecipe } = stageRecipes(r);
  sftRecipe(`${r.name}-stage1`, 'base', 'data.jsonl', r.sft1);
  sftRecipe(`${r.name}-stage3`, 'base', 'data.jsonl', r.sft3);
  if (!r.r1zero.init) grpoRecipe(`${r.name}-r1zero`, 'base', 'r1zero', r.r1zero.grpo);
  grpoRecipe(`${r.name}-stage2`, 'model', 'default', r.rl2.grpo);
  grpoRecipe(`${r.name}-stage4`, 'model', 'default', r.rl4.grpo);
}

/**
 * Stage 4's prompts (R1 §2.3.4, "RL for all scenarios"): each draw is a general prompt of the
 * conversation set's training half (only its RL share when rejection.rlOnlyGeneral > 0) with probability rl4.generalShare (a category uniformly, then one
 * of its prompts, as stage 3's general rows are drawn — drawn uniformly over prompts, 4 in 5 would be
 * out-of-scope requests; no answer: the reward model judges it), else a task problem of the recipe's
 * families and difficulties asked in a training phrasing. GRPO encodes them with the recipe's chat template and its generation prompt.
 */
export function stage4Prompts(r: R1Recipe): (rng: Rng, n: number) => Problem[] {
  const fam = r.tasks.families, diffs = r.tasks.difficulties;
  const general = splitGeneral(r.rejection.rlOnlyGeneral).rl;
  return (rng, n) => Array.from({ length: n }, () => {
    if (rng.uniform() < r.rl4.generalShare) {
      const category = CATEGORIES[rng.int(CATEGORIES.length)]!;
      const list = general[category];
      return { family: CHAT_FAMILY, difficulty: 0, seed: 0, prompt: list[rng.int(list.length)]!, answer: '', meta: { category } };
    }
    const p = sampleProblem(fam[rng.int(fam.length)]!, diffs[rng.int(diffs.length)]!, 'train', rng.nextU32());
    return { ...p, prompt: trainPhrasing(p, new TaskRng(rng.nextU32())) };
  });
}

/** Runs the pipeline (resuming completed stages) and writes the report. */
export async function runR1Pipeline(o: R1PipelineOptions): Promise<string> {
  const r = o.recipe;
  checkR1Recipe(r);
  const out = o.out ?? path.join('runs', r.name);
  const say = (m: string) => { if (!o.quiet) console.error(m); };
  fs.mkdirSync(out, { recursive: true });
  const stages: StageRecord[] = [];
  const evals: Record<string, R1Eval> = {};
  const tAll = performance.now();
  const fam = r.tasks.families, diffs = r.tasks.difficulties;
  const report = (): string => {
    for (const s of stages) if (s.info.eval) evals[s.stage === 'stage3-eval' ? 'stage3-sft' : s.stage] = s.info.eval as R1Eval;
    const rep: R1Report = { preset: r.preset, name: r.name, ...(o.recipeArg !== undefined && o.recipeArg !== r.preset ? { recipe_arg: o.recipeArg } : {}), out, recipe: r, stages, evals, total_seconds: (performance.now() - tAll) / 1000 };
    return writeR1Report(rep, o.reportDir);
  };
  const evalDir = async (dir: string, rm: LinearRewardModel | null): Promise<R1Eval> => {
    const model = loadModel(dir);
    model.eval();
    const tok = Tokenizer.fromDir(dir);
    const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
    return evaluateR1(gen, tok, { families: fam, difficulties: diffs, n: r.eval.n, k: r.eval.k, maxNewTokens: r.eval.maxNewTokens, phrasingN: r.eval.phrasingN, seed: r.eval.seed }, rm);
  };
  const { sftRecipe, grpoRecipe } = stageRecipes(r);

  // ---- base
  const base = r.base;
  stages.push(await runStage(path.join(out, 'base'), 'base', async () => {
    if (!fs.existsSync(path.join(base, 'config.json'))) {
      const pre = baseRecipeOf(r);
      say(`r1: no base model at ${base}; pretraining it (${pre.file})`);
      finished(await train({ recipe: pre.recipe, out: path.dirname(base), resume: true, quiet: o.quiet }), 'r1: pretraining the base');
    }
    return { model: base };
  }, say, { base }));

  // ---- R1-Zero model (source of the cold-start traces)
  const r1zDir = path.join(out, 'r1zero');
  const r1zStage = await runStage(r1zDir, 'r1zero', async () => {
    if (r.r1zero.init) {
      if (!fs.existsSync(path.join(r.r1zero.init, 'config.json'))) throw new Error(`r1zero.init ${r.r1zero.init} is not a model directory (no config.json); train one with \`tinyseek r1-zero\` or leave r1zero.init out to train it here`);
      return { model: r.r1zero.init, trained: false };
    }
    const res = finished(await grpo({ recipe: grpoRecipe(`${r.name}-r1zero`, base, 'r1zero', r.r1zero.grpo), out: path.join(r1zDir, 'run'), resume: true, quiet: o.quiet }), 'r1: R1-Zero');
    return { model: res.finalDir, trained: true, steps: res.lastStep, curve: curve(path.join(r1zDir, 'run')) };
  }, say, r.r1zero);
  stages.push(r1zStage);
  const r1zModel = r1zStage.info.model as string;

  // ---- stage 1: cold start
  const s1data = path.join(out, 'stage1-data');
  stages.push(await runStage(s1data, 'stage1-data', async () => {
    const c = r.coldStart;
    const model = loadModel(r1zModel);
    model.eval();
    const tok = Tokenizer.fromDir(r1zModel);
    const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
    const probs = trainProblems(fam, diffs, problemsPerCombo(c.prompts, fam, diffs), r.seed, 'cold-start');
    const sampled = await collect(gen, tok, probs.map((p) => ({ problem: p, messages: [{ role: 'user' as const, content: p.prompt }] })), {
      samples: c.samples, temperature: c.temperature, maxNewTokens: c.maxNewTokens, template: 'r1zero', seed: r.seed, source: 'r1zero',
    });
    const verified = sampled.map(cleanR1Zero).filter((t): t is Trace => t !== null);
    const { kept, stats } = filterTraces(verified, c.filter);
    const written = trainProblems(fam, diffs, c.writtenPerFamily, r.seed, 'cold-start-written').map((p) => writtenRow(p, p.prompt));
    const rows = [...kept.map(traceRow), ...written];
    writeJsonl(path.join(s1data, 'data.jsonl'), rows);
    return { sampled: sampled.length, verified_correct: verified.length, filter: stats, from_r1zero: kept.length, written: written.length, rows: rows.length, examples: kept.slice(0, 3).map((t) => t.completion) };
  }, say, [r.tasks, r.coldStart]));

  const s1 = path.join(out, 'stage1-sft');
  stages.push(await runStage(s1, 'stage1-sft', async () => {
    const res = finished(await train({ recipe: sftRecipe(`${r.name}-stage1`, base, path.join(s1data, 'data.jsonl'), r.sft1), out: path.join(s1, 'run'), resume: true, quiet: o.quiet }), 'r1: stage 1 SFT');
    const h = readMetrics(path.join(s1, 'run', 'metrics.jsonl')).filter((x) => typeof x.ce === 'number');
    return { model: res.finalDir, steps: res.lastStep, first_ce: h[0]?.ce, last_ce: h.at(-1)?.ce, eval: await evalDir(res.finalDir, null) };
  }, say, [r.sft1, r.eval]));
  const s1model = path.join(s1, 'run', 'final');
  report();

  // ---- stage 2: reasoning-oriented RL with the readability (language-consistency) reward
  const s2 = path.join(out, 'stage2-rl');
  stages.push(await runStage(s2, 'stage2-rl', async () => {
    const res = finished(await grpo({ recipe: grpoRecipe(`${r.name}-stage2`, s1model, 'default', r.rl2.grpo), out: path.join(s2, 'run'), resume: true, quiet: o.quiet, rewardFns: r1RewardFunctions(r.rl2.rewards, null) }), 'r1: stage 2 RL');
    return { model: res.finalDir, steps: res.lastStep, curve: curve(path.join(s2, 'run')), eval: await evalDir(res.finalDir, null) };
  }, say, [r.rl2, r.eval]));
  // The same RL without the readability reward: what the language-consistency reward costs (or buys) in accuracy.
  if (r.rl2.rewards.readability > 0 && r.rl2.ablation) {
    const s2a = path.join(out, 'stage2-rl-no-readability');
    stages.push(await runStage(s2a, 'stage2-rl-no-readability', async () => {
      const res = finished(await grpo({ recipe: grpoRecipe(`${r.name}-stage2-noread`, s1model, 'default', r.rl2.grpo), out: path.join(s2a, 'run'), resume: true, quiet: o.quiet, rewardFns: r1RewardFunctions({ ...r.rl2.rewards, readability: 0 }, null) }), 'r1: stage 2 RL without the readability reward');
      return { model: res.finalDir, steps: res.lastStep, curve: curve(path.join(s2a, 'run')), eval: await evalDir(res.finalDir, null) };
    }, say, [r.rl2, r.eval]));
  }
  const s2model = path.join(s2, 'run', 'final');
  report();

  // ---- stage 3: rejection sampling + SFT of the base on reasoning and non-reasoning data
  const s3data = path.join(out, 'stage3-data');
  stages.push(await runStage(s3data, 'stage3-data', async () => {
    const c = r.rejection;
    const model = loadModel(s2model);
    model.eval();
    const tok = Tokenizer.fromDir(s2model);
    const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
    const rng = new TaskRng(r.seed + 3);
    const probs = trainProblems(fam, diffs, problemsPerCombo(c.prompts, fam, diffs), r.seed, 'rejection');
    const sampled = await collect(gen, tok, probs.map((p) => ({ problem: p, messages: [{ role: 'user' as const, content: trainPhrasing(p, rng) }] })), {
      samples: c.samples, temperature: c.temperature, maxNewTokens: c.maxNewTokens, template: 'default', seed: r.seed + 3, source: 'policy',
    });
    const { kept, stats } = filterTraces(sampled, c.filter);
    const general = splitGeneral(c.rlOnlyGeneral);
    const written = trainProblems(fam, diffs, c.writtenPerFamily, r.seed, 'phrased-written').map((p) => writtenRow(p, trainPhrasing(p, rng), 'written:phrased'));
    const rows = [...kept.map(traceRow), ...written, ...generalRows(c.general, r.seed + 5, general.sft), ...multiTurnRows(c.multiTurn, fam, diffs, r.seed + 7, general.sft)];
    writeJsonl(path.join(s3data, 'data.jsonl'), rows);
    return { sampled: sampled.length, filter: stats, from_stage2: kept.length, rows: rows.length, by_source: countBy(rows, (x) => x.source.split(':')[0]!), examples: kept.slice(0, 3).map((t) => t.completion) };
  }, say, r.rejection));

  const s3 = path.join(out, 'stage3-sft');
  stages.push(await runStage(s3, 'stage3-sft', async () => {
    const res = finished(await train({ recipe: sftRecipe(`${r.name}-stage3`, base, path.join(s3data, 'data.jsonl'), r.sft3), out: path.join(s3, 'run'), resume: true, quiet: o.quiet }), 'r1: stage 3 SFT');
    const h = readMetrics(path.join(s3, 'run', 'metrics.jsonl')).filter((x) => typeof x.ce === 'number');
    return { model: res.finalDir, steps: res.lastStep, first_ce: h[0]?.ce, last_ce: h.at(-1)?.ce };
  }, say, r.sft3));
  const s3model = path.join(s3, 'run', 'final');

  // ---- the reward model for general prompts
  const rmDir = path.join(out, 'rm');
  const rmFile = path.join(rmDir, 'reward-model.json');
  stages.push(await runStage(rmDir, 'rm', async () => {
    const rc = r.rewardModel;
    const trainPairs = preferencePairs(generalPrompts(TRAIN_GENERAL), rc.pairsPerPrompt, r.seed + 11);
    const heldPairs = preferencePairs(generalPrompts(HELDOUT_GENERAL), rc.pairsPerPrompt, r.seed + 13);
    const { model, losses } = trainRewardModel(trainPairs, { dim: rc.dim, steps: rc.steps, lr: rc.lr, l2: rc.l2 });
    model.save(rmFile);
    const byKind = Object.fromEntries([...new Set(heldPairs.map((p) => p.kind))].map((k) => [k, model.pairAccuracy(heldPairs.filter((p) => p.kind === k))]));
    return { train_pairs: trainPairs.length, heldout_pairs: heldPairs.length, train_accuracy: model.pairAccuracy(trainPairs), heldout_accuracy: model.pairAccuracy(heldPairs), heldout_accuracy_by_kind: byKind, first_loss: losses[0], last_loss: losses.at(-1) };
  }, say, r.rewardModel));
  const rm = LinearRewardModel.load(rmFile);
  // Stage 3's evaluation needs the RM (general-prompt scores), so it runs once the RM exists.
  stages.push(await runStage(path.join(s3, 'eval'), 'stage3-eval', async () => ({ eval: await evalDir(s3model, rm) }), say, r.eval));
  report();

  // ---- stage 4: RL for all scenarios
  const s4 = path.join(out, 'stage4-rl');
  stages.push(await runStage(s4, 'stage4-rl', async () => {
    const res = finished(await grpo({
      recipe: grpoRecipe(`${r.name}-stage4`, s3model, 'default', r.rl4.grpo), out: path.join(s4, 'run'), resume: true, quiet: o.quiet,
      rewardFns: r1RewardFunctions(r.rl4.rewards, rm), samplePrompts: stage4Prompts(r),
    }), 'r1: stage 4 RL');
    return { model: res.finalDir, steps: res.lastStep, curve: curve(path.join(s4, 'run')), eval: await evalDir(res.finalDir, rm) };
  }, say, [r.rl4, r.eval]));

  return report();
}
