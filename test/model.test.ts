// The DeepSeek-V3 model on the `nano` preset: MLA forms, cache, gate, MoE dispatch, MTP, gradients.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, Rng, tidy, noGrad, setFloat64Mode } from '../src/tensor/index.js';
import { referenceBackend, setBackend, backend } from '../src/backend/index.js';
import { getPreset } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/config.js';
import { DeepseekV3 } from '../src/model/model.js';
import { selectExperts } from '../src/model/gate.js';
import { MoE } from '../src/model/moe.js';
import { MLP } from '../src/model/mlp.js';
import * as O from '../src/ops/index.js';

function nano(over: Partial<ModelConfig> = {}): ModelConfig {
  return { ...getPreset('nano'), ...over };
}

function randomIds(rng: Rng, B: number, T: number, V: number): Tensor {
  return Tensor.ints(Array.from({ length: B * T }, () => rng.int(V)), [B, T]);
}

function maxDiff(a: Float32Array | number[], b: Float32Array | number[]): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

/** Randomizes the gate bias so that selection differs from unbiased top-k. */
function randomizeBias(model: DeepseekV3, rng: Rng): void {
  for (const m of model.moeLayers()) { const b = m.gate.bias!.f32(); for (let i = 0; i < b.length; i++) b[i] = (rng.uniform() - 0.5) * 0.2; }
}

test('nano preset is well under 1M parameters and names tensors as Hugging Face does', () => {
  const model = new DeepseekV3(nano(), 1);
  assert.ok(model.numParameters() < 1_000_000, `${model.numParameters()} params`);
  const names = model.namedTensors().map(([n]) => n);
  for (const n of [
    'model.embed_tokens.weight', 'model.layers.0.self_attn.q_a_proj.weight', 'model.layers.0.self_attn.q_a_layernorm.weight',
    'model.layers.0.self_attn.q_b_proj.weight', 'model.layers.0.self_attn.kv_a_proj_with_mqa.weight',
    'model.layers.0.self_attn.kv_a_layernorm.weight', 'model.layers.0.self_attn.kv_b_proj.weight', 'model.layers.0.self_attn.o_proj.weight',
    'model.layers.0.mlp.gate_proj.weight', 'model.layers.1.mlp.gate.weight', 'model.layers.1.mlp.gate.e_score_correction_bias',
    'model.layers.1.mlp.experts.7.down_proj.weight', 'model.layers.1.mlp.shared_experts.up_proj.weight',
    'model.layers.2.enorm.weight', 'model.layers.2.hnorm.weight', 'model.layers.2.eh_proj.weight', 'model.layers.2.shared_head.norm.weight',
    'model.layers.2.self_attn.kv_b_proj.weight', 'model.layers.2.mlp.experts.0.gate_proj.weight', 'model.norm.weight', 'lm_head.weight',
  ]) assert.ok(names.includes(n), `missing ${n}`);
  assert.equal(new Set(names).size, names.length, 'duplicate names');
  const eh = model.namedTensors().find(([n]) => n === 'model.layers.2.eh_proj.weight')![1];
  assert.deepEqual(eh.shape, [64, 128]);
});

test('MLA naive and absorbed forms agree (with and without q_lora_rank)', () => {
  for (const cfg of [nano(), nano({ qLoraRank: null })]) {
    const model = new DeepseekV3(cfg, 2);
    randomizeBias(model, new Rng(9));
    const ids = randomIds(new Rng(3), 2, 12, cfg.vocabSize);
    noGrad(() => tidy(() => {
      const a = model.forward(ids, { impl: 'naive' }).logits.toFloat32Array();
      const b = model.forward(ids, { impl: 'absorb' }).logits.toFloat32Array();
      assert.ok(maxDiff(a, b) < 1e-4, `naive vs absorb differ by ${maxDiff(a, b)}`);
    }));
  }
});

