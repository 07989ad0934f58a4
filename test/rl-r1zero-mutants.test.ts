// runR1Zero (src/rl/r1zero.ts) in-process, on a random nano base, so mutation testing sees it (its
// other coverage runs in child processes): the held-out evaluation uses the experiment's fixed options
// (n ≥ 50, k ≥ 8, temperature 0.6, top-p 0.95, seed 12345) on both models, checked against
// evaluate() called directly; the base's evaluation is cached by a hash of its files and reused; the
// report's curves are the RL run's metrics; a missing base is refused naming the path.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { loadModel, saveModel } from '../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { Generator } from '../src/infer/generator.js';
import { evaluate } from '../src/infer/evaluate.js';
import type { EvalReport } from '../src/infer/evaluate.js';
import { runR1Zero } from '../src/rl/r1zero.js';
import { familyScores, readReport } from '../src/rl/r1zero-report.js';
import { loadGrpoRecipe } from '../src/rl/config.js';
import { readMetrics } from '../src/train/metrics.js';
import { formatEvalTable } from '../src/infer/evaluate.js';
import { renderR1ZeroReport } from '../src/rl/r1zero.js';
import { captureStderr } from './helpers/stderr.js';
import { sigintOnceHandled } from './helpers/sigint.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import { behaviourCurves } from '../src/rl/behaviour.js';
import { RunInterrupted } from '../src/train/interrupted.js';
import { CollectiveError } from '../src/parallel/root-first.js';
import { Mpi } from '../src/parallel/mpi.js';
import { mpiSkip } from './helpers/mpi.js';

