// grpo()'s driver on a nano model, path by path (found by mutation testing, docs/mutation.md):
// dynamic sampling ('off', 'drop', 'replace': how many prompts each attempt asks for and which groups
// the update uses), the step hook, held-out evaluation every N steps, the time limit, a resume with
// another recipe, and the refusal of caller reward functions with rollout workers; the run folder (lock,
// recipe.json, tokenizer files, when checkpoints are written), completions.jsonl and the truncation of
// the logs on resume, Ctrl-C, the step's timing metrics (bounded by a reward function that takes a
// known time), the progress line, the rollout generator's size, and data parallelism on one MPI rank
// in this process (a singleton: the DP code paths, with results equal to a plain run; two and more
// ranks are the grpo-dp suite's, under mpirun). Rewards come from the caller's functions so each
// group's spread is known in advance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel, loadModel } from '../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { grpo, rolloutGenerator } from '../src/rl/grpo.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import type { CompletionInfo } from '../src/rl/rewards.js';
import { readMetrics } from '../src/train/metrics.js';
import { Mpi } from '../src/parallel/mpi.js';
import { mpiSkip } from './helpers/mpi.js';
import { captureStderr } from './helpers/stderr.js';
import { sigint } from './helpers/sigint.js';
import { sampleProblem } from '../src/tasks/index.js';
import type { Problem } from '../src/tasks/index.js';

