// GRPO under data parallelism over real Open MPI (`mpirun --oversubscribe -np 2`): for each loss
// aggregation (grpo, dapo, dr_grpo) — with a KL reference that is reset, μ = 2 passes, several
// micro-batches per rank, DAPO's overlong masking, dynamic sampling that redraws groups or drops
// them (leaving a rank an uneven or empty share) and batch reward scaling among the recipes — a DP 2 run samples exactly the completions of the single-process
// run (every group, every attempt, every step), its step-1 loss equals the single process's and its
// weights after the last step agree (relative ≤ 1e-5). Each rank samples only its share of the groups.
// (The step-1 loss of the grpo loss type is 0 up to rounding — group advantages cancel — so it is
// compared at the advantages' scale.) Also: an interrupted DP run (and a single-process run with
// μ = 2) resumes bit-exactly, and a bad launch or a promptsPerStep the ranks
// cannot split ends every rank with one clear message.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noGrad } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import { saveModel } from '../src/model/checkpoint.js';
import { Tokenizer, R1ZERO_PREAMBLE } from '../src/tokenizer/index.js';
import { loadAsFloat32 } from '../src/io/index.js';
import { aggregationWeights } from '../src/rl/loss.js';
import { rankShare, dpSplitProblem } from '../src/rl/data-parallel.js';
import { mpiSkip, mpiEnv, mpirun } from './helpers/mpi.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const worker = path.join(here, 'helpers', 'grpo-dp-worker.js');
const cli = path.join(here, '..', 'src', 'cli', 'index.js');
const TOL = 1e-5;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
let init = '';

/** A 3-step recipe on the nano policy; 4 prompts × 4 completions, micro-batches of 3 sequences. */
function recipe(over: Record<string, unknown> = {}) {
  return {
    name: 'grpo-dp-test', seed: 5, init, tasks: { families: ['add', 'sort', 'countdown', 'mul'], difficulties: [1, 2] },
    steps: 3, promptsPerStep: 4, numGenerations: 4, maxCompletionLength: 12, overlong: 'soft', overlongCache: 12,
    lr: 1e-3, microBatch: 3, checkpoint: { every: 1 }, ...over,
  };
}

interface Dump { steps: { rec: Record<string, number>; groups: { attempt: number; index: number; tokens: number[][] }[] }[] }
const readDump = (prefix: string, rank = 0): Dump => JSON.parse(fs.readFileSync(`${prefix}.${rank}.json`, 'utf8')) as Dump;

function runWorker(n: number, job: Record<string, unknown>): void {
  const args = [worker, JSON.stringify(job)];
  const [cmd, argv] = n === 1 ? [process.execPath, args] as const : mpirun(n, args);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 300_000 });
  assert.equal(r.status, 0, `${n} rank(s) failed (status ${r.status}, signal ${r.signal}):\n${r.stdout}\n${r.stderr}`);
}

/** ‖a − b‖ / ‖b‖ per tensor of two safetensors files. */
function assertTensorsClose(fa: string, fb: string, what: string): void {
  const A = new Map(loadAsFloat32(fa).map((r) => [r.name, r.data as Float32Array]));
  const B = new Map(loadAsFloat32(fb).map((r) => [r.name, r.data as Float32Array]));
  assert.deepEqual([...A.keys()].sort(), [...B.keys()].sort(), `${what}: the same tensors`);
  for (const [n, x] of A) {
    const y = B.get(n)!;
    let d = 0, m = 0;
    for (let i = 0; i < x.length; i++) { d += (x[i] - y[i]) ** 2; m += y[i] ** 2; }
    assert.ok(Math.sqrt(d) <= TOL * Math.sqrt(m), `${what}: ${n} differs (relative ${Math.sqrt(d / m)})`);
  }
}