let root = '', base = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-r1zero-mut-'));
  const tok = Tokenizer.train([R1ZERO_PREAMBLE, 'User: Compute 3 + 4. Assistant: <think> 3 + 4 = 7 </think> <answer> 7 </answer>'], { vocabSize: 300 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 9);
  // Short completions keep the four evaluations (800 samples each) quick: every token's embedding gets
  // a large first component, so the final hidden state points along it, and the EOS row of the head
  // reads it: EOS has probability ≈ 0.6 at the evaluation's temperature, other tokens share the rest.
  const sd = model.stateDict(), H = model.cfg.hiddenSize;
  const emb = sd.get('model.embed_tokens.weight')!.storage.data as Float32Array, head = sd.get('lm_head.weight')!.storage.data as Float32Array;
  for (let v = 0; v < tok.vocabSize; v++) emb[v * H] = 50;
  head[model.cfg.eosTokenId * H] = 0.45;
  base = path.join(root, 'base');
  const tokDir = path.join(root, 'tok');
  tok.save(tokDir);
  saveModel(base, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

/** The evaluation the experiment promises, computed here without runR1Zero. */
async function expectedEval(dir: string): Promise<EvalReport> {
  const r = loadGrpoRecipe('nano');
  const model = loadModel(dir);
  model.eval();
  const gen = new Generator(model, { maxBatch: 128, maxLen: 512 });
  return evaluate(gen, Tokenizer.fromDir(dir), {
    families: r.tasks.families, difficulties: r.eval.difficulties ?? r.tasks.difficulties, n: 50, k: 8,
    maxNewTokens: r.maxCompletionLength, seed: 12345, template: r.template, temperature: 0.6, topP: 0.95,
  });
}

test('runR1Zero: both evaluations use the fixed held-out options, the base evaluation is cached by its files, the curves are the run\'s metrics', { timeout: 600_000 }, async () => {
  const out = path.join(root, 'rl'), reportDir = path.join(root, 'report');
  const log = console.log;
  const said: string[] = [];
  console.log = (...a: unknown[]) => { said.push(a.join(' ')); };
  const t0 = performance.now();
  let lines: string[];
  try {
    ({ lines } = await captureStderr(() => runR1Zero({ preset: 'nano', base, out, minutes: 0.001, reportDir })));
  } finally {
    console.log = log;
  }
  const wallMinutes = (performance.now() - t0) / 60000;
  assert.deepEqual(said, [`report: ${path.join(reportDir, 'r1-zero-nano.md')}`]);
  const rep = readReport(path.join(reportDir, 'r1-zero-nano.json'));
  const recipe = loadGrpoRecipe('nano');
  assert.deepEqual(rep.eval, { n: 50, k: 8, difficulties: recipe.eval.difficulties ?? recipe.tasks.difficulties, temperature: 0.6, top_p: 0.95, seed: 12345 });
  assert.equal(rep.preset, 'nano');
  assert.equal(rep.base, base);
  assert.equal(rep.rl_run, out);
  assert.equal(rep.recipe.maxMinutes, 0.001, 'the time limit given replaces the recipe\'s');
  assert.equal(rep.recipe.init, base, 'the RL run starts from the base given');
  assert.ok(rep.rl_minutes > 0 && rep.total_minutes! >= rep.rl_minutes && rep.total_minutes! <= wallMinutes, `minutes: rl ${rep.rl_minutes}, total ${rep.total_minutes}, the call took ${wallMinutes}`);

  // Both evaluations, against evaluate() called directly with the promised options.
  const before = await expectedEval(base), after = await expectedEval(path.join(out, 'final'));
  assert.deepEqual(Object.keys(rep.families), recipe.tasks.families);
  for (const [i, f] of before.families.entries()) {
    assert.deepEqual(rep.families[f.family].base, familyScores(f), `${f.family}: base scores`);
    assert.deepEqual(rep.families[f.family].rl, familyScores(after.families[i]), `${f.family}: RL scores`);
  }
  // What it said: each evaluation announced, then its table; the RL run's own lines in between.
  assert.deepEqual(lines.slice(0, 2), ['r1-zero: evaluating the base model', formatEvalTable(before)]);
  assert.deepEqual(lines.slice(-2), ['r1-zero: evaluating the RL model', formatEvalTable(after)]);

  // --render redraws the Markdown from the JSON alone.
  const md = path.join(reportDir, 'r1-zero-nano.md'), drawn = fs.readFileSync(md, 'utf8');
  fs.rmSync(md);
  assert.equal(await renderR1ZeroReport('nano', reportDir), md);
  assert.equal(fs.readFileSync(md, 'utf8'), drawn);

  // The curves are the run's metrics, step by step.
  const m = readMetrics(path.join(out, 'metrics.jsonl')).filter((x) => typeof x.reward === 'number');
  assert.ok(m.length >= 1 && rep.rl_steps === m[m.length - 1].step, `rl_steps ${rep.rl_steps}, logged steps ${m.map((x) => x.step)}`);
  assert.deepEqual(rep.curves, {
    step: m.map((x) => x.step), reward: m.map((x) => x.reward), accuracy: m.map((x) => x['rewards/accuracy/mean']),
    format: m.map((x) => x['rewards/format/mean']), mean_length: m.map((x) => x['completions/mean_length']),
  });
  assert.equal(rep.behaviour, undefined, 'the nano recipe logs no completions, so the report has no behaviour section');

  // The base's evaluation was cached next to the run, under a hash of the base's files and the options.
  const cacheDir = path.join(root, '.eval-cache');
  const cached = fs.readdirSync(cacheDir);
  assert.equal(cached.length, 1);
  assert.match(cached[0], /^[0-9a-f]{16}\.json$/);
  const file = path.join(cacheDir, cached[0]);
  const noTime = (r: EvalReport) => ({ ...r, seconds: 0 });
  assert.deepEqual(noTime(JSON.parse(fs.readFileSync(file, 'utf8'))), noTime(JSON.parse(JSON.stringify(before))));

  // A second experiment from the same base reads the cache instead of evaluating again: a marked cache entry shows up in the report.
  const marked = JSON.parse(fs.readFileSync(file, 'utf8')) as EvalReport;
  marked.families[0].pass1 = 0.123456;
  fs.writeFileSync(file, JSON.stringify(marked));
  const out2 = path.join(root, 'rl2'), reportDir2 = path.join(root, 'report2');
  console.log = () => {};
  try {
    ({ lines } = await captureStderr(() => runR1Zero({ preset: 'nano', base, out: out2, minutes: 0.001, reportDir: reportDir2 })));
  } finally {
    console.log = log;
  }
  assert.deepEqual(lines.slice(0, 3), ['r1-zero: evaluating the base model', `r1-zero: base evaluation from cache ${file}`, formatEvalTable(marked)]);
  const rep2 = readReport(path.join(reportDir2, 'r1-zero-nano.json'));
  assert.equal(rep2.families[marked.families[0].family].base.pass1, 0.123456, 'the second run used the cached base evaluation');
  assert.deepEqual(fs.readdirSync(cacheDir), cached, 'the same base and options hash to the same cache entry');

  // Another base (one weight file changed) gets its own entry.
  const base2 = path.join(root, 'base2');
  fs.cpSync(base, base2, { recursive: true });
  const st = fs.readdirSync(base2).find((f) => f.endsWith('.safetensors'))!;
  const bytes = fs.readFileSync(path.join(base2, st));
  bytes[bytes.length - 1] ^= 0x01;
  fs.writeFileSync(path.join(base2, st), bytes);
  console.log = () => {};
  try {
    await runR1Zero({ preset: 'nano', base: base2, out: path.join(root, 'rl3'), minutes: 0.001, reportDir: path.join(root, 'report3') });
  } finally {
    console.log = log;
  }
  assert.equal(fs.readdirSync(cacheDir).length, 2, 'a changed weight file is a new cache entry');

  // The key is the weights, the tokenizer files and config.json: another file in the directory does
  // not change it; a changed tokenizer file or config.json does.
  const variant = async (name: string, change: (dir: string) => void) => {
    const dir = path.join(root, name);
    fs.cpSync(base, dir, { recursive: true });
    change(dir);
    const before = new Set(fs.readdirSync(cacheDir));
    console.log = () => {};
    try {
      await captureStderr(() => runR1Zero({ preset: 'nano', base: dir, out: path.join(root, `rl-${name}`), minutes: 0.001, reportDir: path.join(root, `report-${name}`) }));
    } finally {
      console.log = log;
    }
    return fs.readdirSync(cacheDir).filter((f) => !before.has(f)).length;
  };
  assert.equal(await variant('base-notes', (d) => fs.writeFileSync(path.join(d, 'notes.txt'), 'not part of the model')), 0, 'an unrelated file: the same entry');
  assert.equal(await variant('base-tok', (d) => fs.appendFileSync(path.join(d, 'tokenizer.json'), '\n')), 1, 'a changed tokenizer.json: a new entry');
  assert.equal(await variant('base-tokcfg', (d) => fs.appendFileSync(path.join(d, 'tokenizer_config.json'), '\n')), 1, 'a changed tokenizer_config.json: a new entry');
  assert.equal(await variant('base-cfg', (d) => fs.appendFileSync(path.join(d, 'config.json'), '\n')), 1, 'a changed config.json: a new entry');
});

test('runR1Zero refuses a base directory without config.json, naming it', async () => {
  const missing = path.join(root, 'no-such-base');
  await assert.rejects(runR1Zero({ preset: 'nano', base: missing, out: path.join(root, 'x'), minutes: 0.001, reportDir: path.join(root, 'xr') }),
    (e: Error) => e.message === `no base model at ${missing} (no config.json); pass --base with a model directory`);
  // A path that looks like a pretraining run's final model is not pretrained when --base names it.
  const looks = path.join(root, 'runs', 'pretrain-nano', 'final');
  await assert.rejects(runR1Zero({ preset: 'nano', base: looks, out: path.join(root, 'y'), minutes: 0.001, reportDir: path.join(root, 'yr') }),
    /no base model at .*pretrain-nano.final \(no config.json\); pass --base/);
  assert.ok(!fs.existsSync(looks), 'nothing was pretrained');
  // A directory that exists but holds no config.json (an interrupted copy, the wrong folder) is no model either.
  const empty = path.join(root, 'empty-base');
  fs.mkdirSync(empty, { recursive: true });
  fs.writeFileSync(path.join(empty, 'model.safetensors'), '');
  await assert.rejects(runR1Zero({ preset: 'nano', base: empty, out: path.join(root, 'z'), minutes: 0.001, reportDir: path.join(root, 'zr') }),
    (e: Error) => e.message === `no base model at ${empty} (no config.json); pass --base with a model directory`);
});

/** runR1Zero with stdout and stderr kept out of the test's output. */
async function quietly<T>(fn: () => Promise<T>): Promise<{ value: T; lines: string[] }> {
  const log = console.log;
  console.log = () => {};
  try {
    return await captureStderr(fn);
  } finally {
    console.log = log;
  }
}

/** The nano recipe, changed. */
const nanoWith = (patch: Record<string, unknown>) => parseGrpoRecipe({ ...loadGrpoRecipe('nano'), ...patch });

/** Runs `fn` with the working directory in a fresh folder (a recipe's init is relative to it). */
async function inTempCwd<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = fs.mkdtempSync(path.join(root, 'cwd-')), cwd = process.cwd();
  process.chdir(dir);
  try {
    return await fn(dir);
  } finally {
    process.chdir(cwd);
  }
}

test('a recipe of the caller\'s own: evaluation on its eval difficulties, curves from the reward rows only (not the periodic evaluations), the behaviour section from its logged completions', { timeout: 600_000 }, async () => {
  const recipe = nanoWith({ tasks: { families: ['add', 'sub'], difficulties: [1, 2] }, eval: { every: 1, n: 2, k: 1, difficulties: [1] }, logCompletions: 4, steps: 2, maxMinutes: 0 });
  const out = path.join(root, 'own'), reportDir = path.join(root, 'own-report');
  await quietly(() => runR1Zero({ preset: 'own', recipe, base, out, minutes: 10, reportDir }));
  const rep = readReport(path.join(reportDir, 'r1-zero-own.json'));
  assert.deepEqual(rep.eval?.difficulties, [1], 'the recipe\'s eval difficulties, not its training ones');
  assert.deepEqual(rep.recipe.tasks.difficulties, [1, 2]);
  assert.equal(rep.rl_steps, 2);
  const all = readMetrics(path.join(out, 'metrics.jsonl'));
  assert.ok(all.some((x) => typeof x.reward !== 'number' && typeof x.eval_pass1 === 'number'), 'the run logged evaluation rows without a reward');
  assert.deepEqual(rep.curves.step, [1, 2]);
  assert.deepEqual(rep.curves.reward, all.filter((x) => typeof x.reward === 'number').map((x) => x.reward));
  assert.ok(rep.behaviour, 'logged completions give the behaviour section');
  assert.deepEqual(rep.behaviour, behaviourCurves(path.join(out, 'completions.jsonl')));
});

test('Ctrl-C during the RL stage ends the experiment with one line naming the stage and the checkpoint, and writes no report', { timeout: 600_000 }, async () => {
  const out = path.join(root, 'sigint'), reportDir = path.join(root, 'sigint-report');
  const stop = sigintOnceHandled();
  try {
    await assert.rejects(quietly(() => runR1Zero({ preset: 'nano', recipe: nanoWith({ steps: 200, maxMinutes: 0 }), base, out, minutes: 10, reportDir })),
      (e: Error) => e instanceof RunInterrupted && /^r1-zero: RL: interrupted at step \d+ \(checkpoint .*sigint.*\); run the same command again to resume$/.test(e.message) && e.lastStep < 200);
  } finally {
    stop();
  }
  assert.ok(!fs.existsSync(path.join(reportDir, 'r1-zero-nano.json')), 'no report of an unfinished run');
});

test('a recipe whose base is missing and is not a pretraining run\'s final model is refused, not pretrained', async () => {
  await inTempCwd(async (dir) => {
    for (const init of ['myruns/pretrain-nano/final', 'runs/pretrain-nano/final/model', 'runs/pretrain-nano/final2']) {
      await assert.rejects(quietly(() => runR1Zero({ preset: 'nano', recipe: nanoWith({ init }), out: 'rl', minutes: 0.001, reportDir: 'rep' })),
        (e: Error) => e.constructor === Error && e.message === `no base model at ${init} (no config.json); pass --base with a model directory`, init);
    }
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing was pretrained or written');
  });
});

// Last: it starts MPI in this process (a singleton world of one rank).
test('under --dp (an MPI singleton: rank 0 of 1) the experiment runs and reports as without it; a missing base is one CollectiveError per rank, never pretrained', { skip: mpiSkip, timeout: 600_000 }, async () => {
  const comm = Mpi.init().world;
  const out = path.join(root, 'dp'), reportDir = path.join(root, 'dp-report');
  await quietly(() => runR1Zero({ preset: 'nano', base, out, minutes: 0.001, reportDir, dp: { comm } }));
  const rep = readReport(path.join(reportDir, 'r1-zero-nano.json'));
  assert.equal(rep.base, base);
  assert.ok(rep.rl_steps >= 1);
  await inTempCwd(async (dir) => {
    await assert.rejects(quietly(() => runR1Zero({ preset: 'nano', out: 'rl', minutes: 0.001, reportDir: 'rep', dp: { comm } })),
      (e: Error) => e instanceof CollectiveError && e.message === 'no base model at runs/pretrain-nano/final (no config.json): pretrain it first (`tinyseek pretrain --preset nano`, or with --dp under mpirun), then run r1-zero --dp');
    const missing = path.join(dir, 'nothing');
    await assert.rejects(quietly(() => runR1Zero({ preset: 'nano', base: missing, out: 'rl', minutes: 0.001, reportDir: 'rep', dp: { comm } })),
      (e: Error) => e instanceof CollectiveError && e.message === `no base model at ${missing} (no config.json); pass --base with a model directory`);
    assert.deepEqual(fs.readdirSync(dir), [], 'nothing was pretrained or written');
  });
});
