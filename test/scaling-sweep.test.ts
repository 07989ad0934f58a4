// The scaling sweep's machinery: the committed recipes are the plan's, the plan's compute matches the
// FLOP counter on the recipes' own configs, the sweep is sized for about two hours, the held-out loss,
// and the analysis and report rendered from synthetic results (a law with known exponents).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { isMoeLayer } from '../src/model/config.js';
import { modelScale } from '../src/analysis/flops.js';
import { recipeConfig } from '../src/train/trainer.js';
import { loadRunRecipe } from '../src/train/recipe.js';
import { validationLoss } from '../src/train/val-loss.js';
import { getSweep, planRuns, planTotals, SWEEP, SWEEP_TINY } from '../src/scaling/sweep-plan.js';
import { recipeFiles, sweepRecipesDir, type RunResult } from '../src/scaling/sweep.js';
import { analyseSweep } from '../src/scaling/sweep-analysis.js';
import { renderSweepReport, writeSweepReport } from '../src/scaling/sweep-report.js';
import { isDenseConfig } from '../src/model/registry.js';
import { accuracyRecipe, accuracyRuns, runSweepAccuracy, type AccuracyResult } from '../src/scaling/sweep-accuracy.js';
import { parseRunRecipe } from '../src/train/recipe.js';

test('the committed recipes under recipes/scaling-<sweep>/ are exactly the plan\'s', () => {
  for (const p of [SWEEP, SWEEP_TINY]) {
    const dir = sweepRecipesDir(p);
    const want = recipeFiles(p);
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.json')).sort(), [...want.keys()].sort(), `${dir}: rewrite with tinyseek scaling --preset ${p.name} --write-recipes`);
    for (const [f, text] of want) assert.equal(fs.readFileSync(path.join(dir, f), 'utf8'), text, `${dir}/${f} is stale`);
  }
});

test('each run\'s M and C follow from its recipe\'s own model config; budgets, sizes and variants as planned', () => {
  for (const p of [SWEEP, SWEEP_TINY]) {
    const runs = planRuns(p);
    for (const r of runs) {
      const recipe = loadRunRecipe(path.join(sweepRecipesDir(p), `${r.name}.json`));
      const cfg = recipeConfig(recipe, p.vocabSize);
      if (isDenseConfig(cfg)) assert.fail(`${r.name}: the sweep's models are DeepSeek-V3 configs (dense = no MoE layers), found ${cfg.modelType}`);
      assert.equal(modelScale(cfg, recipe.train.seqLen).M, r.M, r.name);
      assert.equal(r.tokens, recipe.train.steps * recipe.train.batchSize * recipe.train.seqLen);
      assert.equal(r.C, r.M * r.tokens);
      assert.ok(Math.abs(r.C / r.budget - 1) < 0.5 / r.steps + 1e-9, `${r.name}: C ${r.C} vs budget ${r.budget}`);
      const moeLayers = Array.from({ length: cfg.numHiddenLayers }, (_, l) => isMoeLayer(cfg, l)).filter(Boolean).length;
      if (r.arch === 'dense') assert.equal(moeLayers, 0, r.name);
      else assert.ok(moeLayers >= 1, `${r.name}: a MoE run has MoE layers`);
      assert.equal(cfg.numNextnPredictLayers, 0);
      assert.equal(recipe.train.lr.schedule, 'cosine');
    }
    const iso = runs.filter((r) => r.study === 'isoflop');
    for (const arch of p.archs) for (const C of p.budgets) {
      const n = iso.filter((r) => r.arch === arch && r.budget === C).length;
      assert.ok(n >= 3, `${p.name} ${arch} at ${C}: ${n} sizes`);
    }
  }
  assert.ok(Math.max(...SWEEP.budgets) / Math.min(...SWEEP.budgets) >= 10, 'the budgets span at least 10×');
  for (const arch of SWEEP.archs) for (const C of SWEEP.budgets) assert.ok(planRuns(SWEEP).filter((r) => r.study === 'isoflop' && r.arch === arch && r.budget === C).length >= 4);
  const t = planTotals(SWEEP);
  assert.ok(t.estimatedHours <= 2, `estimated ${t.estimatedHours} h`);
  assert.throws(() => getSweep('huge'), /unknown sweep preset "huge"; expected one of: sweep, sweep-tiny/);
});

