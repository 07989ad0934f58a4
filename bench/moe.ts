// `tinyseek bench moe`: one DeepSeekMoE layer (8 routed experts, top-2, + 1 shared expert) against a
// dense SwiGLU layer of the same activated width (3 experts' worth), forward + backward, in one run.
// ratio = MoE time / dense time: cost follows the activated parameters when the ratio is near 1.
import { Tensor, Rng, tidy } from '../src/tensor/index.js';
import { getPreset } from '../src/model/presets.js';
import type { ModelConfig } from '../src/model/config.js';
import { MoE } from '../src/model/moe.js';
import { MLP } from '../src/model/mlp.js';
import { report, timeIt } from './_util.js';
import type { BenchOptions } from '../src/cli/commands/bench.js';

export const description = 'MoE layer (8 experts top-2 + 1 shared) vs dense SwiGLU of equal activated width, fwd+bwd';

/** Runs the benchmark. */
export async function run(opts: BenchOptions): Promise<void> {
  const D = 256, inter = 256, B = 8, T = 256;
  const cfg: ModelConfig = {
    ...getPreset('nano'), hiddenSize: D, moeIntermediateSize: inter, nRoutedExperts: 8, numExpertsPerTok: 2, nSharedExperts: 1,
    nGroup: 1, topkGroup: 1, topkMethod: 'noaux_tc', auxLossAlpha: 0.0001,
  };
  const rng = new Rng(0);
  const moe = new MoE(cfg, rng, 0.02);
  const activated = (cfg.numExpertsPerTok + cfg.nSharedExperts) * inter;
  const dense = new MLP(D, activated, rng, 0.02);
  const x = Tensor.randn([B, T, D], rng).requiresGrad_();
  const gout = Tensor.randn([B, T, D], rng);
  const step = (f: (h: Tensor) => Tensor) => () => tidy(() => { f(x).backward(gout); });
  // Interleaved rounds, best median of each side: two-thread timings drift by ±20% within a run.
  let m = Infinity, denseMs = Infinity;
  for (let round = 0; round < 3; round++) {
    m = Math.min(m, timeIt(step((h) => moe.forward(h)), opts.seconds / 3));
    denseMs = Math.min(denseMs, timeIt(step((h) => dense.forward(h)), opts.seconds / 3));
  }
  report([{
    bench: 'moe', tokens: B * T, d: D, experts: `8 routed top-2 + 1 shared, ${inter} wide`, dense_width: activated,
    total_params_moe: moe.numParameters(), total_params_dense: dense.numParameters(),
    moe_ms: m, dense_ms: denseMs, ratio: m / denseMs,
  }], opts.json, 'MoE vs dense SwiGLU of equal activated width, forward + backward (ratio = MoE / dense; ≤ 1.5 expected)');
}
