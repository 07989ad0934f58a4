// The array paths of a cached generation step (no gradients: mla-decode.ts, MoE.forwardFew with
// Gate.route, MLP's side-by-side gate/up into the fused SwiGLU) must give the tensor paths' values bit
// for bit: the same forwards run once under noGrad (array paths) and once recording gradients (tensor
// paths), over prefills of different lengths, batch-1 and batched steps whose rows hold different
// numbers of cached tokens (padding and masks), two-token steps (speculative decoding) and a step of 34
// rows (where MLP stacks gate_proj and up_proj), on nano and
// on variants without q-LoRA, with an intermediate size that is not a multiple of 8 (the fused SwiGLU
// is then skipped), softmax/greedy routing over 3 experts with a scaling factor.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Tensor, noGrad, tidy } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import { DeepseekV3 } from '../src/model/model.js';
import type { ModelConfig } from '../src/model/config.js';
import type { KVCache } from '../src/model/cache.js';

/** Logits of every step and the final cache of a fixed schedule of cached forwards. */
function schedule(model: DeepseekV3, arrays: boolean): { logits: Float32Array[]; cache: Float32Array[] } {
  const V = model.cfg.vocabSize;
  const cache: KVCache = model.newCache(3, 64);
  const logits: Float32Array[] = [];
  let next = 7;
  const ids = (n: number) => Int32Array.from({ length: n }, () => (next = (next * 37 + 11) % V));
  const step = (slots: number[], T: number) => {
    const run = () => tidy(() => {
      const out = model.forward(Tensor.ints(ids(slots.length * T), [slots.length, T]), { cache: { cache, slots: Int32Array.from(slots) } });
      return { l: out.logits.contiguous().toFloat32Array() };
    });
    logits.push((arrays ? noGrad(run) : run()).l);
  };
  step([0], 5); // prefills of different lengths
  step([1], 3);
  step([2], 7);
  for (let i = 0; i < 3; i++) step([0, 1, 2], 1); // batched decode, rows at different lengths
  step([1], 1); // batch-1 decode
  step([2, 0], 2); // two tokens per row (speculative verification)
  step([0], 1);
  step([0, 1], 17); // 34 rows: the MLPs' products side by side where the tensor path stacks the weights
  return { logits, cache: cache.data.map((d) => Float32Array.from(d)) };
}

function variant(name: string, patch: Partial<ModelConfig>): [string, ModelConfig] {
  return [name, { ...getPreset('nano'), ...patch }];
}

describe('cached generation: array paths equal the tensor paths bit for bit', () => {
  for (const [name, cfg] of [
    variant('nano', {}),
    variant('nano without q-LoRA', { qLoraRank: null }),
    variant('nano, inter 36 and 100 (no fused SwiGLU)', { moeIntermediateSize: 36, intermediateSize: 100 }),
    variant('nano, softmax/greedy routing, k = 3, scale 2.5', { scoringFunc: 'softmax', topkMethod: 'greedy', numExpertsPerTok: 3, routedScalingFactor: 2.5, normTopkProb: false }),
    variant('nano, normalized top-3 with scale 2.5', { numExpertsPerTok: 3, routedScalingFactor: 2.5 }),
  ]) {
    it(name, () => {
      const model = new DeepseekV3(cfg, 3).eval();
      const fast = schedule(model, true);
      const slow = schedule(model, false);
      assert.equal(fast.logits.length, slow.logits.length);
      fast.logits.forEach((l, i) => assert.deepEqual(l, slow.logits[i], `${name}: logits of step ${i}`));
      fast.cache.forEach((c, l) => assert.deepEqual(c, slow.cache[l], `${name}: cache of layer ${l}`));
    });
  }
});