test('absorbed cache holds exactly (kv_lora_rank + qk_rope_head_dim) × layers values per token', () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 1);
  const cache = model.newCache(3, 20);
  assert.equal(cache.valuesPerToken(), (cfg.kvLoraRank + cfg.qkRopeHeadDim) * cfg.numHiddenLayers);
  assert.equal(cache.data[0].length, 3 * 20 * (cfg.kvLoraRank + cfg.qkRopeHeadDim));
});

test('cached generation gives the same logits as a full forward (both MLA forms, ragged batch)', () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 4);
  randomizeBias(model, new Rng(1));
  const rng = new Rng(5);
  const T = 10;
  const ids = randomIds(rng, 2, T, cfg.vocabSize);
  const all = ids.i32();
  noGrad(() => tidy(() => {
    const full = model.forward(ids).logits.toFloat32Array(); // [2, T, V]
    const V = cfg.vocabSize;
    for (const impl of ['absorb', 'naive'] as const) {
      const cache = model.newCache(2, 16);
      // Row 0 prefills 4 tokens, row 1 prefills 6 (separately), then both decode one token at a time together.
      const p0 = 4, p1 = 6;
      const pre0 = model.forward(Tensor.ints(all.slice(0, p0), [1, p0]), { impl, cache: { cache, slots: Int32Array.from([0]) } }).logits.toFloat32Array();
      const pre1 = model.forward(Tensor.ints(all.slice(T, T + p1), [1, p1]), { impl, cache: { cache, slots: Int32Array.from([1]) } }).logits.toFloat32Array();
      assert.ok(maxDiff(pre0, full.slice(0, p0 * V)) < 1e-4, `${impl}: prefill row 0`);
      assert.ok(maxDiff(pre1, full.slice(T * V, (T + p1) * V)) < 1e-4, `${impl}: prefill row 1`);
      for (let s = 0; s < 4; s++) {
        const t0 = p0 + s, t1 = p1 + s;
        const step = Tensor.ints([all[t0], all[T + t1]], [2, 1]);
        const lg = model.forward(step, { impl, cache: { cache, slots: Int32Array.from([0, 1]) } }).logits.toFloat32Array();
        assert.ok(maxDiff(lg.slice(0, V), full.slice(t0 * V, (t0 + 1) * V)) < 1e-4, `${impl}: decode row 0 step ${s}`);
        assert.ok(maxDiff(lg.slice(V), full.slice((T + t1) * V, (T + t1 + 1) * V)) < 1e-4, `${impl}: decode row 1 step ${s}`);
      }
      assert.deepEqual(Array.from(cache.lengths), [p0 + 4, p1 + 4]);
    }
  }));
});

test('gate selection: hand-computed cases with and without bias and groups', () => {
  // 1 token, 8 experts in 4 groups of 2, top-2 experts from the top-2 groups.
  const s = Float32Array.from([0.9, 0.1, 0.5, 0.45, 0.2, 0.85, 0.3, 0.3]);
  // No groups, no bias: plain top-2 = experts 0 (0.9), 5 (0.85).
  assert.deepEqual(Array.from(selectExperts(s, null, 1, 8, 2, 1, 1, 'top2sum')), [0, 5]);
  // Groups (V3, top-2 sum): sums 1.0, 0.95, 1.05, 0.6 → groups 2 and 0 → experts 0, 5.
  assert.deepEqual(Array.from(selectExperts(s, null, 1, 8, 2, 4, 2, 'top2sum')), [0, 5]);
  // Groups with max (V2): maxima 0.9, 0.5, 0.85, 0.3 → groups 0, 2 → experts 0, 5.
  // Keep only 1 group: V3 picks group 2 (sum 1.05) → experts 5, 4; V2 picks group 0 (max 0.9) → 0, 1.
  assert.deepEqual(Array.from(selectExperts(s, null, 1, 8, 2, 4, 1, 'top2sum')), [5, 4]);
  assert.deepEqual(Array.from(selectExperts(s, null, 1, 8, 2, 4, 1, 'max')), [0, 1]);
  // A bias changes the selection: +0.5 on expert 3 → group sums 1.0, 1.45, 1.05, 0.6 keep groups 1 and 2,
  // so expert 0 (the best unbiased score) is dropped with its group: experts 3 (0.95 biased) and 5.
  const bias = Float32Array.from([0, 0, 0, 0.5, 0, 0, 0, 0]);
  assert.deepEqual(Array.from(selectExperts(s, bias, 1, 8, 2, 4, 2, 'top2sum')), [3, 5]);
});