let root = '', init = '';
before(() => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-mut-'));
  const tok = Tokenizer.train([R1ZERO_PREAMBLE, 'User: Compute 3 + 4. Assistant: <think> 3 + 4 = 7 </think> <answer> 7 </answer>'], { vocabSize: 300 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 5);
  init = path.join(root, 'init');
  const tokDir = path.join(root, 'tok');
  tok.save(tokDir);
  saveModel(init, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
});
after(() => fs.rmSync(root, { recursive: true, force: true }));

const recipe = (o: Record<string, unknown> = {}) => parseGrpoRecipe({
  name: 'grpo-mut', seed: 1, init, tasks: { families: ['add'], difficulties: [1] },
  steps: 2, promptsPerStep: 2, numGenerations: 2, maxCompletionLength: 4, lr: 1e-3, microBatch: 8, checkpoint: { every: 0 }, ...o,
});

/**
 * Prompts whose group's rewards are flat (every completion 0.5) or spread (0, 1, 2, … in scoring order). `plan` lists the parities to hand out, in order;
 * `asked` records how many prompts each attempt asked for.
 */
function scripted(plan: ('flat' | 'spread')[]) {
  let next = 0, k = 0;
  const asked: number[] = [];
  const flat = new Set<Problem>();
  const samplePrompts = (_rng: unknown, n: number): Problem[] => {
    asked.push(n);
    return Array.from({ length: n }, () => {
      const p = sampleProblem('add', 1, 'train', next);
      if (plan[next++ % plan.length] === 'flat') flat.add(p);
      return p;
    });
  };
  const rewardFns = [{ name: 'scripted', weight: 1, fn: (i: CompletionInfo) => (flat.has(i.problem) ? 0.5 : k++) }];
  return { samplePrompts, rewardFns, asked };
}

const metricsOf = (out: string) => readMetrics(path.join(out, 'metrics.jsonl')) as Record<string, number>[];

test('dynamic sampling off: one attempt of promptsPerStep prompts; flat groups are used too', async () => {
  const s = scripted(['flat', 'spread']);
  const out = path.join(root, 'off');
  const steps: number[] = [];
  await grpo({ recipe: recipe(), out, quiet: true, ...s, onStep: (m) => steps.push(m.step) });
  assert.deepEqual(s.asked, [2, 2]);
  assert.deepEqual(steps, [1, 2], 'the step hook sees every step');
  assert.deepEqual(metricsOf(out).map((m) => [m.step, m.num_groups_used, m.frac_reward_zero_std]), [[1, 2, 0.5], [2, 2, 0.5]]);
});

test('dynamic sampling drop: one attempt; only groups with a spread of rewards are used', async () => {
  const s = scripted(['flat', 'spread']);
  const out = path.join(root, 'drop');
  await grpo({ recipe: recipe({ dynamicSampling: 'drop' }), out, quiet: true, ...s });
  assert.deepEqual(s.asked, [2, 2]);
  assert.deepEqual(metricsOf(out).map((m) => [m.num_groups_used, m.frac_reward_zero_std]), [[1, 0.5], [1, 0.5]]);
});

test('dynamic sampling replace: later attempts ask for twice the groups still missing, up to 4 attempts, and use no more than promptsPerStep', async () => {
  // step 1: [flat, spread] → 1 used, 1 missing → attempt 2 asks 2: [spread, spread] → the first fills the step
  // step 2: [flat, flat], then 4, 4, 4 flat → nothing used after 4 attempts
  const plan: ('flat' | 'spread')[] = ['flat', 'spread', 'spread', 'spread', ...new Array<'flat'>(14).fill('flat')];
  const s = scripted(plan);
  const out = path.join(root, 'replace');
  await grpo({ recipe: recipe({ dynamicSampling: 'replace' }), out, quiet: true, ...s });
  assert.deepEqual(s.asked, [2, 2, 2, 4, 4, 4]);
  const m = metricsOf(out);
  assert.deepEqual(m.map((x) => [x.num_groups_used, x.frac_reward_zero_std]), [[2, 1 / 4], [0, 1]]);
  assert.equal(m[1]!.loss, 0);
  assert.equal(m[1]!.grad_norm, 0);
});

test('held-out evaluation every N steps is recorded in metrics.jsonl and returned', async () => {
  const out = path.join(root, 'eval');
  const r = await grpo({ recipe: recipe({ steps: 3, eval: { every: 2, n: 2, k: 1 } }), out, quiet: true, ...scripted(['spread']) });
  assert.deepEqual(r.evals.map((e) => e.step), [2]);
  const rows = metricsOf(out).filter((m) => 'eval_pass1' in m);
  assert.deepEqual(rows.map((m) => m.step), [2]);
  assert.equal(rows[0]!.eval_pass1, r.evals[0]!.report.mean.pass1);
  assert.equal(rows[0]!.eval_greedy, r.evals[0]!.report.mean.greedy);
});

test('the time limit stops the run before its next step; the final model is still written', async () => {
  const out = path.join(root, 'timeout');
  const r = await grpo({ recipe: recipe({ maxMinutes: 1e-9 }), out, quiet: true, ...scripted(['spread']) });
  assert.equal(r.lastStep, 0);
  assert.equal(r.finalDir, path.join(out, 'final'));
  assert.ok(fs.existsSync(path.join(out, 'final', 'config.json')));
  assert.equal(fs.existsSync(path.join(out, 'metrics.jsonl')) ? metricsOf(out).length : 0, 0);
});

test('checkpoints every N steps, and at the end; stopAfter saves where it stopped', async () => {
  const out = path.join(root, 'ckpt');
  const r = await grpo({ recipe: recipe({ steps: 3, checkpoint: { every: 2 } }), out, quiet: true, ...scripted(['spread']) });
  assert.equal(r.lastStep, 3);
  assert.deepEqual(fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => d.startsWith('step-')).sort(), ['step-000002', 'step-000003']);
  const stop = path.join(root, 'stop');
  const s = await grpo({ recipe: recipe({ steps: 3 }), out: stop, quiet: true, stopAfter: 1, ...scripted(['spread']) });
  assert.equal(s.lastStep, 1);
  assert.equal(s.finalDir, path.join(stop, 'checkpoints', 'step-000001'));
  assert.ok(!fs.existsSync(path.join(stop, 'final')));
  // resuming under another recipe is refused, naming the run
  await assert.rejects(grpo({ recipe: recipe({ steps: 3, lr: 2e-3 }), out: stop, quiet: true, resume: true, ...scripted(['spread']) }), /--resume: the recipe differs from the one .*stop was started with, in lr;/);
  // a new time budget and checkpoint interval are not a different run: the resume goes on to step 3
  const more = await grpo({ recipe: recipe({ steps: 3, maxMinutes: 30, checkpoint: { every: 1 } }), out: stop, quiet: true, resume: true, ...scripted(['spread']) });
  assert.equal(more.lastStep, 3);
  assert.equal(metricsOf(stop).length, 3);
});

test('caller reward functions cannot run on rollout workers: refused before any step', async () => {
  const out = path.join(root, 'workers');
  await assert.rejects(
    grpo({ recipe: recipe(), out, quiet: true, ...scripted(['spread']), rolloutWorkers: { url: 'redis://127.0.0.1:1', maxStaleness: 0 } }),
    /rollout workers score with the recipe's rule rewards; a caller's own reward functions \(rewardFns\) run in-process only/,
  );
});

// ---- the run folder, logging, interruption and the metrics a step records ----

test('the run lock is released when grpo() returns; a folder with history is not started over without resume', async () => {
  const out = path.join(root, 'lock');
  await grpo({ recipe: recipe({ steps: 1 }), out, quiet: true, ...scripted(['spread']) });
  assert.ok(!fs.existsSync(path.join(out, 'run.lock')), 'run.lock removed');
  await assert.rejects(grpo({ recipe: recipe({ steps: 2 }), out, quiet: true, ...scripted(['spread']) }), /already holds a run/);
});

