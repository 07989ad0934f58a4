// Data parallelism's loss normalization without MPI: a batch split into shards, each shard's loss
// normalized by the whole batch's counts (`loss({ denominators })`), gives shares whose sum is the
// whole batch's loss and whose gradients sum to its gradients — also with SFT-style token weights,
// where the shards hold different numbers of counted tokens (so averaging shard means would be wrong).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DeepseekV3 } from '../src/model/model.js';
import type { LossDenominators } from '../src/model/model.js';
import { getPreset } from '../src/model/presets.js';
import { Tensor, tidy, Rng } from '../src/tensor/index.js';

function grads(model: DeepseekV3): Map<string, Float32Array> {
  return new Map(model.namedParameters().map(([n, p]) => [n, p.grad ? Float32Array.from(p.grad.f32()) : new Float32Array(p.numel)]));
}

for (const weighted of [false, true]) {
  test(`shard losses normalized by the global counts add up to the batch's loss and gradients${weighted ? ' (weighted targets, unequal shards)' : ''}`, () => {
    const model = new DeepseekV3(getPreset('nano'), 5);
    model.train();
    const B = 4, T = 12, V = model.cfg.vocabSize;
    const rng = new Rng(9);
    const ids = Int32Array.from({ length: B * (T + 1) }, () => Math.floor(rng.uniform() * V));
    // shard 0 (rows 0–1) has few counted targets, shard 1 many
    const w = Float32Array.from({ length: B * T }, (_, i) => (!weighted ? 1 : i < 2 * T ? (i % T > 9 ? 1 : 0) : i % T > 2 ? 1 : 0));
    const opts = (rows: [number, number]) => ({
      ids: Tensor.ints(ids.slice(rows[0] * (T + 1), rows[1] * (T + 1)), [rows[1] - rows[0], T + 1]),
      o: { mtpWeight: 0.3, weights: Tensor.from(w.slice(rows[0] * T, rows[1] * T), [rows[1] - rows[0], T]) },
    });
    const whole = opts([0, B]);
    let full = 0;
    model.zeroGrad();
    tidy(() => {
      const r = model.loss(whole.ids, whole.o);
      r.loss.backward();
      full = r.loss.item();
    });
    const g = grads(model);
    model.zeroGrad();
    model.takeExpertLoad();
    const shards = [opts([0, 2]), opts([2, B])];
    const local = shards.map((s) => model.lossDenominators(s.ids, s.o));
    const global: LossDenominators = {
      ce: local[0].ce + local[1].ce, sequences: local[0].sequences + local[1].sequences,
      mtp: local[0].mtp.map((n, k) => n + local[1].mtp[k]),
    };
    assert.deepEqual(global, model.lossDenominators(whole.ids, whole.o), 'the counts add up');
    if (weighted) assert.notEqual(local[0].ce, local[1].ce, 'the shards hold different numbers of counted targets');
    let sum = 0;
    for (const s of shards) tidy(() => {
      const r = model.loss(s.ids, { ...s.o, denominators: global });
      r.loss.backward();
      sum += r.loss.item();
    });
    assert.ok(Math.abs(sum - full) <= 1e-5 * Math.abs(full), `shares sum to ${sum}, the whole batch's loss is ${full}`);
    for (const [n, a] of grads(model)) {
      const b = g.get(n)!;
      let d = 0, m = 0;
      for (let i = 0; i < a.length; i++) { d = Math.max(d, Math.abs(a[i] - b[i])); m = Math.max(m, Math.abs(b[i])); }
      assert.ok(d <= 1e-5 * m || d === 0, `${n}: summed shard gradients differ by ${d} (max ${m})`);
    }
  });
}