test('held-out loss: the same for any evaluation batch size, leaves the model\'s mode alone', () => {
  const texts = ['Compute 12 + 7. 12 + 7 = 19.', 'Sort 3 1 2: 1 2 3', 'Compute 5 * 6. The answer is 30.', 'Solve x + 3 = 5 for x: x = 2.'].flatMap((t) => [t, t + ' ' + t]);
  const tok = Tokenizer.train(texts, { vocabSize: 300 });
  const cfg = { ...getPreset('nano'), vocabSize: tok.vocabSize };
  const model = new DeepseekV3(cfg, 3);
  model.train();
  const a = validationLoss(model, tok, texts, { seqLen: 16, batchSize: 1 });
  const b = validationLoss(model, tok, texts, { seqLen: 16, batchSize: 16 });
  assert.ok(a.blocks > 1 && a.tokens === a.blocks * 16);
  assert.ok(Math.abs(a.loss - b.loss) < 1e-4, `${a.loss} vs ${b.loss}`);
  assert.ok(Math.abs(a.loss - Math.log(tok.vocabSize)) < 1.0, 'an untrained model is near uniform');
  assert.equal(model.training, true);
});

test('analysis and report from synthetic results of the full plan (planted a = 0.5): parabolas inside, a recovered, files rendered', async () => {
  // L = E + A/N^α + B/D^β with α = β (a = 0.5), N = M/6, plus a small learning-rate penalty for the grid.
  const law = (N: number, D: number) => 1.2 + 60 / N ** 0.3 + 60 / D ** 0.3;
  const G = (60 * 0.3 / (60 * 0.3)) ** (1 / 0.6);
  const runs: RunResult[] = planRuns(SWEEP).map((r) => ({
    ...r,
    valLoss: law(r.N, r.tokens) * (r.arch === 'dense' ? 1.01 : 1) * (1 + 0.002 * Math.log(r.lr / SWEEP.lr) ** 2 + 0.002 * Math.log(r.batchSize / SWEEP.batchSize) ** 2)
      + (r.study === 'seed' ? 0.002 * (r.seed! - 2) : 0), // seeds 1, 2, 3 move the loss by −0.002, 0, +0.002
    valTokens: 1000, trainCe: 0, trainSeconds: 10, wallSeconds: 12, cores: 2, cpuSeconds: 18,
  }));
  const a = analyseSweep(SWEEP, runs, 100, 1);
  assert.equal(a.archs.length, 2);
  const moe = a.archs.find((x) => x.arch === 'moe')!;
  assert.ok(moe.iso && Math.abs(moe.iso.Mopt.exponent - 0.5) < 0.05, `a = ${moe.iso?.Mopt.exponent}`);
  assert.ok(moe.parametric && Math.abs(moe.parametric.a - 0.5) < 0.05, `parametric a = ${moe.parametric?.a}`);
  assert.ok(Math.abs(moe.iso!.Mopt.exponent + moe.iso!.Dopt.exponent - 1) < 1e-9);
  void G;
  // MoE is 1 % better at every budget by construction
  for (const C of SWEEP.budgets) {
    const m = moe.bestPerBudget.find((b) => b.budget === C)!, d = a.archs[1].bestPerBudget.find((b) => b.budget === C)!;
    assert.ok(m.loss < d.loss);
  }
  assert.ok(a.hyper && a.hyper.best.every((b) => b.batchTokens === SWEEP.batchSize * SWEEP.seqLen && b.lr === SWEEP.lr), 'the planted optimum is the presets\' values');
  assert.equal(a.totals.coreHours, runs.length * 12 * 2 / 3600);
  assert.equal(a.totals.cpuHours, runs.length * 18 / 3600);
  assert.ok(a.finalRun && a.finalRun.sweepOverFinal > 1);
  // seed noise: the centre run (seed 0) and seeds 1–3 give deviations 0, −0.002, 0, +0.002 → sd √(8e-6/3)
  for (const x of a.archs) {
    assert.deepEqual(x.seedNoise?.seeds, [0, 1, 2, 3]);
    assert.ok(Math.abs(x.seedNoise!.sd - Math.sqrt(8e-6 / 3)) < 1e-12, `${x.arch} sd ${x.seedNoise!.sd}`);
    assert.equal(x.runs, runs.filter((r) => r.arch === x.arch && r.study === 'isoflop').length, 'seed replicates are not IsoFLOP points');
    // near the minimum: 3 sizes per budget, a recovered, an interval from the noise bootstrap
    assert.ok(x.near?.fit && x.near.fit.parabolas.every((q) => q.runs === 3), x.arch);
    assert.ok(Math.abs(x.near!.fit!.Mopt.exponent - 0.5) < 0.1, `${x.arch} near a = ${x.near!.fit!.Mopt.exponent}`);
    assert.ok(x.near!.intervals.a && x.near!.intervals.a.lo <= x.near!.fit!.Mopt.exponent + 0.05 && x.near!.band.lo.length === x.near!.band.C.length);
  }
  assert.ok(Math.abs(a.seedSigma! - Math.sqrt(8e-6 / 3)) < 1e-12);
  assert.equal(a.finalRun!.method, 'all sizes', 'the all-sizes fit locates the planted optimum, so it is the one used');
  assert.equal(a.hyper!.best.length, 2, 'seed replicates are not batch/LR grid points');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'scaling-'));
  const accuracy: AccuracyResult[] = accuracyRuns(SWEEP.accuracy, runs).map((r, i) => ({ name: r.name, arch: r.arch, budget: r.budget, M: r.M, C: r.C, valLoss: r.valLoss, greedy: 0.1 * (i + 1), byFamily: { add: 0.5, sort: 0.25 }, problems: 350, sftSeconds: 30, digitNll: 2 - 0.1 * i, digitNllByFamily: { add: 1.5 } }));
  const md = await writeSweepReport({ command: 'npx tinyseek scaling --preset sweep', plan: SWEEP, runs, analysis: a, accuracy }, dir, 'sc');
  for (const f of ['sc.json', 'sc.md', 'sc-isoflop-moe.svg', 'sc-isoflop-dense.svg', 'sc-frontier.svg', 'sc-loss.svg', 'sc-accuracy.svg', 'sc-digit-nll.svg']) assert.ok(fs.existsSync(path.join(dir, f)), f);
  const text = fs.readFileSync(md, 'utf8');
  assert.match(text, /## Reasoning accuracy against compute/);
  assert.match(text, /\| 3\.0e11 \| dense \| L\d+d\d+ \| \d\.\d{3} \| \d\.\d{3} \| \*\*\d+\.\d%\*\* \| 50 \| 25 \|/);
  assert.match(text, /350 problems per model; one problem is 0\.3 points/);
  assert.match(text, /M_opt = .*C\^\*\*0\.[45]\d\d\*\*/);
  assert.match(text, /core-hours/);
  assert.match(text, /## Seed noise[\s\S]*\| moe \| 0, 1, 2, 3 \|[\s\S]*σ = 0\.0016\*\* nats\/token \(8 runs/);
  assert.match(text, /\*\*Near the minimum\.\*\* Each budget's parabola through the 3 sizes nearest/);
  assert.match(text, /Best dense minus best moe, against the seed noise of a difference of two runs/);
  assert.match(fs.readFileSync(path.join(dir, 'sc-frontier.svg'), 'utf8'), /<svg /);
  fs.rmSync(path.join(dir, 'sc.md'));
  await renderSweepReport(path.join(dir, 'sc.json'));
  assert.equal(fs.readFileSync(path.join(dir, 'sc.md'), 'utf8'), text);
  fs.rmSync(dir, { recursive: true });
});

test('Ctrl-C during a sweep run saves its checkpoint and ends the sweep with one line naming the run (a rerun resumes it)', { timeout: 300_000 }, async () => {
  const { runSweep } = await import('../src/scaling/sweep.js');
  const { RunInterrupted } = await import('../src/train/interrupted.js');
  const { sigintOnceHandled } = await import('./helpers/sigint.js');
  const first = planRuns(SWEEP_TINY)[0]!.name;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-sweep-sigint-')), cwd = process.cwd();
  process.chdir(dir);
  const stop = sigintOnceHandled();
  try {
    await assert.rejects(runSweep(SWEEP_TINY, { only: first, quiet: true, log: () => {} }),
      (e: Error) => e instanceof RunInterrupted && e.message.startsWith(`scaling: ${first}: interrupted at step `));
  } finally {
    stop();
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the accuracy study: the lowest-loss model per budget and architecture (or all), a valid SFT recipe from each; end to end on the tiny sweep\'s cheapest run, resumable', { timeout: 300_000 }, async () => {
  const mk = (name: string, arch: 'moe' | 'dense', budget: number, valLoss: number, study: 'isoflop' | 'hyper' = 'isoflop') =>
    ({ ...planRuns(SWEEP_TINY)[0]!, name, arch, budget, C: budget, valLoss, study }) as RunResult;
  const rs = [mk('a', 'moe', 2e10, 1.5), mk('b', 'moe', 2e10, 1.4), mk('c', 'dense', 2e10, 1.6), mk('d', 'moe', 1e10, 2.0), mk('e', 'moe', 1e10, 1.9), mk('h', 'moe', 1e10, 0.1, 'hyper')];
  assert.deepEqual(accuracyRuns(SWEEP.accuracy, rs).map((r) => r.name), ['e', 'c', 'b'], 'best IsoFLOP run per (budget, arch), hyper runs ignored, by budget then arch');
  assert.deepEqual(accuracyRuns({ ...SWEEP.accuracy, runs: 'all' }, rs).map((r) => r.name).sort(), ['a', 'b', 'c', 'd', 'e']);
  const rec = parseRunRecipe(accuracyRecipe(SWEEP, SWEEP.accuracy, rs[1]!, 'runs/scaling-sweep/runs'));
  assert.equal(rec.kind, 'sft');
  assert.equal(rec.model.init, path.join('runs/scaling-sweep/runs', 'b', 'final'));
  assert.deepEqual([rec.train.steps, rec.train.batchSize, rec.train.seqLen, rec.train.lr.peak], [200, 16, SWEEP.seqLen, 1e-3]);
  assert.deepEqual(rec.data.sftTasks, { difficulties: [1, 2], n: 100 });
  assert.deepEqual([rec.eval.final, rec.eval.n, rec.eval.difficulties, rec.eval.maxNewTokens], [true, 25, [1, 2], 160]);

  const { runSweep } = await import('../src/scaling/sweep.js');
  const first = planRuns(SWEEP_TINY).find((r) => r.study === 'isoflop')!.name;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-sweep-acc-')), cwd = process.cwd();
  process.chdir(dir);
  try {
    const results = await runSweep(SWEEP_TINY, { only: first, quiet: true, log: () => {} });
    const runsDir = path.join('runs', 'scaling-sweep-tiny', 'runs');
    const acc = await runSweepAccuracy(SWEEP_TINY, results, runsDir, { quiet: true, log: () => {} });
    assert.equal(acc.length, 1);
    const x = acc[0]!;
    assert.equal(x.name, first);
    assert.deepEqual(Object.keys(x.byFamily).sort(), ['add', 'sort']);
    assert.equal(x.problems, 2 * 1 * SWEEP_TINY.accuracy.evalN);
    assert.ok(x.greedy >= 0 && x.greedy <= 1);
    assert.equal(x.greedy, (x.byFamily.add! + x.byFamily.sort!) / 2);
    // the pretrained model's copy probe, on the study's families at its highest difficulty
    const { copyProbe } = await import('../src/infer/copy-probe.js');
    const { loadModel: load } = await import('../src/model/checkpoint.js');
    const m = load(path.join(runsDir, first, 'final'));
    m.eval();
    const pr = copyProbe(m, Tokenizer.fromDir(path.join(runsDir, first, 'final')), { families: ['add', 'sort'], n: SWEEP_TINY.accuracy.evalN, difficulty: 1, seed: SWEEP_TINY.seed });
    assert.equal(x.digitNll, pr.meanDigitNll);
    assert.deepEqual(Object.keys(x.digitNllByFamily).sort(), ['add', 'sort']);
    assert.ok(x.digitNll > 0 && Number.isFinite(x.digitNll));
    const ev = JSON.parse(fs.readFileSync(path.join(runsDir, first, 'sft', 'eval.json'), 'utf8')) as { step: number };
    assert.equal(ev.step, SWEEP_TINY.accuracy.steps, 'evaluated after the whole fine-tune');
    const done = path.join(runsDir, first, 'sft', 'accuracy.json');
    // a result written before the probe was part of the study gets it on the next run, without fine-tuning again
    const { digitNll: _d, digitNllByFamily: _f, ...old } = x;
    fs.writeFileSync(done, JSON.stringify(old));
    const upgraded = await runSweepAccuracy(SWEEP_TINY, results, runsDir, { quiet: true, log: () => { throw new Error('not fine-tuned again'); } });
    assert.deepEqual(upgraded, acc);
    const t = fs.statSync(done).mtimeMs;
    const again = await runSweepAccuracy(SWEEP_TINY, results, runsDir, { quiet: true, log: () => { throw new Error('a finished model is not fine-tuned again'); } });
    assert.deepEqual(again, acc);
    assert.equal(fs.statSync(done).mtimeMs, t);
    await assert.rejects(runSweepAccuracy(SWEEP_TINY, [{ ...results[0]!, name: 'nope' }], runsDir, { quiet: true }), /accuracy: nope has no trained model in runs\/scaling-sweep-tiny\/runs\/nope\/final/);
  } finally {
    process.chdir(cwd);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
