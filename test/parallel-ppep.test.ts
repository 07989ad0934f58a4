// Pipeline × expert parallelism over real Open MPI (`mpirun --oversubscribe -np 4` on this 2-core
// machine), as DeepSeek-V3 trains: within each stage the 8 routed experts of every MoE layer are
// spread over 2 EP ranks (4 each), tokens dispatched and combined by MPI_Alltoallv on the stage's EP
// sub-communicator, and each EP rank trains on its own rows (non-expert gradients summed over the EP
// replicas). --pp 2 --ep 2 under 1F1B (two 2-rank pipelines) and --pp 4 --ep 2 under DualPipeV (two
// 2-rank pipelines of 4 stages, bidirectional): one step's loss, global gradient norm and every
// rank's gradients (its own experts' and the replicated tensors') equal the single-process step on the
// same global batch (relative ≤ 1e-5), the per-expert token counts are equal exactly at every step, the
// weights and AdamW moments after 3 steps (clipping, MTP and the bias update on) agree, and the
// checkpoint is a plain --pp run's files (every expert and its moments, gathered per stage) that loads
// in one process. The same for --pp 2 --dp 2 --ep 2 on 8 ranks (experts' gradients summed over their
// DP replicas).
// An interrupted PP × EP run resumes bit-exactly (each EP rank reads its experts and their moments
// back from the gathered checkpoint). E not dividing the routed experts and PP × EP ≠ -np end every
// rank with one message.
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
const STEPS = 3;
const EXPERTS = 8, EP = 2;

const skip = mpiSkip;

const env = mpiEnv;

let dir = '';
function recipe(steps: number) {
  return {
    kind: 'pretrain', name: 'ppep-test', seed: 7,
    // nano: 8 routed experts (top-2 of 4 groups), 1 shared; layers 1–3 and the MTP layer are MoE
    model: { preset: 'nano', overrides: { num_hidden_layers: 4 } },
    tokenizer: { path: path.join(dir, 'tok') },
    data: { file: path.join(dir, 'corpus.jsonl') },
    // 16 rows: 2 EP replicas × 8 micro-batches of 1 row under DualPipeV PP 4; clip 0.5 is below the
    // step-1 gradient norm, so clipping with the global norm is exercised; lr 5e-4 as parallel-ppdp.
    train: { steps, batchSize: 16, seqLen: 16, clip: 0.5, lr: { peak: 0.0005, warmup: 2 }, mtpWeight: 0.3, biasUpdateSpeed: 0.001 },
    eval: { every: 0, final: false },
    checkpoint: { every: 0 },
  };
}





/** The float32 tensors of safetensors files (the AdamW moments a checkpoint writes). */
function readF32(files: string[]): Map<string, Float32Array> {
  const out = new Map<string, Float32Array>();
  for (const file of files) {
    const b = fs.readFileSync(file);
    const n = Number(b.readBigUInt64LE(0));
    const header = JSON.parse(b.subarray(8, 8 + n).toString('utf8')) as Record<string, { dtype: string; data_offsets: [number, number] }>;
    for (const [name, h] of Object.entries(header)) {
      if (name === '__metadata__') continue;
      assert.equal(h.dtype, 'F32', `${file}: ${name}`);
      const [a, z] = h.data_offsets;
      out.set(name, new Float32Array(b.buffer.slice(b.byteOffset + 8 + n + a, b.byteOffset + 8 + n + z)));
    }
  }
  return out;
}

before(() => {
  if (skip) return;
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-ppep-'));
  writeCorpus(path.join(dir, 'corpus.jsonl'), loadRecipe('default'), { seed: 7, tokens: 20000 });
  Tokenizer.train(readCorpus(path.join(dir, 'corpus.jsonl')).map((d) => d.text), { vocabSize: 400 }).save(path.join(dir, 'tok'));
  runPpWorker(0, { recipe: recipe(STEPS), out: path.join(dir, 'ref'), pp: 1, dump: path.join(dir, 'ref') });
});

