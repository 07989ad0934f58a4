// runR1Pipeline (src/rl/r1/pipeline.ts) end to end, in-process, on a random nano base with every
// section cut to a few steps (about 15 s): the stages in order, each stage's model trained from the
// model R1 says (stage 3 from the BASE, not from stage 2), the cold-start and stage-3 mixtures row by
// row (which seeds, streams and phrasings they are built from), the reward model, the per-stage
// evaluations (the recipe's options, the RM score only once the RM exists), the report, and the
// resume rules (a rerun skips every complete stage; a recipe change is noted; an existing R1-Zero
// model is used as is; the ablation only when asked for). A second test runs the stages that keep
// sampled traces on the shipped model, which solves problems, so rows from the policy are checked too.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { nanoModel } from './helpers/nano-model.js';
import { captureStderr } from './helpers/stderr.js';
import { loadR1Recipe, parseR1Recipe } from '../src/rl/r1/config.js';
import type { R1Recipe } from '../src/rl/r1/config.js';
import { runR1Pipeline, stage4Prompts } from '../src/rl/r1/pipeline.js';
import { Rng as TensorRng } from '../src/tensor/random.js';
import type { R1Report } from '../src/rl/r1/report.js';
import { evaluateR1 } from '../src/rl/r1/evaluate.js';
import { generalRows, multiTurnRows, splitGeneral, trainProblems, writtenRow } from '../src/rl/r1/data.js';
import { trainPhrasing } from '../src/rl/r1/phrasings.js';
import { r1Verify } from '../src/rl/r1/format.js';
import { CATEGORIES, generalPrompts, preferencePairs, TRAIN_GENERAL, HELDOUT_GENERAL } from '../src/data/conversations.js';
import { Rng } from '../src/tasks/rng.js';
import { getTask } from '../src/tasks/index.js';
import { loadModel } from '../src/model/checkpoint.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { readMetrics } from '../src/train/metrics.js';
import { LinearRewardModel, trainRewardModel } from '../src/rl/r1/reward-model.js';
import { CHAT_FAMILY } from '../src/rl/r1/rewards.js';

const SHIPPED = path.resolve('models/tinyseek-r1-mini');

/** The nano recipe with every section a few steps long. */
function microRecipe(base: string, over: Record<string, unknown> = {}, lr = 0.0005): R1Recipe {
  const nano = loadR1Recipe('nano');
  const g = (steps: number, extra: Record<string, unknown> = {}) => ({ ...extra, steps, promptsPerStep: 2, numGenerations: 4, maxCompletionLength: 16, microBatch: 8, lr, checkpoint: { every: 0 }, maxMinutes: 0 });
  const sft = { seqLen: 96, train: { ...nano.sft1.train, steps: 3, batchSize: 4, lr: { peak: lr * 6, warmup: 1, schedule: 'cosine', decayTo: 0 } } };
  return parseR1Recipe({
    ...nano, base, seed: 3,
    r1zero: { grpo: g(2, { rewards: { accuracy: 1, format: 0.5 } }) },
    coldStart: { ...nano.coldStart, prompts: 4, samples: 2, maxNewTokens: 96, writtenPerFamily: 3 },
    sft1: sft, rl2: { ...nano.rl2, grpo: g(2) },
    rejection: { ...nano.rejection, prompts: 4, samples: 2, maxNewTokens: 96, writtenPerFamily: 2, general: 3, multiTurn: 4, rlOnlyGeneral: 0.25 },
    sft3: sft, rewardModel: { ...nano.rewardModel, steps: 5, dim: 64 }, rl4: { ...nano.rl4, grpo: g(2, { logCompletions: 100 }) },
    eval: { n: 2, k: 2, maxNewTokens: 16, phrasingN: 1, seed: 5 },
    ...over,
  });
}

const jsonl = (f: string) => fs.readFileSync(f, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { messages: { role: string; content: string }[]; source: string });
const readJson = (f: string) => JSON.parse(fs.readFileSync(f, 'utf8'));
/** JSON round trip (NaN → null), to compare an in-memory value with what was written. */
const asWritten = (x: unknown) => JSON.parse(JSON.stringify(x, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));

