// Reusable float arrays for the array paths of a generation step (mla-decode.ts, MLP/MoE without
// gradients): one grow-only buffer per name, and the last view of it reused when the size repeats,
// so a decode step allocates no typed array for its intermediates. A view is valid until the next
// `get` of the same name.
import { isGradEnabled, isFloat64Mode } from '../tensor/index.js';

/**
 * Whether the array paths apply: no gradients are recorded, and float storage is float32 (their
 * scratch is; the float64 mode of gradient checks takes the tensor paths).
 */
export function arrayPathsApply(): boolean {
  return !isGradEnabled() && !isFloat64Mode();
}

export class Scratch {
  private readonly bufs = new Map<string, { buf: Float32Array; view: Float32Array }>();

  /** A view of n floats (contents undefined) of the buffer `name`. */
  get(name: string, n: number): Float32Array {
    let e = this.bufs.get(name);
    if (e && e.view.length === n) return e.view;
    if (!e || e.buf.length < n) {
      const buf = new Float32Array(Math.max(n, Math.ceil((e?.buf.length ?? 0) * 1.5)));
      this.bufs.set(name, (e = { buf, view: buf }));
    }
    e.view = e.buf.subarray(0, n);
    return e.view;
  }
}
