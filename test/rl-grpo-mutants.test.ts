// grpo()'s driver on a nano model, path by path (found by mutation testing, docs/mutation.md):
// dynamic sampling ('off', 'drop', 'replace': how many prompts each attempt asks for and which groups
// the update uses), the step hook, held-out evaluation every N steps, the time limit, a resume with
// another recipe, and the refusal of caller reward functions with rollout workers. Rewards come from
// the caller's functions so each group's spread is known in advance.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel } from '../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { grpo } from '../src/rl/grpo.js';
import { parseGrpoRecipe } from '../src/rl/config.js';
import type { CompletionInfo } from '../src/rl/rewards.js';
import { readMetrics } from '../src/train/metrics.js';
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