test('gate weights use unbiased scores, normalized, times routed_scaling_factor', () => {
  const cfg = nano({ routedScalingFactor: 2.5 });
  const model = new DeepseekV3(cfg, 3);
  const moe = model.moeLayers()[0];
  const b = moe.gate.bias!.f32();
  b[0] = 10; // force expert 0 into every selection
  noGrad(() => tidy(() => {
    const x = Tensor.randn([5, cfg.hiddenSize], new Rng(2));
    const r = moe.gate.forward(x);
    const idx = r.indices.i32(), w = r.weights.toFloat32Array(), s = r.scores.toFloat32Array();
    for (let n = 0; n < 5; n++) {
      assert.ok([idx[n * 2], idx[n * 2 + 1]].includes(0), 'biased expert selected');
      const a = s[n * 8 + idx[n * 2]], c = s[n * 8 + idx[n * 2 + 1]];
      assert.ok(Math.abs(w[n * 2] - (2.5 * a) / (a + c)) < 1e-5, 'weights from unbiased scores');
      assert.ok(Math.abs(w[n * 2] + w[n * 2 + 1] - 2.5) < 1e-5);
    }
  }));
});

for (const grouped of [true, false]) test(`MoE dispatch (${grouped ? 'grouped GEMMs' : 'expert by expert'}) equals a dense per-token reference`, () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 6);
  randomizeBias(model, new Rng(4));
  const moe = model.moeLayers()[0];
  const prev = MoE.groupedMinRowsPerExpert;
  MoE.groupedMinRowsPerExpert = grouped ? 0 : Infinity;
  try { noGrad(() => tidy(() => {
    const x = Tensor.randn([2, 5, cfg.hiddenSize], new Rng(8));
    const y = moe.forward(x).toFloat32Array();
    const flat = x.reshape(10, cfg.hiddenSize);
    const { indices, weights } = moe.gate.forward(flat);
    const idx = indices.i32(), w = weights.toFloat32Array();
    const D = cfg.hiddenSize;
    const ref = new Float32Array(10 * D);
    const shared = moe.sharedExperts!.forward(flat).toFloat32Array();
    for (let e = 0; e < cfg.nRoutedExperts; e++) {
      const all = moe.experts[e].forward(flat).toFloat32Array(); // every token through every expert
      for (let n = 0; n < 10; n++) for (let j = 0; j < 2; j++) {
        if (idx[n * 2 + j] !== e) continue;
        for (let d = 0; d < D; d++) ref[n * D + d] += w[n * 2 + j] * all[n * D + d];
      }
    }
    for (let i = 0; i < ref.length; i++) ref[i] += shared[i];
    assert.ok(maxDiff(y, ref) < 1e-5, `dispatch differs by ${maxDiff(y, ref)}`);
  })); } finally { MoE.groupedMinRowsPerExpert = prev; }
});

test('auxiliary-loss-free bias update moves overloaded experts down and underloaded up', () => {
  const model = new DeepseekV3(nano(), 1);
  const moe = model.moeLayers()[0];
  moe.updateBias([10, 0, 5, 5, 5, 5, 5, 5], 0.001);
  const b = Array.from(moe.gate.bias!.f32());
  assert.ok(Math.abs(b[0] + 0.001) < 1e-9 && Math.abs(b[1] - 0.001) < 1e-9 && b[2] === 0);
});

