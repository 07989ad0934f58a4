// Fits a model to a repeated token cycle (random windows, AdamW): the quick way benchmarks and
// interoperability tests get a model whose greedy output is non-trivial and predictable.
import { Tensor, Rng, tidy } from '../tensor/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { AdamW } from '../nn/optim.js';

/** Trains on `steps` batches of `batch` random windows of `seqLen + 1` tokens from the repeated cycle. */
export function fitTokenCycle(
  model: CausalLM, opt: AdamW, cycle: readonly number[],
  o: { steps: number; batch: number; seqLen: number; seed: number; lr?: (step: number) => number },
): void {
  const stream: number[] = [];
  while (stream.length < 4000) stream.push(...cycle);
  const rng = new Rng(o.seed);
  const T1 = o.seqLen + 1;
  for (let s = 0; s < o.steps; s++) {
    if (o.lr) opt.lr = o.lr(s);
    const ids = new Int32Array(o.batch * T1);
    for (let b = 0; b < o.batch; b++) {
      const off = Math.floor(rng.uniform() * (stream.length - T1));
      for (let t = 0; t < T1; t++) ids[b * T1 + t] = stream[off + t];
    }
    tidy(() => {
      opt.zeroGrad();
      model.loss(Tensor.ints(ids, [o.batch, T1])).loss.backward();
      opt.step();
    });
  }
}