before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-grpo-dp-'));
  const texts = Array.from({ length: 200 }, (_, i) => `Problem: What is ${i} + ${i + 3}? <think> ${i} plus ${i + 3} </think> <answer> ${2 * i + 3} </answer>`);
  texts.push(...Array.from({ length: 50 }, () => R1ZERO_PREAMBLE + ' User: What is 3 + 4. Assistant:'));
  const tok = Tokenizer.train(texts, { vocabSize: 400 });
  const model = new DeepseekV3({ ...getPreset('nano'), vocabSize: tok.vocabSize, maxPositionEmbeddings: 512 }, 4);
  // As in test/grpo.test.ts: a policy that ends a completion with probability ≈ 0.2 per token, so
  // lengths vary and the soft overlong penalty gives every group rewards that differ.
  noGrad(() => {
    const D = model.cfg.hiddenSize, emb = model.model.embedTokens.weight.f32(), head = model.headWeight().f32();
    for (let v = 0; v < tok.vocabSize; v++) emb[v * D] = 1;
    head[tok.eosId * D] = 0.6;
  });
  init = path.join(dir, 'init');
  const tokDir = path.join(dir, 'tok');
  tok.save(tokDir);
  saveModel(init, model, { tokenizerFiles: Object.fromEntries(fs.readdirSync(tokDir).map((f) => [f, fs.readFileSync(path.join(tokDir, f))])) });
});

test('loss weights of a data-parallel share with the whole batch\'s denominators are the whole batch\'s rows, for every aggregation', () => {
  // 4 sequences, L = 3: completion lengths 2, 3, 1 and 0 (a masked sequence)
  const mask = Float32Array.from([0, 1, 1, 1, 1, 1, 0, 0, 1, 0, 0, 0]);
  for (const type of ['grpo', 'dapo', 'dr_grpo'] as const) {
    const whole = aggregationWeights(mask, 4, 3, type, 8);
    const global = { sequences: 4, tokens: 6 };
    const rows = (rank: number) => Float32Array.from(rankShare([0, 1, 2, 3], rank, 2).flatMap((i) => Array.from(mask.subarray(i * 3, i * 3 + 3))));
    const r0 = aggregationWeights(rows(0), 2, 3, type, 8, global), r1 = aggregationWeights(rows(1), 2, 3, type, 8, global); // rows 0, 2 and 1, 3
    assert.deepEqual([...r0.subarray(0, 3), ...r1.subarray(0, 3), ...r0.subarray(3), ...r1.subarray(3)], Array.from(whole), type);
  }
  assert.deepEqual(rankShare([0, 1, 2, 3, 4], 1, 2), [1, 3]);
  assert.match(dpSplitProblem(6, 4)!, /promptsPerStep 6 cannot be split over 4 data-parallel ranks/);
  assert.equal(dpSplitProblem(8, 4), null);
});

after(() => fs.rmSync(dir, { recursive: true, force: true }));

const cases: [string, Record<string, unknown>][] = [
  ['grpo (per-sequence mean), KL reference reset every 2 steps', { lossType: 'grpo', beta: 0.05, refResetEvery: 2 }],
  ['dapo (token mean), dynamic sampling that redraws, batch reward scaling', { lossType: 'dapo', beta: 0.01, dynamicSampling: 'replace', scaleRewards: 'batch', overlong: 'soft', overlongCache: 4 }],
  // lr 3e-4: Adam turns the ~1e-7 rounding differences of another summation order into update
  // differences proportional to lr (dr_grpo's small constant-normalized gradients most): at 1e-3 the
  // 3-step weights differ by 2e-5 (norm-relative) while the gradient norms agree to 2e-7.
  ['dr_grpo (constant), μ = 2 passes, overlong masking, the caller\'s own reward function', { lossType: 'dr_grpo', numIterations: 2, overlong: 'mask', parityReward: 'all', lr: 3e-4 }],
  // only groups of multiplication problems have a spread, the others are dropped: the used groups
  // split unevenly, and a step that uses one group leaves rank 1 none (it still joins the all-reduce)
  ['grpo with dynamic sampling that drops groups, shares of unequal size or empty', { lossType: 'grpo', dynamicSampling: 'drop', overlong: 'none', parityReward: 'mul-only', steps: 4 }],
];

