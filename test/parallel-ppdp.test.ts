// Pipeline × data parallelism over real Open MPI (`mpirun --oversubscribe -np 4` on this 2-core
// machine), as DeepSeek-V3 trains: --pp 2 --dp 2 under 1F1B (two 2-rank pipelines) and --pp 4 --dp 2
// under DualPipeV (two 2-rank pipelines of 4 stages). One step's loss, global gradient norm and every
// parameter's gradient on every rank (summed over its pipeline's holders and the replicas) equal the
// single-process step on the same global batch (relative ≤ 1e-5), the expert counts are equal, and
// the weights after 4 steps (clipping, MTP and the bias update on) agree. An interrupted PP×DP run
// resumes bit-exactly; its checkpoint (written once per stage, by replica 0) resumes in one process
// and under plain --pp. A --pp × --dp that does not match mpirun's -np ends every rank with one message
// (--pp with --ep: test/parallel-ppep.test.ts).
import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadRecipe, writeCorpus, readCorpus } from '../src/data/index.js';
import { Tokenizer } from '../src/tokenizer/index.js';
import { mpiSkip, mpiEnv } from './helpers/mpi.js';
import { assertWeightsClose, gradMap, readDump, runPpWorker } from './helpers/pp-dumps.js';

const here = path.dirname(fileURLToPath(import.meta.url)); // dist/test
const cli = path.join(here, '..', 'src', 'cli', 'index.js');
const TOL = 1e-5;
const STEPS = 4;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
function recipe(steps: number) {
  return {
    kind: 'pretrain', name: 'ppdp-test', seed: 5,
    model: { preset: 'nano', overrides: { num_hidden_layers: 4 } },
    tokenizer: { path: path.join(dir, 'tok') },
    data: { file: path.join(dir, 'corpus.jsonl') },
    // 16 rows: 2 replicas × 8 micro-batches of 1 row under DualPipeV PP 4; clip 0.5 is below the
    // step-1 gradient norm, so clipping with the global norm is exercised. lr 5e-4: Adam turns the
    // ~1e-7 float differences of another summation order into update differences proportional to lr;
    // at 2e-3 a plain --pp 2 run of this recipe (no DP) already ends 1.3e-5 (norm-relative) from the
    // single process in lm_head, as PP × DP does (1.4e-5); at 1e-3 PP × DP is 9e-6 from it, at 5e-4 4.5e-6.
    train: { steps, batchSize: 16, seqLen: 16, clip: 0.5, lr: { peak: 0.0005, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
  };
}





before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ppdp-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 5, tokens: 20000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
  runPpWorker(0, { recipe: recipe(STEPS), out: path.join(dir, 'ref'), pp: 1, dump: path.join(dir, 'ref') });
});

const cases: [string, number, number][] = [
  // [schedule, stages, chunks per replica]: 2 ranks per pipeline × 2 replicas = 4 ranks
  ['1f1b', 2, 4],
  ['dualpipev', 4, 8],
];