test('recipe.json, the final model and the checkpoints carry the recipe and the tokenizer files; no reference model without KL', async () => {
  const out = path.join(root, 'files');
  const r = recipe({ steps: 2, checkpoint: { every: 1 } });
  const res = await grpo({ recipe: r, out, quiet: true, ...scripted(['spread']) });
  assert.equal(res.interrupted, false);
  assert.deepEqual(JSON.parse(fs.readFileSync(path.join(out, 'recipe.json'), 'utf8')), JSON.parse(JSON.stringify(r)));
  for (const dir of [path.join(out, 'final'), path.join(out, 'checkpoints', 'step-000002')]) {
    for (const f of ['tokenizer.json', 'tokenizer_config.json']) {
      if (!fs.existsSync(path.join(init, f))) continue;
      assert.deepEqual(fs.readFileSync(path.join(dir, f)), fs.readFileSync(path.join(init, f)), `${dir}/${f}`);
    }
  }
  assert.ok(fs.existsSync(path.join(init, 'tokenizer.json')), 'the fixture has a tokenizer.json');
  assert.ok(!fs.existsSync(path.join(out, 'checkpoints', 'step-000002', 'ref')), 'β = 0: no reference model is kept');
  const kl = await grpo({ recipe: recipe({ steps: 2, beta: 0.04, checkpoint: { every: 1 } }), out: path.join(root, 'files-kl'), quiet: true, stopAfter: 1, ...scripted(['spread']) });
  assert.ok(fs.existsSync(path.join(kl.finalDir, 'ref', 'config.json')), 'β > 0: the reference model is in the checkpoint');
});

test('checkpoints are written after steps every, before the next step, and not again at the end of the loop', async () => {
  const out = path.join(root, 'ckpt-when');
  const seen: string[][] = [];
  const ls = () => (fs.existsSync(path.join(out, 'checkpoints')) ? fs.readdirSync(path.join(out, 'checkpoints')).filter((d) => d.startsWith('step-')).sort() : []);
  await grpo({ recipe: recipe({ steps: 4, checkpoint: { every: 2 } }), out, quiet: true, ...scripted(['spread']), onStep: () => seen.push(ls()) });
  assert.deepEqual(seen, [[], [], ['step-000002'], ['step-000002']]);
  assert.deepEqual(ls(), ['step-000002', 'step-000004']);
});

test('stopAfter beyond the last step finishes the run normally (final model, not a checkpoint)', async () => {
  const out = path.join(root, 'stop-late');
  const r = await grpo({ recipe: recipe({ steps: 2 }), out, quiet: true, stopAfter: 5, ...scripted(['spread']) });
  assert.equal(r.finalDir, path.join(out, 'final'));
  assert.equal(r.lastStep, 2);
  assert.equal(r.interrupted, false);
});