for (const [i, [what, over]] of cases.entries()) {
  test(`GRPO DP 2 = single process: ${what}: the same completions, step-1 loss and final weights`, { skip, timeout: 600_000 }, () => {
    const one = path.join(dir, `one${i}`), two = path.join(dir, `two${i}`);
    const { parityReward, ...rest } = over;
    runWorker(1, { recipe: recipe(rest), out: one, dp: 1, dump: one, parityReward });
    runWorker(2, { recipe: recipe(rest), out: two, dp: 2, dump: two, parityReward });
    const a = readDump(one), b = readDump(two), b1 = readDump(two, 1);
    const steps = (over.steps as number | undefined) ?? 3;
    assert.equal(b.steps.length, steps);
    for (let s = 0; s < steps; s++) {
      assert.deepEqual(b.steps[s].groups, a.steps[s].groups, `step ${s + 1}: every group's completions, token for token`);
      assert.deepEqual(b1.steps[s].groups, a.steps[s].groups, `step ${s + 1}: rank 1 holds the same groups`);
      const rec = b.steps[s].rec;
      // the rollout work is split: each rank sampled half of each draw's groups
      assert.equal(rec['dp/ranks'], 2);
      assert.equal(rec['dp/groups_per_rank_max'] + rec['dp/groups_per_rank_min'], a.steps[s].groups.length, `step ${s + 1}: ${JSON.stringify(rec)}`);
      assert.equal(rec['dp/groups_per_rank_max'] - rec['dp/groups_per_rank_min'] <= new Set(a.steps[s].groups.map((g) => g.attempt)).size, true);
      for (const k of ['reward', 'reward_std', 'completions/mean_length', 'frac_reward_zero_std', 'num_groups_used']) assert.equal(rec[k], a.steps[s].rec[k], `step ${s + 1}: ${k}`);
      // relative, except near 0: the grpo loss of a first pass is Σ of group advantages (≈ ±0.1 per
      // sequence) that cancel to 0 up to rounding, so it is compared against that scale
      for (const [k, floor] of [['loss', 0.1], ['kl', 1e-3], ['entropy', 1e-3], ['clip_ratio/low_mean', 1e-3], ['clip_ratio/high_mean', 1e-3], ['grad_norm', 1e-3]] as const) {
        const x = rec[k], y = a.steps[s].rec[k];
        assert.ok(Math.abs(x - y) <= TOL * Math.max(Math.abs(y), floor), `step ${s + 1}: ${k} ${x} (DP 2) vs ${y} (one process)`);
        assert.equal(b1.steps[s].rec[k], x, `step ${s + 1}: rank 1 reports the same global ${k}`);
      }
    }
    if (over.dynamicSampling === 'drop') assert.ok(a.steps.some((st) => st.rec.num_groups_used === 1), `some step used one group: ${a.steps.map((st) => st.rec.num_groups_used)}`);
    if (over.dynamicSampling === 'replace') assert.ok(a.steps.some((st) => st.groups.some((g) => g.attempt > 0)), 'some groups were redrawn');
    const l0 = a.steps[0].rec.loss, l1 = b.steps[0].rec.loss;
    assert.ok(a.steps[0].rec.grad_norm > 0 && a.steps[0].rec.reward_std > 0, 'the step learns something');
    if (over.lossType !== 'grpo') assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0) && l0 !== 0, `step-1 loss ${l1} vs single process ${l0}`);
    assertTensorsClose(path.join(two, 'final', 'model.safetensors'), path.join(one, 'final', 'model.safetensors'), 'weights after the last step');
  });
}

test('an interrupted GRPO DP 2 run with μ = 2 resumes bit-exactly (rank 0 writes the checkpoint, every rank resumes from it)', { skip, timeout: 600_000 }, () => {
  const { parityReward, ...over } = cases[2][1];
  const full = path.join(dir, 'two2');
  if (!fs.existsSync(path.join(full, 'final'))) runWorker(2, { recipe: recipe(over), out: full, dp: 2, dump: full, parityReward });
  const part = path.join(dir, 'resume');
  runWorker(2, { recipe: recipe(over), out: part, dp: 2, dump: part, stopAfter: 1, parityReward });
  runWorker(2, { recipe: recipe(over), out: part, dp: 2, dump: part, resume: true, parityReward });
  assert.deepEqual(fs.readFileSync(path.join(part, 'final', 'model.safetensors')), fs.readFileSync(path.join(full, 'final', 'model.safetensors')), 'bit-identical to the uninterrupted DP run');
  const metrics = fs.readFileSync(path.join(part, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3], 'rank 0 alone wrote one metrics line per step');
});

