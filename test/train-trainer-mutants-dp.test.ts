// The trainer's data-parallel paths in-process, on an MPI singleton (rank 0 of 1), so that mutation
// testing sees them (the mpirun suites run them with 2–4 ranks, as child processes the runner does
// not see): the bucketed all-reduce, the step's global loss denominators, ZeRO-1's sharded moments
// and the metrics they add. With one rank every one of them must give exactly the single-process run:
// the same losses, the same final weights, the same resume.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseRunRecipe } from '../src/train/recipe.js';
import type { Recipe } from '../src/train/recipe.js';
import { train } from '../src/train/trainer.js';
import { readMetrics } from '../src/train/metrics.js';
import { loadModel } from '../src/model/checkpoint.js';
import { Mpi } from '../src/parallel/mpi.js';
import { mpiSkip } from './helpers/mpi.js';

function corpus(dir: string): string {
  const f = path.join(dir, 'corpus.jsonl');
  const docs = Array.from({ length: 60 }, (_, i) => ({ text: `${i} + ${i * 7 % 13} = ${i + (i * 7 % 13)}. The sum of ${i} and ${i * 3} is ${i * 4}.`, problems: [] }));
  fs.writeFileSync(f, docs.map((d) => JSON.stringify(d)).join('\n') + '\n');
  return f;
}

function recipe(dataFile: string, train: Record<string, unknown> = {}): Recipe {
  return parseRunRecipe({
    kind: 'pretrain', name: 'tiny-dp', seed: 4,
    model: { preset: 'nano', overrides: { num_hidden_layers: 2, first_k_dense_replace: 1, num_nextn_predict_layers: 1 } },
    tokenizer: { vocabSize: 300 },
    data: { file: dataFile },
    train: { steps: 4, batchSize: 4, seqLen: 16, lr: { peak: 0.01, warmup: 1, schedule: 'constant' }, ...train },
    eval: { every: 0, final: false },
    checkpoint: { every: 2 },
  });
}

const weights = (dir: string) => {
  const m = loadModel(dir);
  return new Map(m.namedParameters().map(([n, p]) => [n, Float32Array.from(p.storage.data as Float32Array)]));
};

test('one data-parallel rank (plain, bucketed, ZeRO-1) trains exactly as one process: losses, weights, resume; its metrics say so', { skip: mpiSkip, timeout: 300_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tinyseek-trainer-dp-'));
  try {
    const comm = Mpi.init().world;
    assert.equal(comm.size, 1);
    const data = corpus(dir);
    const r = recipe(data);
    const plain = path.join(dir, 'plain');
    await train({ recipe: r, out: plain, quiet: true });
    const ref = readMetrics(path.join(plain, 'metrics.jsonl'));
    const refW = weights(path.join(plain, 'final'));
    for (const [name, dp] of [['dp', { comm }], ['small-buckets', { comm, bucketBytes: 4096 }], ['zero1', { comm, zero1: true }], ['ep1', { comm, ep: 1 }]] as const) {
      const out = path.join(dir, name);
      await train({ recipe: r, out, quiet: true, dp });
      const m = readMetrics(path.join(out, 'metrics.jsonl'));
      assert.deepEqual(m.map((x) => x.step), ref.map((x) => x.step), name);
      m.forEach((x, i) => assert.ok(Math.abs((x.ce as number) - (ref[i]!.ce as number)) < 1e-6, `${name} step ${x.step}: ce ${x.ce} vs ${ref[i]!.ce}`));
      m.forEach((x, i) => assert.ok(Math.abs((x.grad_norm as number) - (ref[i]!.grad_norm as number)) < 1e-5 * Math.max(1, ref[i]!.grad_norm as number), `${name} step ${x.step}: grad_norm`));
      const dpRec = m[0]!.dp as Record<string, number> | undefined;
      assert.ok(dpRec && dpRec.ranks === 1 && dpRec.buckets >= 1, `${name}: dp metrics ${JSON.stringify(dpRec)}`);
      if (name === 'small-buckets') assert.ok(dpRec.buckets > 1, `${name}: ${dpRec.buckets} buckets`);
      const w = weights(path.join(out, 'final'));
      for (const [n, a] of refW) {
        const b = w.get(n)!;
        let d = 0;
        for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
        assert.ok(d < 1e-5, `${name}: ${n} differs by ${d}`);
      }
    }
    // an interrupted data-parallel run resumes to the same result
    const out = path.join(dir, 'resumed');
    await train({ recipe: r, out, quiet: true, dp: { comm, zero1: true }, stopAfter: 2 });
    assert.ok(!fs.existsSync(path.join(out, 'final')));
    await train({ recipe: r, out, quiet: true, dp: { comm, zero1: true }, resume: true });
    const m = readMetrics(path.join(out, 'metrics.jsonl'));
    assert.deepEqual(m.map((x) => x.step), [1, 2, 3, 4]);
    m.forEach((x, i) => assert.ok(Math.abs((x.ce as number) - (ref[i]!.ce as number)) < 1e-6, `resumed step ${x.step}`));
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