test('completions.jsonl: the first logCompletions completions of each step in group order; a resume truncates it and metrics.jsonl after the checkpoint and says where it continues; a fresh run replaces a stale log', async () => {
  const out = path.join(root, 'completions');
  const tok = Tokenizer.fromDir(init);
  const expected: Record<string, unknown>[] = [];
  const steps: number[] = [];
  const onStep = (m: { step: number }, sampled: readonly import('../src/rl/reward.js').ScoredGroup[]) => {
    steps.push(m.step);
    let left = 3;
    for (const g of sampled) {
      for (let j = 0; j < g.completions.length && left > 0; j++, left--) {
        const c = g.completions[j]!;
        expected.push({
          step: m.step, group: g.index, attempt: g.attempt, family: g.problem.family, difficulty: g.problem.difficulty, answer: g.problem.answer,
          prompt: g.problem.prompt, completion: tok.decode(c.tokens.filter((t) => t !== tok.eosId)), tokens: c.tokens.length,
          finish_reason: c.finishReason, reward: g.rewards[j], rewards: { scripted: g.perFn.scripted![j] },
        });
      }
    }
  };
  // a stale completions.jsonl from an earlier attempt that never finished a step is removed
  fs.mkdirSync(out, { recursive: true });
  fs.writeFileSync(path.join(out, 'completions.jsonl'), JSON.stringify({ step: 7, stale: true }) + '\n');
  const r = recipe({ steps: 3, logCompletions: 3, checkpoint: { every: 1 } });
  const first = await grpo({ recipe: r, out, quiet: true, stopAfter: 2, ...scripted(['spread']), onStep });
  assert.equal(first.lastStep, 2);
  const rows = () => readMetrics(path.join(out, 'completions.jsonl')) as unknown as Record<string, unknown>[];
  assert.deepEqual(rows(), expected);
  assert.ok(expected.some((e) => (e.tokens as number) > 0));
  // a step written after the last checkpoint (a kill between logging and saving) is dropped on resume
  fs.appendFileSync(path.join(out, 'metrics.jsonl'), JSON.stringify({ step: 3, loss: 99 }) + '\n');
  fs.appendFileSync(path.join(out, 'completions.jsonl'), JSON.stringify({ step: 3, stale: true }) + '\n');
  const { value: second, lines } = await captureStderr(() => grpo({ recipe: r, out, quiet: true, resume: true, ...scripted(['spread']), onStep }));
  assert.equal(second.lastStep, 3);
  assert.deepEqual(steps, [1, 2, 3], 'the resume runs step 3 only');
  assert.ok(lines.includes(`resume: continuing from step 2 (${path.join(out, 'checkpoints', 'step-000002')})`), lines.join('\n'));
  assert.deepEqual(rows(), expected);
  assert.deepEqual(metricsOf(out).map((m) => m.step), [1, 2, 3]);
  assert.ok(metricsOf(out).every((m) => m.loss !== 99));
  // logCompletions 0: no completions.jsonl
  const none = path.join(root, 'completions-none');
  await grpo({ recipe: recipe({ steps: 1 }), out: none, quiet: true, ...scripted(['spread']) });
  assert.ok(!fs.existsSync(path.join(none, 'completions.jsonl')));
});

test('Ctrl-C (SIGINT) stops after the running step with a checkpoint, returns interrupted, and removes its handler', async () => {
  const out = path.join(root, 'sigint');
  const before = process.listeners('SIGINT');
  const r = await grpo({ recipe: recipe({ steps: 3 }), out, quiet: true, ...scripted(['spread']), onStep: (m) => { if (m.step === 1) sigint(before); } });
  assert.equal(r.interrupted, true);
  assert.equal(r.lastStep, 1);
  assert.equal(r.finalDir, path.join(out, 'checkpoints', 'step-000001'));
  assert.ok(fs.existsSync(path.join(r.finalDir, 'trainer_state.json')));
  assert.ok(!fs.existsSync(path.join(out, 'final')));
  assert.deepEqual(process.listeners('SIGINT'), before);
});

test('a time limit the run fits in does not stop it', async () => {
  // elapsed time is measured from the run's start, not from the process's
  const wait = 12000 - performance.now();
  if (wait > 0) await new Promise((res) => setTimeout(res, wait));
  const r = await grpo({ recipe: recipe({ steps: 2, maxMinutes: 0.1 }), out: path.join(root, 'fits'), quiet: true, ...scripted(['spread']) });
  assert.equal(r.lastStep, 2);
});

test('step_time, generation_tokens_per_s and elapsed_minutes are measured over the step and the run', async () => {
  // scoring is part of sampling: a reward function that takes 60 ms per completion bounds the generation time from below
  const s = scripted(['spread']);
  const slow = { ...s.rewardFns[0]!, fn: (i: CompletionInfo) => { const t = performance.now(); while (performance.now() - t < 60); return s.rewardFns[0]!.fn(i); } };
  const tokens: number[] = [];
  const t0 = performance.now();
  await grpo({
    recipe: recipe({ steps: 2 }), out: path.join(root, 'timing'), quiet: true, samplePrompts: s.samplePrompts, rewardFns: [slow],
    onStep: (_m, sampled) => tokens.push(sampled.reduce((a, g) => a + g.completions.reduce((b, c) => b + c.tokens.length, 0), 0)),
  });
  const wall = (performance.now() - t0) / 1000;
  const minGen = 4 * 0.06; // 2 prompts × 2 completions
  const m = metricsOf(path.join(root, 'timing'));
  m.forEach((x, i) => {
    assert.ok(x.step_time! >= minGen && x.step_time! <= wall, `step_time ${x.step_time} in [${minGen}, ${wall}]`);
    assert.ok(x.generation_tokens_per_s! <= tokens[i]! / minGen + 1e-9 && x.generation_tokens_per_s! >= tokens[i]! / wall, `generation_tokens_per_s ${x.generation_tokens_per_s} for ${tokens[i]} tokens`);
    assert.ok(x.elapsed_minutes! * 60 >= x.step_time! - 1e-6 && x.elapsed_minutes! * 60 <= wall, `elapsed_minutes ${x.elapsed_minutes}`);
  });
  assert.ok(m[1]!.elapsed_minutes! * 60 >= m[0]!.step_time! + m[1]!.step_time! - 1e-6);
});

