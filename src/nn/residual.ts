// Residual sub-layers and layer stacks that give their intermediates back early at inference.
//
// A generation forward runs inside one tidy scope, so without these every intermediate tensor of every
// layer stayed alive until the whole forward returned: a batch-64 prefill of the mini model held ~200 MB
// of buffers at once, none of which the buffer pool could hand to a later layer, so the first forward
// at a new batch size allocated (and page-faulted, zeroed and later garbage-collected) all of it.
// With gradients recorded the tape needs every intermediate, so these are then plain code.
import { Tensor, tidy, isGradEnabled } from '../tensor/index.js';
import { add } from '../ops/index.js';

/**
 * x + f(x). With `release` (default: gradients are not recorded) f runs in its own scope: the tensors
 * it creates go back to the buffer pool as soon as the sum is formed, for the next sub-layer to reuse.
 * A caller whose f leaves tensors behind for later (the MoE's balance loss in training mode) passes false.
 */
export function residual(x: Tensor, f: (x: Tensor) => Tensor, release = !isGradEnabled()): Tensor {
  return release ? tidy(() => add(x, f(x))) : add(x, f(x));
}

/**
 * h ← layer(h, l) for l in [from, to). Without gradients each intermediate h (not the caller's input)
 * is disposed once the next layer has consumed it, so consecutive layers reuse the same buffers.
 */
export function runStack(h: Tensor, from: number, to: number, layer: (h: Tensor, l: number) => Tensor): Tensor {
  const early = !isGradEnabled();
  const input = h;
  for (let l = from; l < to; l++) {
    const next = layer(h, l);
    if (early && h !== input && next !== h) h.dispose();
    h = next;
  }
  return h;
}