const cases: [string, number, number, number][] = [
  // [schedule, stages, chunks per replica, DP]: 2 ranks per pipeline × 2 EP ranks (× DP) = 4 (8) ranks
  ['1f1b', 2, 4, 1],
  ['dualpipev', 4, 8, 1],
  // PP × DP × EP: expert gradients summed over the 2 DP replicas holding the same experts
  ['1f1b', 2, 4, 2],
];

for (const [method, pp, chunks, DP] of cases) {
  const n = 2 * EP * DP;
  test(`${method} --pp ${pp}${DP > 1 ? ` --dp ${DP}` : ''} --ep ${EP} on ${n} ranks: step-1 loss, gradient norm and every rank's gradients, exact expert counts, ${STEPS}-step weights and the gathered checkpoint equal the single process`, { skip, timeout: 180_000 }, () => {
    const out = path.join(dir, `${method}-pp${pp}-dp${DP}-ep${EP}`);
    runPpWorker(n, { recipe: recipe(STEPS), out, pp, dp: DP, ep: EP, method, chunks, dump: out });
    const ref = readDump(path.join(dir, 'ref'));
    const refGrads = gradMap(path.join(dir, 'ref'), 0);
    const got = readDump(out);
    assert.deepEqual([got.steps[0].pp?.dp, got.steps[0].pp?.ep, got.steps[0].pp?.ranks], [DP, EP, 2], `${DP * EP} replicas of a 2-rank pipeline`);
    const l0 = ref.steps[0].loss, l1 = got.steps[0].loss;
    assert.ok(Math.abs(l1 - l0) <= TOL * Math.abs(l0), `step-1 loss ${l1} vs single process ${l0}`);
    assert.ok(Math.abs(got.steps[0].grad_norm - ref.steps[0].grad_norm) <= TOL * ref.steps[0].grad_norm, `global grad norm ${got.steps[0].grad_norm} vs ${ref.steps[0].grad_norm}`);
    assert.ok(ref.steps[0].grad_norm > 0.5, 'clipping is exercised');
    // every rank holds the global gradient of its stages' tensors, and of its own experts only
    const seen = new Set<string>();
    for (let k = 0; k < n; k++) {
      const e = Math.floor(k / 2) % EP; // world rank = (d·EP + e)·2 + pipeline rank
      let experts = 0;
      for (const [n, g] of gradMap(out, k)) {
        const want = refGrads.get(n);
        assert.ok(want, `rank ${k} holds ${n}, which the model does not have`);
        const x = /\.experts\.(\d+)\./.exec(n);
        if (x) {
          experts++;
          const j = Number(x[1]);
          assert.ok(j >= e * (EXPERTS / EP) && j < (e + 1) * (EXPERTS / EP), `rank ${k} (EP rank ${e}) holds expert ${j}: not one of its ${EXPERTS / EP}`);
        }
        let d = 0, m = 0;
        for (let i = 0; i < g.length; i++) { d = Math.max(d, Math.abs(g[i] - want[i])); m = Math.max(m, Math.abs(want[i])); }
        assert.ok(d <= TOL * m || d === 0, `rank ${k}: gradient of ${n} differs by ${d} (max |g| ${m}, relative ${d / m})`);
        seen.add(n);
      }
      assert.ok(experts > 0, `rank ${k} holds routed experts`);
    }
    assert.deepEqual([...seen].sort(), [...refGrads.keys()].sort(), 'the ranks together hold every parameter');
    for (let i = 0; i < STEPS; i++) {
      assert.ok(Math.abs(got.steps[i].loss - ref.steps[i].loss) <= TOL * ref.steps[i].loss, `loss of step ${i + 1}: ${got.steps[i].loss} vs ${ref.steps[i].loss}`);
      assert.deepEqual(got.steps[i].counts, ref.steps[i].counts, `global expert counts of step ${i + 1}`);
    }
    // a plain --pp run's files: one weight and one optimizer shard per pipeline rank, every expert in them
    const ckpt = path.join(out, 'checkpoints', fs.readFileSync(path.join(out, 'checkpoints', 'latest'), 'utf8').trim());
    assert.deepEqual(fs.readdirSync(ckpt).filter((f) => f.endsWith('.safetensors')).sort(),
      ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors', 'optimizer-00001-of-00002.safetensors', 'optimizer-00002-of-00002.safetensors']);
    const moments = readF32(['optimizer-00001-of-00002.safetensors', 'optimizer-00002-of-00002.safetensors'].map((f) => path.join(ckpt, f)));
    const refCkpt = path.join(dir, 'ref', 'checkpoints', fs.readFileSync(path.join(dir, 'ref', 'checkpoints', 'latest'), 'utf8').trim());
    const refMoments = readF32([path.join(refCkpt, 'optimizer.safetensors')]);
    assert.deepEqual([...moments.keys()].sort(), [...refMoments.keys()].sort(), 'the AdamW moments of every parameter, experts gathered');
    for (const [name, want] of refMoments) {
      const have = moments.get(name)!;
      let d = 0, m = 0;
      for (let i = 0; i < want.length; i++) { d += (have[i] - want[i]) ** 2; m += want[i] ** 2; }
      assert.ok(Math.sqrt(d) <= TOL * Math.sqrt(m) || d === 0, `${name} after ${STEPS} steps differs (relative ${Math.sqrt(d / m)})`);
    }
    assert.deepEqual(fs.readdirSync(path.join(out, 'final')).filter((f) => f.endsWith('.safetensors')).sort(), ['model-00001-of-00002.safetensors', 'model-00002-of-00002.safetensors']);
    assertWeightsClose(path.join(out, 'final'), path.join(dir, 'ref', 'final'), `weights after ${STEPS} steps`, TOL);
  });
}

test('an interrupted --pp 2 --ep 2 run resumes bit-exactly from its gathered checkpoint', { skip, timeout: 180_000 }, () => {
  const full = path.join(dir, `1f1b-pp2-dp1-ep${EP}`);
  if (!fs.existsSync(path.join(full, 'final'))) runPpWorker(4, { recipe: recipe(STEPS), out: full, pp: 2, ep: EP, method: '1f1b', chunks: 4, dump: full });
  const part = path.join(dir, 'resume-ppep');
  runPpWorker(4, { recipe: recipe(STEPS), out: part, pp: 2, ep: EP, method: '1f1b', chunks: 4, dump: part, stopAfter: 2 });
  assert.equal(fs.readFileSync(path.join(part, 'checkpoints', 'latest'), 'utf8').trim(), 'step-000002');
  runPpWorker(4, { recipe: recipe(STEPS), out: part, pp: 2, ep: EP, method: '1f1b', chunks: 4, dump: part, resume: true });
  for (const f of fs.readdirSync(path.join(full, 'final')).filter((f) => f.endsWith('.safetensors'))) {
    assert.deepEqual(fs.readFileSync(path.join(part, 'final', f)), fs.readFileSync(path.join(full, 'final', f)), `${f}: bit-identical to the uninterrupted run`);
  }
});

test('--ep not dividing the routed experts, and --pp × --ep not matching mpirun -np, end every rank with one clear message', { skip, timeout: 120_000 }, () => {
  fs.writeFileSync(path.join(dir, 'r.json'), JSON.stringify(recipe(2)));
  const cases: [string, number, string[], RegExp][] = [
    ['EP not dividing the experts', 6, ['--pp', '2', '--ep', '3'], /--ep 3 does not divide the model's 8 routed experts \(n_routed_experts\)/],
    ['PP × EP ≠ world size', 2, ['--pp', '2', '--ep', '2'], /--pp 2 --ep 2 --schedule 1f1b needs 2 × 2 = 4 processes \(2 processes per pipeline, times 2 expert-parallel replicas\); mpirun started 2/],
  ];
  for (const [what, n, flags, msg] of cases) {
    const r = spawnSync('mpirun', ['--oversubscribe', '-np', String(n), process.execPath, cli, 'pretrain', '--config', path.join(dir, 'r.json'), '--out', path.join(dir, `bad-${n}`), ...flags], { env, encoding: 'utf8', timeout: 60_000 });
    assert.notEqual(r.status, 0, `${what}: must fail`);
    assert.equal(r.stderr.split('\n').filter((l) => msg.test(l)).length, n, `${what}: one message per rank:\n${r.stderr}`);
    assert.doesNotMatch(r.stderr, /\n\s+at /, `${what}: no stack trace`);
  }
});