test('a single-process run with μ = 2 passes resumes bit-exactly: AdamW\'s own update count (2 a step) is restored, not the step', { timeout: 300_000 }, () => {
  const over = { lossType: 'grpo', beta: 0.05, numIterations: 2 };
  const full = path.join(dir, 'mu2'), part = path.join(dir, 'mu2-resumed');
  runWorker(1, { recipe: recipe(over), out: full, dp: 1, dump: full });
  runWorker(1, { recipe: recipe(over), out: part, dp: 1, dump: part, stopAfter: 1 });
  runWorker(1, { recipe: recipe(over), out: part, dp: 1, dump: part, resume: true });
  assert.deepEqual(fs.readFileSync(path.join(part, 'final', 'model.safetensors')), fs.readFileSync(path.join(full, 'final', 'model.safetensors')), 'bit-identical to the uninterrupted run');
});

test('grpo --dp (and r1-zero --dp): a launch without mpirun, a world size that does not match, and a promptsPerStep the ranks cannot split each end every rank with one clear message', { skip, timeout: 300_000 }, () => {
  const cfg = path.join(dir, 'r.json');
  fs.writeFileSync(cfg, JSON.stringify(recipe({ promptsPerStep: 3 })));
  const alone = spawnSync(process.execPath, [cli, 'grpo', '--config', cfg, '--out', path.join(dir, 'bad0'), '--dp', '3'], { env, encoding: 'utf8' });
  assert.equal(alone.status, 2, alone.stderr);
  assert.match(alone.stderr, /--dp 3 needs 3 processes: start it as `mpirun -np 3 tinyseek grpo/);
  const r1 = spawnSync(process.execPath, [cli, 'r1-zero', '--preset', 'nano', '--base', init, '--out', path.join(dir, 'bad-r1'), '--dp', '2'], { env, encoding: 'utf8' });
  assert.equal(r1.status, 2, r1.stderr);
  assert.match(r1.stderr, /--dp 2 needs 2 processes: start it as `mpirun -np 2 tinyseek r1-zero/);
  const [cmd, argv] = mpirun(2, [cli, 'grpo', '--config', cfg, '--out', path.join(dir, 'bad1'), '--dp', '3']);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(r.status, 0);
  assert.equal(r.stderr.split('\n').filter((l) => l.includes("--dp 3 does not match mpirun's 2 processes")).length, 2, r.stderr);
  const [cmd2, argv2] = mpirun(2, [cli, 'grpo', '--config', cfg, '--out', path.join(dir, 'bad2'), '--dp', '2']);
  const s = spawnSync(cmd2, argv2, { env, encoding: 'utf8', timeout: 120_000 });
  assert.notEqual(s.status, 0);
  assert.equal(s.stderr.split('\n').filter((l) => l.includes('promptsPerStep 3 cannot be split over 2 data-parallel ranks')).length, 2, s.stderr);
  assert.ok(!fs.existsSync(path.join(dir, 'bad2', 'metrics.jsonl')), 'nothing ran');
});

test('r1-zero --dp 2 under mpirun: rank 0 alone evaluates and reports (once each), both ranks run the RL stage', { skip, timeout: 600_000 }, () => {
  const out = path.join(dir, 'r1-dp'), report = path.join(dir, 'r1-dp-report');
  const [cmd, argv] = mpirun(2, [cli, 'r1-zero', '--preset', 'nano', '--base', init, '--out', out, '--minutes', '0.02', '--report', report, '--dp', '2']);
  const r = spawnSync(cmd, argv, { env, encoding: 'utf8', timeout: 540_000 });
  assert.equal(r.status, 0, `status ${r.status}, signal ${r.signal}:\n${r.stdout}\n${r.stderr}`);
  const count = (s: string, line: string) => s.split('\n').filter((l) => l === line).length;
  assert.equal(count(r.stderr, 'r1-zero: evaluating the base model'), 1, r.stderr);
  assert.equal(count(r.stderr, 'r1-zero: evaluating the RL model'), 1, r.stderr);
  assert.equal(r.stderr.split('\n').filter((l) => l.startsWith('family ')).length, 2, 'two evaluation tables, both from rank 0');
  assert.equal(count(r.stdout, `report: ${path.join(report, 'r1-zero-nano.md')}`), 1, r.stdout);
  const rep = JSON.parse(fs.readFileSync(path.join(report, 'r1-zero-nano.json'), 'utf8')) as { rl_steps: number; base: string };
  assert.equal(rep.base, init);
  assert.ok(rep.rl_steps >= 1);
  const m = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
  assert.ok(m.length >= 1 && m.every((x) => x['dp/ranks'] === 2 || x['dp/ranks'] === undefined), 'the RL stage ran on both ranks');
});