test('sequence-wise balance loss equals α Σ f_i P_i by hand', () => {
  const cfg = nano({ auxLossAlpha: 0.01 });
  const model = new DeepseekV3(cfg, 2);
  const moe = model.moeLayers()[0];
  noGrad(() => tidy(() => {
    const x = Tensor.randn([1, 4, cfg.hiddenSize], new Rng(3));
    const { indices, scores } = moe.gate.forward(x.reshape(4, cfg.hiddenSize));
    const idx = indices.i32(), s = scores.toFloat32Array();
    const E = 8, K = 2, T = 4;
    let L = 0;
    for (let i = 0; i < E; i++) {
      let cnt = 0, P = 0;
      for (let t = 0; t < T; t++) {
        if (idx[t * K] === i || idx[t * K + 1] === i) cnt++;
        let z = 0;
        for (let j = 0; j < E; j++) z += s[t * E + j];
        P += s[t * E + i] / z / T;
      }
      L += ((E / (K * T)) * cnt) * P;
    }
    const got = moe.balanceLoss(scores, idx, 1, T).item();
    assert.ok(Math.abs(got - 0.01 * L) < 1e-7, `${got} vs ${0.01 * L}`);
  }));
});

test('MTP loss: depth-1 module predicts t_{i+2} from h_i and Emb(t_{i+1}); mtpDraft agrees', () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 7);
  const ids = randomIds(new Rng(2), 2, 9, cfg.vocabSize); // T = 8 inputs
  noGrad(() => tidy(() => {
    const withMtp = model.loss(ids, { mtpWeight: 0.3 });
    const without = model.loss(ids, { mtpWeight: 0 });
    assert.ok(Math.abs(withMtp.loss.item() - (without.loss.item() + 0.3 * withMtp.mtp)) < 1e-4);
    // Recompute the MTP CE by hand through mtpDraft over the whole sequence.
    const all = ids.i32();
    const inp = Tensor.ints(Array.from({ length: 16 }, (_, i) => all[Math.floor(i / 8) * 9 + (i % 8)]), [2, 8]);
    const { hidden } = model.forward(inp);
    const next = Int32Array.from({ length: 14 }, (_, i) => all[Math.floor(i / 7) * 9 + (i % 7) + 1]);
    const draft = model.mtpDraft(O.slice(hidden, 1, 0, 7), next);
    const tg = Tensor.ints(Array.from({ length: 14 }, (_, i) => all[Math.floor(i / 7) * 9 + (i % 7) + 2]), [2, 7]);
    const ce = O.crossEntropy(draft.logits, tg).item();
    assert.ok(Math.abs(ce - withMtp.mtp) < 1e-4, `${ce} vs ${withMtp.mtp}`);
  }));
});

test('whole nano model: finite-difference gradient check on a sample of parameters (float64)', () => {
  const prev = backend();
  setBackend(referenceBackend());
  setFloat64Mode(true);
  try {
    const cfg = nano({ auxLossAlpha: 0.01 });
    const model = new DeepseekV3(cfg, 11);
    randomizeBias(model, new Rng(2));
    const ids = randomIds(new Rng(1), 1, 7, cfg.vocabSize);
    const lossOf = () => model.loss(ids, { mtpWeight: 0.3 }).loss;
    tidy(() => { lossOf().backward(); });
    const rng = new Rng(99);
    const params = model.namedParameters();
    let checked = 0;
    for (const [name, p] of params) {
      if (!/q_b_proj|kv_a_proj|kv_b_proj|o_proj|experts\.\d+\.down|shared_experts|gate\.weight|eh_proj|embed_tokens|lm_head|enorm|kv_a_layernorm/.test(name)) continue;
      if (!p.grad) continue; // e.g. an expert no token was routed to
      const d = p.f32(), g = p.grad.f32();
      for (let s = 0; s < 2; s++) {
        const j = rng.int(d.length);
        const orig = d[j], h = 1e-6;
        d[j] = orig + h;
        const lp = noGrad(() => tidy(() => lossOf().item()));
        d[j] = orig - h;
        const lm = noGrad(() => tidy(() => lossOf().item()));
        d[j] = orig;
        const num = (lp - lm) / (2 * h);
        assert.ok(Math.abs(num - g[j]) < 1e-6 + 1e-4 * Math.abs(num), `${name}[${j}]: analytic ${g[j]} numeric ${num}`);
        checked++;
      }
    }
    assert.ok(checked > 20, `checked ${checked}`);
  } finally {
    setFloat64Mode(false);
    setBackend(prev);
  }
});