let root = '', base = '', out = '', reportDir = '', recipe: R1Recipe, said: string[] = [], md = '', elapsed = 0;
before(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-pipeline-mut-'));
  base = nanoModel(root);
  out = path.join(root, 'r1');
  reportDir = path.join(root, 'report');
  recipe = microRecipe(base);
  const t0 = performance.now();
  const r = await captureStderr(() => runR1Pipeline({ recipe, out, reportDir }));
  elapsed = (performance.now() - t0) / 1000;
  md = r.value;
  said = r.lines;
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const STAGES = ['base', 'r1zero', 'stage1-data', 'stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-data', 'stage3-sft', 'rm', 'stage3-eval', 'stage4-rl'];
const DIRS: Record<string, string> = { 'stage3-eval': 'stage3-sft/eval' };

test('every stage runs in order, says when it starts and ends, and leaves its marker; the report lists them all', () => {
  assert.equal(md, path.join(reportDir, 'r1-nano.md'));
  const rep = readJson(path.join(reportDir, 'r1-nano.json')) as R1Report;
  assert.deepEqual(rep.stages.map((s) => s.stage), STAGES);
  assert.deepEqual([rep.preset, rep.name, rep.out], ['nano', 'r1-nano', out]);
  assert.deepEqual(rep.recipe, asWritten(recipe));
  for (const s of rep.stages) {
    const dir = path.join(out, DIRS[s.stage] ?? s.stage);
    assert.equal(s.dir, dir);
    assert.deepEqual(readJson(path.join(dir, 'STAGE.json')), s, s.stage);
    assert.equal(s.skipped, undefined);
    assert.ok(said.includes(`r1: ${s.stage}: starting (${dir})`), `${s.stage}: ${said.join('\n')}`);
    assert.ok(said.some((l) => new RegExp(`^r1: ${s.stage}: done in \\d+\\.\\d s$`).test(l)), s.stage);
  }
  // wall times: each stage's and the whole run's, within the time the run took here
  const sum = rep.stages.reduce((a, x) => a + x.seconds, 0);
  for (const x of rep.stages) assert.ok(x.seconds >= 0 && x.seconds <= elapsed, `${x.stage}: ${x.seconds} s of ${elapsed} s`);
  assert.ok(rep.total_seconds >= sum && rep.total_seconds <= elapsed, `total ${rep.total_seconds} s: stages ${sum} s, run ${elapsed} s`);
  assert.equal(fs.readFileSync(md, 'utf8').split('\n')[0], '# DeepSeek-R1\'s four-stage pipeline on tinyseek-nano');
  // the base exists, so nothing is pretrained
  assert.ok(!said.some((l) => l.includes('no base model')), said.join('\n'));
  assert.ok(!fs.existsSync(path.join(path.dirname(base), 'metrics.jsonl')) && !fs.existsSync(path.join(path.dirname(base), 'final')), 'no pretraining run next to the base');
  // the stages' settings are recorded, to notice a changed recipe on a rerun
  const byName = Object.fromEntries(rep.stages.map((s) => [s.stage, s]));
  assert.equal(byName.base!.settings, JSON.stringify({ base }));
  assert.equal(byName['stage1-data']!.settings, JSON.stringify([recipe.tasks, recipe.coldStart]));
  assert.equal(byName['stage3-eval']!.settings, JSON.stringify(recipe.eval));
});

test('each stage trains the model R1 says: stage 1 and 3 from the base, stage 2 from stage 1, stage 4 from stage 3; the runs are the recipe\'s sections', () => {
  const run = (s: string) => readJson(path.join(out, s, 'run', 'recipe.json'));
  const final = (s: string) => path.join(out, s, 'run', 'final');
  assert.deepEqual([run('r1zero').name, run('r1zero').init, run('r1zero').template, run('r1zero').steps], ['r1-nano-r1zero', base, 'r1zero', 2]);
  assert.deepEqual([run('stage1-sft').name, run('stage1-sft').model.init, run('stage1-sft').data.file], ['r1-nano-stage1', base, path.join(out, 'stage1-data', 'data.jsonl')]);
  assert.deepEqual([run('stage2-rl').name, run('stage2-rl').init, run('stage2-rl').template], ['r1-nano-stage2', final('stage1-sft'), 'default']);
  assert.deepEqual([run('stage2-rl-no-readability').name, run('stage2-rl-no-readability').init], ['r1-nano-stage2-noread', final('stage1-sft')]);
  assert.deepEqual([run('stage3-sft').name, run('stage3-sft').model.init, run('stage3-sft').data.file], ['r1-nano-stage3', base, path.join(out, 'stage3-data', 'data.jsonl')]);
  assert.deepEqual([run('stage4-rl').name, run('stage4-rl').init, run('stage4-rl').template], ['r1-nano-stage4', final('stage3-sft'), 'default']);
  for (const s of ['r1zero', 'stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-sft', 'stage4-rl']) {
    assert.equal(run(s).seed, 3, s);
    assert.ok(fs.existsSync(path.join(final(s), 'config.json')), `${s}: final model`);
  }
  assert.deepEqual(run('stage3-sft').train.steps, 3);
  assert.equal(run('stage1-sft').train.seqLen, 96);
  // the reward functions each RL stage logs: readability only where its weight is > 0, preference only in stage 4
  const keys = (s: string) => Object.keys(readMetrics(path.join(out, s, 'run', 'metrics.jsonl')).find((m) => typeof m.reward === 'number')!).filter((k) => /^rewards\/\w+\/mean$/.test(k)).sort();
  assert.deepEqual(keys('r1zero'), ['rewards/accuracy/mean', 'rewards/format/mean']);
  assert.deepEqual(keys('stage2-rl'), ['rewards/accuracy/mean', 'rewards/format/mean', 'rewards/readability/mean']);
  assert.deepEqual(keys('stage2-rl-no-readability'), ['rewards/accuracy/mean', 'rewards/format/mean']);
  assert.deepEqual(keys('stage4-rl'), ['rewards/accuracy/mean', 'rewards/format/mean', 'rewards/preference/mean', 'rewards/readability/mean']);
});

test('stage records: steps, losses and curves are the runs\' own', () => {
  const rec = (s: string) => readJson(path.join(out, s, 'STAGE.json')).info;
  assert.deepEqual(rec('base'), { model: base });
  const z = rec('r1zero');
  assert.deepEqual([z.model, z.trained, z.steps], [path.join(out, 'r1zero', 'run', 'final'), true, 2]);
  for (const s of ['r1zero', 'stage2-rl', 'stage2-rl-no-readability', 'stage4-rl']) {
    const m = readMetrics(path.join(out, s, 'run', 'metrics.jsonl')).filter((x) => typeof x.reward === 'number');
    const c = rec(s).curve;
    assert.deepEqual(Object.keys(c), ['step', 'reward', 'accuracy', 'format', 'readability', 'preference', 'mean_length'], s);
    assert.deepEqual(c.step, [1, 2], s);
    assert.deepEqual(c.reward, m.map((x) => x.reward), s);
    assert.deepEqual(c.accuracy, m.map((x) => x['rewards/accuracy/mean']), s);
    assert.deepEqual(c.format, m.map((x) => x['rewards/format/mean']), s);
    assert.deepEqual(c.mean_length, m.map((x) => x['completions/mean_length']), s);
    // a reward a stage does not use is NaN in memory (null once written)
    assert.deepEqual(c.preference, s === 'stage4-rl' ? m.map((x) => x['rewards/preference/mean']) : [null, null], s);
    assert.deepEqual(c.readability, s === 'stage2-rl' || s === 'stage4-rl' ? m.map((x) => x['rewards/readability/mean']) : [null, null], s);
    assert.equal(rec(s).steps, 2);
    if (s !== 'r1zero') assert.equal(rec(s).model, path.join(out, s, 'run', 'final'));
  }
  for (const s of ['stage1-sft', 'stage3-sft']) {
    const ce = readMetrics(path.join(out, s, 'run', 'metrics.jsonl')).filter((x) => typeof x.ce === 'number').map((x) => x.ce);
    assert.equal(ce.length, 3, s);
    assert.deepEqual([rec(s).steps, rec(s).first_ce, rec(s).last_ce, rec(s).model], [3, ce[0], ce[2], path.join(out, s, 'run', 'final')], s);
  }
  assert.equal(rec('stage3-sft').eval, undefined, 'stage 3 is evaluated once the reward model exists');
});

test('the cold-start data: the R1-Zero samples that survive the filters, then the written worked solutions of their own stream', () => {
  const info = readJson(path.join(out, 'stage1-data', 'STAGE.json')).info;
  // ceil(4 prompts / (2 families × 1 difficulty)) = 2 per family, × 2 samples
  assert.equal(info.sampled, 8);
  assert.equal(info.written, 6);
  assert.equal(info.filter.input, info.verified_correct);
  assert.equal(info.filter.kept, info.from_r1zero);
  assert.equal(info.rows, info.from_r1zero + 6);
  const rows = jsonl(path.join(out, 'stage1-data', 'data.jsonl'));
  assert.equal(rows.length, info.rows);
  const written = trainProblems(['add', 'sub'], [1], 3, 3, 'cold-start-written').map((p) => writtenRow(p, p.prompt));
  assert.deepEqual(rows.slice(info.from_r1zero), written.map((r) => ({ messages: r.messages, source: r.source })));
  assert.deepEqual(info.examples, rows.slice(0, Math.min(3, info.from_r1zero)).map((r) => r.messages.at(-1)!.content.replace(/^<think>\n/, '')));
});

test('the stage-3 mixture: kept stage-2 samples, written solutions under training phrasings, general and multi-turn rows, from their seeds', () => {
  const info = readJson(path.join(out, 'stage3-data', 'STAGE.json')).info;
  assert.equal(info.sampled, 8);
  assert.equal(info.filter.input, 8);
  assert.equal(info.filter.kept, info.from_stage2);
  assert.equal(info.rows, info.from_stage2 + 4 + 3 + 4);
  const rows = jsonl(path.join(out, 'stage3-data', 'data.jsonl'));
  assert.equal(rows.length, info.rows);
  // the phrasings come from one generator seeded seed + 3: first the sampled prompts', then the written rows'
  const rng = new Rng(3 + 3);
  const prompts = trainProblems(['add', 'sub'], [1], 2, 3, 'rejection').map((p) => trainPhrasing(p, rng));
  const written = trainProblems(['add', 'sub'], [1], 2, 3, 'phrased-written').map((p) => writtenRow(p, trainPhrasing(p, rng), 'written:phrased'));
  // the general rows come from the SFT part of the training general prompts (rejection.rlOnlyGeneral 0.25)
  const sftGeneral = splitGeneral(0.25).sft;
  const want = [...written, ...generalRows(3, 3 + 5, sftGeneral), ...multiTurnRows(4, ['add', 'sub'], [1], 3 + 7, sftGeneral)].map((r) => ({ messages: r.messages, source: r.source }));
  assert.deepEqual(rows.slice(info.from_stage2), want);
  const rlOnly = new Set(Object.values(splitGeneral(0.25).rl).flat());
  for (const r of rows) for (const m of r.messages) assert.ok(!rlOnly.has(m.content), `an RL-only prompt in stage 3's SFT rows: ${m.content}`);
  for (const r of rows.slice(0, info.from_stage2)) assert.ok(prompts.includes(r.messages[0]!.content), r.messages[0]!.content);
  const bySource: Record<string, number> = { written: 4, general: 3, multi: 4 };
  if (info.from_stage2) bySource.policy = info.from_stage2;
  assert.deepEqual(info.by_source, bySource);
});

test('stage 4 samples both kinds of prompt: general ones (training prompts of the conversation set, no answer) and task problems of the recipe\'s families and difficulties', () => {
  const rows = fs.readFileSync(path.join(out, 'stage4-rl', 'run', 'completions.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step: number; group: number; family: string; difficulty: number; answer: string; prompt: string });
  const groups = [...new Map(rows.map((x) => [`${x.step}:${x.group}`, x])).values()];
  assert.equal(groups.length, 2 * 2, '2 steps × 2 prompts');
  const general = groups.filter((x) => x.family === CHAT_FAMILY), tasks = groups.filter((x) => x.family !== CHAT_FAMILY);
  assert.ok(general.length > 0 && tasks.length > 0, `both kinds at generalShare ${recipe.rl4.generalShare}: ${groups.map((x) => x.family)}`);
  const texts = new Set(generalPrompts(TRAIN_GENERAL).map((g) => g.text));
  for (const x of general) {
    assert.ok(texts.has(x.prompt), x.prompt);
    assert.deepEqual([x.answer, x.difficulty], ['', 0]);
  }
  for (const x of tasks) {
    assert.ok(['add', 'sub'].includes(x.family) && x.difficulty === 1, `${x.family} d${x.difficulty}`);
    assert.ok(x.answer !== '' && x.prompt.length > 0);
  }
});

test('the reward model: trained on the training prompts\' pairs, measured on the held-out prompts\' pairs, saved', () => {
  const info = readJson(path.join(out, 'rm', 'STAGE.json')).info;
  const trainPairs = preferencePairs(generalPrompts(TRAIN_GENERAL), 7, 3 + 11);
  const held = preferencePairs(generalPrompts(HELDOUT_GENERAL), 7, 3 + 13);
  assert.deepEqual([info.train_pairs, info.heldout_pairs], [trainPairs.length, held.length]);
  assert.deepEqual(Object.keys(info.heldout_accuracy_by_kind).sort(), [...new Set(held.map((p) => p.kind))].sort());
  for (const k of ['train_accuracy', 'heldout_accuracy', 'first_loss', 'last_loss']) assert.equal(typeof info[k], 'number', k);
  assert.ok(Math.abs(info.first_loss - Math.log(2)) < 1e-6, 'the untrained model scores every pair 1/2');
  assert.ok(info.last_loss < info.first_loss);
  assert.equal(readJson(path.join(out, 'rm', 'reward-model.json')).dim, 64);
  // the accuracies are the saved model's on those pairs
  const rm = LinearRewardModel.load(path.join(out, 'rm', 'reward-model.json'));
  assert.equal(info.train_accuracy, rm.pairAccuracy(trainPairs));
  assert.equal(info.heldout_accuracy, rm.pairAccuracy(held));
  for (const [k, v] of Object.entries(info.heldout_accuracy_by_kind)) assert.equal(v, rm.pairAccuracy(held.filter((p) => p.kind === k)), k);
  assert.ok(info.train_accuracy > 0.5, `the trained model ranks most training pairs: ${info.train_accuracy}`);
  // the first and last training losses are the run's own (it is deterministic: trained again here)
  const rc = recipe.rewardModel;
  const { losses } = trainRewardModel(trainPairs, { dim: rc.dim, steps: rc.steps, lr: rc.lr, l2: rc.l2 });
  assert.deepEqual([info.first_loss, info.last_loss], [losses[0], losses.at(-1)]);
});

test('every stage model is evaluated with the recipe\'s options; the RM score exists from stage 3 on', async () => {
  const rep = readJson(path.join(reportDir, 'r1-nano.json')) as R1Report;
  assert.deepEqual(Object.keys(rep.evals), ['stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-sft', 'stage4-rl']);
  for (const [name, e] of Object.entries(rep.evals)) {
    assert.deepEqual(e.families.map((f) => [f.family, f.problems]), [['add', 2], ['sub', 2]], name);
    assert.equal(e.general.rm_score === null, name === 'stage1-sft' || name.startsWith('stage2'), name);
  }
  // one stage's evaluation, redone here with evaluateR1 and the recipe's options
  const dir = path.join(out, 'stage2-rl', 'run', 'final');
  const model = loadModel(dir);
  model.eval();
  const gen = new Generator(model, { maxBatch: 128, maxLen: Math.min(512, model.cfg.maxPositionEmbeddings) });
  const e = await evaluateR1(gen, Tokenizer.fromDir(dir), { families: ['add', 'sub'], difficulties: [1], n: 2, k: 2, maxNewTokens: 16, phrasingN: 1, seed: 5 }, null);
  assert.deepEqual({ ...asWritten(e), seconds: 0 }, { ...rep.evals['stage2-rl']!, seconds: 0 });
});

test('a rerun skips every complete stage (nothing retrained) and rewrites the same report; a changed section is noted', async () => {
  const metrics = path.join(out, 'stage4-rl', 'run', 'metrics.jsonl');
  const before = fs.readFileSync(metrics, 'utf8');
  const r = await captureStderr(() => runR1Pipeline({ recipe, out, reportDir }));
  assert.equal(r.value, md);
  const rep = readJson(path.join(reportDir, 'r1-nano.json')) as R1Report;
  assert.deepEqual(rep.stages.map((s) => [s.stage, s.skipped]), STAGES.map((s) => [s, true]));
  for (const s of STAGES) assert.ok(r.lines.some((l) => l.startsWith(`r1: ${s}: complete in ${path.join(out, DIRS[s] ?? s)} (`) && l.endsWith(' s when it ran); skipping')), s);
  assert.ok(!r.lines.some((l) => l.includes('settings for this stage changed')));
  assert.equal(fs.readFileSync(metrics, 'utf8'), before);
  assert.deepEqual(Object.keys(rep.evals), ['stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-sft', 'stage4-rl']);
  // quiet: nothing said
  const q = await captureStderr(() => runR1Pipeline({ recipe, out, reportDir, quiet: true }));
  assert.deepEqual(q.lines, []);
  // a changed stage-4 section: noted for that stage only, still skipped
  const changed = microRecipe(base, { rl4: { ...recipe.rl4, generalShare: 0.25 } });
  const c = await captureStderr(() => runR1Pipeline({ recipe: changed, out, reportDir }));
  assert.deepEqual(c.lines.filter((l) => l.includes('settings for this stage changed')),
    [`r1: stage4-rl: note: the recipe's settings for this stage changed since it ran; delete ${path.join(out, 'stage4-rl')} (and the stages after it) to redo it`]);
  // a changed evaluation section: noted for every stage whose model is evaluated with it
  const ev = await captureStderr(() => runR1Pipeline({ recipe: microRecipe(base, { eval: { ...recipe.eval, n: 3 } }), out, reportDir }));
  assert.deepEqual(ev.lines.filter((l) => l.includes('settings for this stage changed')).map((l) => l.split(':')[1]!.trim()),
    ['stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-eval', 'stage4-rl']);
  await runR1Pipeline({ recipe, out, reportDir, quiet: true }); // the report as it was
});

test('a training stage whose marker is missing (killed after its run finished) resumes its run instead of refusing the folder, and records the same', async () => {
  const trained = ['r1zero', 'stage1-sft', 'stage2-rl', 'stage2-rl-no-readability', 'stage3-sft', 'stage4-rl'];
  const was = Object.fromEntries(trained.map((s) => [s, readJson(path.join(out, s, 'STAGE.json')).info]));
  for (const s of trained) fs.rmSync(path.join(out, s, 'STAGE.json'));
  const r = await captureStderr(() => runR1Pipeline({ recipe, out, reportDir }));
  for (const s of trained) {
    assert.ok(r.lines.includes(`r1: ${s}: starting (${path.join(out, s)})`), s);
    const now = readJson(path.join(out, s, 'STAGE.json')).info;
    assert.deepEqual([now.model, now.steps], [was[s].model, was[s].steps], s);
    if (was[s].eval) assert.deepEqual({ ...now.eval, seconds: 0 }, { ...was[s].eval, seconds: 0 }, `${s}: the same model, the same evaluation`);
  }
});

test('without the ablation (or without a readability reward) there is no no-readability stage', async () => {
  for (const rl2 of [{ ...recipe.rl2, ablation: false }, { ...recipe.rl2, rewards: { ...recipe.rl2.rewards, readability: 0 } }]) {
    await runR1Pipeline({ recipe: microRecipe(base, { rl2 }), out, reportDir: path.join(root, 'report2'), quiet: true });
    const rep = readJson(path.join(root, 'report2', 'r1-nano.json')) as R1Report;
    assert.deepEqual(rep.stages.map((s) => s.stage), STAGES.filter((s) => s !== 'stage2-rl-no-readability'));
    assert.ok(!('stage2-rl-no-readability' in rep.evals));
  }
});

test('an existing R1-Zero model is used as it is; one that is not a model directory is refused before anything is sampled', async () => {
  const copy = path.join(root, 'r1-init');
  fs.cpSync(out, copy, { recursive: true });
  fs.rmSync(path.join(copy, 'r1zero'), { recursive: true });
  await runR1Pipeline({ recipe: microRecipe(base, { r1zero: { init: base, grpo: {} } }), out: copy, reportDir: path.join(root, 'report3'), quiet: true });
  assert.deepEqual(readJson(path.join(copy, 'r1zero', 'STAGE.json')).info, { model: base, trained: false });
  assert.ok(!fs.existsSync(path.join(copy, 'r1zero', 'run')));
  assert.match(fs.readFileSync(path.join(root, 'report3', 'r1-nano.md'), 'utf8'), new RegExp(`\\| r1zero \\| \\d+ s \\| existing R1-Zero model \`${base.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\` \\|`));
  const bad = path.join(root, 'r1-bad');
  await assert.rejects(runR1Pipeline({ recipe: microRecipe(base, { r1zero: { init: path.join(root, 'nowhere'), grpo: {} } }), out: bad, reportDir: path.join(root, 'report4'), quiet: true }),
    { message: `r1zero.init ${path.join(root, 'nowhere')} is not a model directory (no config.json); train one with \`tinyseek r1-zero\` or leave r1zero.init out to train it here` });
  assert.ok(fs.existsSync(path.join(bad, 'base', 'STAGE.json')));
  assert.ok(!fs.existsSync(path.join(bad, 'r1zero', 'STAGE.json')));
  assert.ok(!fs.existsSync(path.join(bad, 'stage1-data')));
  // a folder that exists but holds no model is refused the same way
  const empty = path.join(root, 'not-a-model');
  fs.mkdirSync(empty);
  await assert.rejects(runR1Pipeline({ recipe: microRecipe(base, { r1zero: { init: empty, grpo: {} } }), out: path.join(root, 'r1-empty'), reportDir: path.join(root, 'report4'), quiet: true }),
    { message: `r1zero.init ${empty} is not a model directory (no config.json); train one with \`tinyseek r1-zero\` or leave r1zero.init out to train it here` });
  // a bad section is refused before the first stage
  const worse = path.join(root, 'r1-worse');
  await assert.rejects(runR1Pipeline({ recipe: microRecipe(base, { tasks: { families: ['add'], difficulties: [9] } }), out: worse, reportDir, quiet: true }), /add has no difficulty 9/);
  assert.ok(!fs.existsSync(worse));
  // so is a bad R1-Zero section, although R1-Zero runs only after the base
  await assert.rejects(runR1Pipeline({ recipe: microRecipe(base, { r1zero: { grpo: { ...recipe.r1zero.grpo, numGenerations: 0 } } }), out: worse, reportDir, quiet: true }), /r1-nano-r1zero \(recipe section\)/);
  assert.ok(!fs.existsSync(worse));
});

test('stage 4 draws general prompts at the recipe\'s share (the conversation set\'s training prompts, no answer, their category kept) and otherwise task problems of every family and difficulty in training phrasings', () => {
  const r = microRecipe(base, { tasks: { families: ['add', 'sub', 'mul'], difficulties: [1, 2] }, rl4: { ...recipe.rl4, generalShare: 0.3 } });
  const draw = stage4Prompts(r);
  const ps = draw(new TensorRng(17), 600);
  assert.equal(ps.length, 600);
  assert.deepEqual(draw(new TensorRng(17), 600), ps, 'the same generator state draws the same prompts');
  const general = ps.filter((p) => p.family === CHAT_FAMILY), tasks = ps.filter((p) => p.family !== CHAT_FAMILY);
  // Binomial(600, 0.3): mean 180, standard deviation 11.2
  assert.ok(Math.abs(general.length - 180) < 45, `${general.length} general prompts of 600 at share 0.3`);
  const category = new Map(generalPrompts(TRAIN_GENERAL).map((g) => [g.text, g.category]));
  for (const p of general) {
    assert.ok(category.has(p.prompt), p.prompt);
    assert.deepEqual([p.answer, p.difficulty, p.meta], ['', 0, { category: category.get(p.prompt) }]);
  }
  assert.ok(new Set(general.map((p) => p.prompt)).size > 20, 'many different general prompts');
  // Every category about equally often (out-of-scope requests have ~12× the wordings of greetings:
  // drawn per prompt, greetings would come ~12 times in 180 and GRPO would learn the refusal).
  for (const c of CATEGORIES) {
    const k = general.filter((p) => (p.meta as { category: string }).category === c).length;
    assert.ok(k > 18 && k < 60, `${k} ${c} prompts of ${general.length}: expected about a fifth`);
  }
  const combos = new Set(tasks.map((p) => `${p.family}:${p.difficulty}`));
  assert.deepEqual([...combos].sort(), ['add:1', 'add:2', 'mul:1', 'mul:2', 'sub:1', 'sub:2']);
  for (const p of tasks) {
    assert.ok(getTask(p.family).check(p, p.answer), `${p.prompt} → ${p.answer}`);
    assert.ok(p.answer.replace('-', '').split('').every((c) => c >= '0' && c <= '9'));
  }
  // asked in training phrasings: many different wordings, and not only the canonical "Compute …"
  assert.ok(tasks.filter((p) => !p.prompt.startsWith('Compute ')).length > tasks.length / 4, 'phrased, not only canonical');
  // fresh problems, not a fixed list (two-digit problems repeat by chance: ~70 per family and difficulty among ~8,000)
  assert.ok(new Set(tasks.map((p) => p.prompt)).size >= tasks.length - 3, 'fresh problems');
  // the micro recipe keeps a quarter of the general prompts for stage 4 only: it asks only those
  const rlOnly = new Set(Object.values(splitGeneral(0.25).rl).flat());
  for (const p of general) assert.ok(rlOnly.has(p.prompt), `stage 4 asked a prompt stage 3 trained on: ${p.prompt}`);
  // with rlOnlyGeneral 0 (every recipe before it) stage 4 asks the whole training set
  const all = stage4Prompts(microRecipe(base, { rejection: { ...recipe.rejection, rlOnlyGeneral: 0 }, rl4: { ...recipe.rl4, generalShare: 1 } }))(new TensorRng(4), 600);
  assert.ok(all.some((p) => !rlOnly.has(p.prompt)) && all.some((p) => rlOnly.has(p.prompt)));
  assert.equal(stage4Prompts(microRecipe(base, { rl4: { ...recipe.rl4, generalShare: 0 } }))(new TensorRng(1), 50).filter((p) => p.family === CHAT_FAMILY).length, 0);
  assert.equal(stage4Prompts(microRecipe(base, { rl4: { ...recipe.rl4, generalShare: 1 } }))(new TensorRng(1), 50).filter((p) => p.family === CHAT_FAMILY).length, 50);
});

test('stage 3 keeps the stage-2 model\'s verified samples: on the shipped model (which solves problems), policy rows are correct R1 traces of phrased prompts', async () => {
  // The shipped model as the base and as the R1-Zero model, trained with a learning rate too small to
  // change it, so that stage 2 still solves problems and stage 3's rejection sampling keeps some.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1-pipeline-kept-'));
  try {
    const m = microRecipe(SHIPPED, { r1zero: { init: SHIPPED, grpo: {} } }, 1e-9);
    const r = parseR1Recipe({ ...m, rl2: { ...m.rl2, ablation: false } });
    await runR1Pipeline({ recipe: r, out: dir, reportDir: path.join(dir, 'report'), quiet: true });
    const info = readJson(path.join(dir, 'stage3-data', 'STAGE.json')).info;
    assert.ok(info.from_stage2 > 0, `no sample kept: ${JSON.stringify(info.filter)}`);
    const rows = jsonl(path.join(dir, 'stage3-data', 'data.jsonl'));
    const rng = new Rng(3 + 3);
    const probs = trainProblems(['add', 'sub'], [1], 2, 3, 'rejection');
    const prompts = probs.map((p) => trainPhrasing(p, rng));
    for (const row of rows.slice(0, info.from_stage2)) {
      assert.equal(row.source, 'policy');
      assert.equal(row.messages.length, 2);
      const i = prompts.indexOf(row.messages[0]!.content);
      assert.ok(i >= 0, row.messages[0]!.content);
      assert.ok(row.messages[1]!.content.startsWith('<think>\n'));
      assert.ok(r1Verify(probs[i]!, row.messages[1]!.content.slice('<think>\n'.length)).correct, row.messages[1]!.content);
      assert.ok(getTask(probs[i]!.family));
    }
    assert.deepEqual(info.examples, rows.slice(0, Math.min(3, info.from_stage2)).map((x) => x.messages[1]!.content.replace(/^<think>\n/, '')));
    assert.equal(info.by_source.policy, info.from_stage2);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