test('the progress line is printed unless quiet', async () => {
  const loud = await captureStderr(() => grpo({ recipe: recipe({ steps: 1 }), out: path.join(root, 'loud'), ...scripted(['spread']) }));
  assert.ok(loud.lines.some((l) => /step 1\/1/.test(l) && /reward/.test(l)), loud.lines.join('\n'));
  const quiet = await captureStderr(() => grpo({ recipe: recipe({ steps: 1 }), out: path.join(root, 'quiet'), quiet: true, ...scripted(['spread']) }));
  assert.deepEqual(quiet.lines.filter((l) => /step 1\/1/.test(l)), []);
});

test('the rollout generator holds a step of completions (twice with replace, at most 256) and at most 512 positions, and decodes', async () => {
  const policy = loadModel(init);
  const tok = Tokenizer.fromDir(init);
  const dec = (ids: number[]) => tok.decode(ids);
  assert.equal(rolloutGenerator(policy, recipe(), dec).maxBatch, 4);
  assert.equal(rolloutGenerator(policy, recipe({ dynamicSampling: 'drop' }), dec).maxBatch, 4);
  assert.equal(rolloutGenerator(policy, recipe({ dynamicSampling: 'replace' }), dec).maxBatch, 8);
  assert.equal(rolloutGenerator(policy, recipe({ promptsPerStep: 40, numGenerations: 8 }), dec).maxBatch, 256);
  assert.equal(rolloutGenerator(policy, recipe(), dec).maxLen, 512);
  const long = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 2048 }, 5);
  const short = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 128 }, 5);
  assert.equal(rolloutGenerator(long, recipe(), dec).maxLen, 512);
  assert.equal(rolloutGenerator(short, recipe(), dec).maxLen, 128);
  const res = await rolloutGenerator(policy, recipe(), dec).generate({ prompt: tok.encode('User: Compute 3 + 4.'), maxNewTokens: 3, sampling: { temperature: 0 } });
  assert.equal(res.text, tok.decode(res.tokens));
});

test('rollout workers without caller reward functions go on to Redis (and name it when it is unreachable)', async () => {
  const out = path.join(root, 'workers-redis');
  await assert.rejects(
    grpo({ recipe: recipe(), out, quiet: true, rolloutWorkers: { url: 'redis://127.0.0.1:1', maxStaleness: 0, redisTimeoutMs: 300 } }),
    (e: Error) => /127\.0\.0\.1:1/.test(e.message) && !/rewardFns/.test(e.message),
  );
});

test('data parallelism on one rank (an MPI singleton, in this process) trains exactly what one process does', { skip: mpiSkip }, async () => {
  const comm = Mpi.init().world;
  const r = recipe({ steps: 2, checkpoint: { every: 1 } });
  const one = path.join(root, 'dp-off'), dp = path.join(root, 'dp-1');
  const a = await grpo({ recipe: r, out: one, quiet: true, ...scripted(['flat', 'spread']) });
  const b = await grpo({ recipe: r, out: dp, quiet: true, dp: { comm }, ...scripted(['flat', 'spread']) });
  assert.equal(b.lastStep, 2);
  const strip = (m: Record<string, number>[]) => m.map((x) => Object.fromEntries(Object.entries(x).filter(([k]) => !/time|per_s|minutes|^dp\//.test(k))));
  assert.deepEqual(strip(metricsOf(dp)), strip(metricsOf(one)));
  assert.deepEqual(metricsOf(dp).map((m) => m['dp/ranks']), [1, 1]);
  assert.deepEqual(fs.readFileSync(path.join(b.finalDir, 'model.safetensors')), fs.readFileSync(path.join(a.finalDir, 'model.safetensors')));
  // Ctrl-C stops every rank after the running step
  const others = process.listeners('SIGINT');
  const stop = await grpo({ recipe: recipe({ steps: 3 }), out: path.join(root, 'dp-sigint'), quiet: true, dp: { comm }, ...scripted(['spread']), onStep: (m) => { if (m.step === 1) sigint(others); } });
  assert.deepEqual([stop.interrupted, stop.lastStep], [true, 1]);
  await assert.rejects(
    grpo({ recipe: recipe(), out: path.join(root, 'dp-workers'), quiet: true, dp: { comm }, rolloutWorkers: { url: 'redis://127.0.0.1:1', maxStaleness: 0 } }),
    /--dp and --rollout-workers do not combine: a data-parallel run samples its rollouts on its own ranks/,
  );
});