test('SwiGLU MLP: the stacked gate/up GEMM + fused gating equals silu(gate x) ⊙ up x', () => {
  const mlp = new MLP(24, 40, new Rng(5), 0.2);
  const x = Tensor.randn([3, 11, 24], new Rng(6));
  const prev = MLP.stackedMinRows;
  try {
    MLP.stackedMinRows = 0;
    const fused = noGrad(() => mlp.forward(x).toFloat32Array());
    MLP.stackedMinRows = Infinity;
    const plain = noGrad(() => mlp.forward(x).toFloat32Array());
    assert.ok(maxDiff(fused, plain) < 1e-5, `differ by ${maxDiff(fused, plain)}`);
  } finally {
    MLP.stackedMinRows = prev;
  }
});

test('document mask: a packed row gives each document the logits it has alone', () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 9);
  const bos = cfg.bosTokenId;
  const docA = [bos, 17, 23, 5, 99], docB = [bos, 42, 7, 311, 8, 64];
  noGrad(() => tidy(() => {
    const packed = model.forward(Tensor.ints([...docA, ...docB], [1, docA.length + docB.length]), { documentMask: true }).logits.toFloat32Array();
    const alone = model.forward(Tensor.ints(docB, [1, docB.length])).logits.toFloat32Array();
    const V = cfg.vocabSize;
    const tail = packed.subarray(docA.length * V);
    assert.ok(maxDiff(tail, alone) < 1e-4, `second document differs by ${maxDiff(tail, alone)}`);
    const unmasked = model.forward(Tensor.ints([...docA, ...docB], [1, docA.length + docB.length])).logits.toFloat32Array();
    assert.ok(maxDiff(unmasked.subarray(docA.length * V), alone) > 1e-3, 'without the mask the second document sees the first');
  }));
});

test('document mask: the loss of packed rows equals the token-weighted losses of each document computed alone', () => {
  const cfg = nano();
  const model = new DeepseekV3(cfg, 9);
  model.eval(); // no sequence-wise balance loss (it is per row, so it would differ)
  const bos = cfg.bosTokenId;
  const docA = [bos, 17, 23, 5, 99], docB = [bos, 42, 7, 311, 8, 64];
  noGrad(() => tidy(() => {
    const lossOf = (rows: number[][], documentMask: boolean) => model.loss(Tensor.ints(rows.flat(), [rows.length, rows[0].length]), { documentMask, mtpWeight: 0 });
    // Two packed rows, the documents in either order; each row's last target follows its second document.
    const packed = lossOf([[...docA, ...docB, 3], [...docB, ...docA, 4]], true);
    // Alone, a document predicts its own tokens and then the next row token (the next document's BOS, or the tail).
    const alone = [[...docA, bos], [...docB, 3], [...docB, bos], [...docA, 4]].map((ids) => lossOf([ids], false));
    const tokens = alone.reduce((s, r) => s + r.tokens, 0);
    const want = alone.reduce((s, r) => s + r.ce * r.tokens, 0) / tokens;
    assert.equal(packed.tokens, tokens);
    assert.ok(Math.abs(packed.ce - want) < 2e-5, `packed CE ${packed.ce} vs per-document ${want}`);
    assert.ok(Math.abs(packed.loss.item() - want) < 2e-5, `packed loss ${packed.loss.item()} vs per-document ${want}`);
    const unmasked = lossOf([[...docA, ...docB, 3], [...docB, ...docA, 4]], false);
    assert.ok(Math.abs(unmasked.ce - want) > 1e-3, `without the mask the second documents see the first: ${unmasked.ce} vs ${want}`);
  }));
});