for (const [method, pp, chunks] of cases) {
  test(`${method} --pp ${pp} --dp 2 on 4 ranks: step-1 loss, gradient norm and every rank's gradients, expert counts and ${STEPS}-step weights equal the single process`, { skip, timeout: 180_000 }, () => {
    const out = path.join(dir, `${method}-pp${pp}-dp2`);
    runPpWorker(4, { recipe: recipe(STEPS), out, pp, dp: 2, method, chunks, dump: out });
    const ref = readDump(path.join(dir, 'ref'));
    const refGrads = gradMap(path.join(dir, 'ref'), 0);
    const got = readDump(out);
    assert.deepEqual([got.steps[0].pp?.dp, got.steps[0].pp?.ranks], [2, 2], 'two replicas of a 2-rank pipeline');
    const l0 = ref.steps[0].loss, l1 = got.steps[0].loss;
    assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0), `step-1 loss ${l1} vs single process ${l0}`);
    assert.ok(Math.abs(got.steps[0].grad_norm - ref.steps[0].grad_norm) <= TOL * ref.steps[0].grad_norm, `global grad norm ${got.steps[0].grad_norm} vs ${ref.steps[0].grad_norm}`);
    assert.ok(ref.steps[0].grad_norm > 0.5, 'clipping is exercised');
    // every rank (both replicas) holds the global gradient of its stages' tensors
    for (let replica = 0; replica < 2; replica++) {
      const seen = new Set<string>();
      for (let k = 2 * replica; k < 2 * replica + 2; k++) {
        for (const [n, g] of gradMap(out, k)) {
          const want = refGrads.get(n);
          assert.ok(want, `rank ${k} holds ${n}, which the model does not have`);
          let d = 0, m = 0;
          for (let i = 0; i < g.length; i++) { d = Math.max(d, Math.abs(g[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
          assert.ok(d <= TOL * m || d === 0, `rank ${k}: gradient of ${n} differs by ${d} (max |g| ${m}, relative ${d / m})`);
          seen.add(n);
        }
      }
      assert.deepEqual([...seen].sort(), [...refGrads.keys()].sort(), `replica ${replica} holds every parameter`);
    }
    for (let i = 0; i < STEPS; i++) {
      assert.ok(Math.abs(got.steps[i].loss - ref.steps[i].loss) <= TOL * ref.steps[i].loss, `loss of step ${i + 1}: ${got.steps[i].loss} vs ${ref.steps[i].loss}`);
      assert.deepEqual(got.steps[i].counts, ref.steps[i].counts, `global expert counts of step ${i + 1}`);
    }
    // replica 0 wrote one shard per pipeline rank: a model directory a single process loads
    assert.deepEqual(fs.readdirSync(path.join(out, 'final')).filter((f) => f.endsWith('.safetensors')).sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    assertWeightsClose(path.join(out, 'final'), path.join(dir, 'ref', 'final'), `weights after ${STEPS} steps`, TOL);
  });
}

test('an interrupted --pp 2 --dp 2 run resumes exactly; its checkpoint resumes in one process and under plain --pp 2', { skip, timeout: 240_000 }, () => {
  const full = path.join(dir, '1f1b-pp2-dp2');
  if (!fs.existsSync(path.join(full, 'final'))) runPpWorker(4, { recipe: recipe(STEPS), out: full, pp: 2, dp: 2, method: '1f1b', chunks: 4, dump: full });
  const part = path.join(dir, 'resume-ppdp');
  runPpWorker(4, { recipe: recipe(STEPS), out: part, pp: 2, dp: 2, method: '1f1b', chunks: 4, dump: part, stopAfter: 2 });
  const ckpt = fs.readFileSync(path.join(part, 'checkpoints', 'latest'), 'utf8').trim();
  assert.equal(ckpt, 'step-000002');
  assert.deepEqual(fs.readdirSync(path.join(part, 'checkpoints', ckpt)).filter((f) => f.endsWith('.safetensors')).sort(),
    ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'optimizer-00001-of-00002.safetensors', 'optimizer-00002-of-00002.safetensors'], 'one weight and one optimizer shard per stage rank, not per replica');
  fs.cpSync(part, path.join(dir, 'resume-one'), { recursive: true });
  fs.cpSync(part, path.join(dir, 'resume-pp'), { recursive: true });
  runPpWorker(4, { recipe: recipe(STEPS), out: part, pp: 2, dp: 2, method: '1f1b', chunks: 4, dump: part, resume: true });
  for (const f of fs.readdirSync(path.join(full, 'final')).filter((f) => f.endsWith('.safetensors'))) {
    assert.deepEqual(fs.readFileSync(path.join(part, 'final', f)), fs.readFileSync(path.join(full, 'final', f)), `${f}: bit-identical to the uninterrupted run`);
  }
  const m = fs.readFileSync(path.join(part, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { step?: number }).filter((x) => typeof x.step === 'number');
  assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4], 'steps 1–2 before the stop, 3–4 after, none twice');
  // the PP×DP checkpoint resumes in the single-process trainer and in a plain 2-rank pipeline
  runPpWorker(0, { recipe: recipe(STEPS), out: path.join(dir, 'resume-one'), pp: 1, dump: path.join(dir, 'resume-one'), resume: true });
  assertWeightsClose(path.join(dir, 'resume-one', 'final'), path.join(dir, 'ref', 'final'), 'PP×DP checkpoint resumed in one process', TOL);
  runPpWorker(2, { recipe: recipe(STEPS), out: path.join(dir, 'resume-pp'), pp: 2, method: '1f1b', chunks: 4, dump: path.join(dir, 'resume-pp'), resume: true });
  assertWeightsClose(path.join(dir, 'resume-pp', 'final'), path.join(dir, 'ref', 'final'), 'PP×DP checkpoint resumed under --pp 2', TOL);
});

test('--pp × --dp not matching mpirun -np ends every rank with one clear message', { skip, timeout: 120_000 }, () => {
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(recipe(2)));
  const cases: [string, number, string[], RegExp][] = [
    ['PP × DP ≠ world size', 3, ['--pp', '2', '--dp', '2'], /--pp 2 --dp 2 --schedule 1f1b needs 2 × 2 = 4 processes \(2 processes per pipeline, times 2 data-parallel replicas\); mpirun started 3/],
  ];
  for (const [what, n, flags, msg] of cases) {
    const r = spawnSync('mpirun', ['--oversubscribe', '-np', String(n), process.execPath, cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, `bad-${n}`), ...flags], { env, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0, `${what}: must fail`);
    assert.equal(r.stderr.split('\n').filter((l) => msg.test(l)).length, n, `${what}: one message per rank:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
  const alone = spawnSync(process.execPath, [cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, 'bad-alone'), '--pp', '4', '--dp', '2', '--schedule', 'dualpipev'], { env, encoding: 'utf8' });
  assert.equal(alone.status, 2);
  assert.match(alone.stderr, /--pp 4 --dp 2 --schedule dualpipev runs on 4 processes: start it as `mpirun -np 4/);
});
