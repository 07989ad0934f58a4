// ZeRO stage 1 (Rajbhandari et al. 2020, §5): the AdamW moments are sharded over the data-parallel
// ranks. All parameters, laid end to end in registration order, form one index space of Ψ elements;
// rank r owns [⌊rΨ/N⌋, ⌊(r+1)Ψ/N⌋). After the gradient all-reduce every rank updates only its own
// elements (same fused AdamW kernel as the unsharded optimizer, on sub-arrays), then each parameter
// is all-gathered in place (MPI_Allgatherv over the parameter's own buffer: no extra copy). Optimizer
// memory per rank: 8Ψ/N bytes instead of 8Ψ (fp32 m and v; tinyseek has no separate master copy).
import type { Tensor } from '../tensor/index.js';
import { Tensor as T } from '../tensor/tensor.js';
import { backend } from '../backend/index.js';
import type { AdamWOptions, OptimizerState } from '../nn/optim.js';
import type { Communicator } from './mpi.js';

interface Segment {
  p: Tensor;
  name: string;
  /** Owned range [lo, hi) within the parameter. */
  lo: number;
  hi: number;
  m: Float32Array;
  v: Float32Array;
  decay: boolean;
}

/** AdamW with its moments sharded over a communicator's ranks (ZeRO-1); same update as AdamW. */
export class ShardedAdamW {
  lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
  stepCount = 0;
  private readonly segments: Segment[] = [];
  /** Per parameter: every rank's owned count and offset within it (for the all-gather). */
  private readonly layout: { p: Tensor; name: string; counts: Int32Array; displs: Int32Array }[] = [];
  /** Elements this rank owns. */
  readonly shardSize: number;
  /** Elements of all parameters together (Ψ). */
  readonly totalSize: number;

  constructor(readonly comm: Communicator, readonly params: [string, Tensor][], opts: AdamWOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.beta1 = opts.beta1 ?? 0.9;
    this.beta2 = opts.beta2 ?? 0.95;
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0.1;
    const noDecay = opts.noDecay ?? ((_n: string, t: Tensor) => t.ndim < 2);
    const N = comm.size;
    const total = params.reduce((a, [, p]) => a + p.numel, 0);
    const bound = (r: number) => Math.floor((r * total) / N);
    let off = 0;
    for (const [name, p] of params) {
      const counts = new Int32Array(N), displs = new Int32Array(N);
      for (let r = 0; r < N; r++) {
        const lo = Math.min(Math.max(bound(r) - off, 0), p.numel), hi = Math.min(Math.max(bound(r + 1) - off, 0), p.numel);
        counts[r] = hi - lo;
        displs[r] = lo;
      }
      this.layout.push({ p, name, counts, displs });
      const n = counts[comm.rank];
      if (n > 0) {
        const lo = displs[comm.rank];
        this.segments.push({ p, name, lo, hi: lo + n, m: new Float32Array(n), v: new Float32Array(n), decay: !noDecay(name, p) });
      }
      off += p.numel;
    }
    this.totalSize = total;
    this.shardSize = bound(comm.rank + 1) - bound(comm.rank);
  }

  /** Bytes of optimizer state on this rank, and what unsharded AdamW would hold. */
  memory(): { shardedBytes: number; unshardedBytes: number } {
    return { shardedBytes: 8 * this.shardSize, unshardedBytes: 8 * this.totalSize };
  }

  /** Updates this rank's elements of every parameter, then all-gathers each parameter from its owners. */
  step(): void {
    this.stepCount++;
    const k = backend();
    for (const s of this.segments) {
      if (!s.p.grad) s.p.grad = T.zeros(s.p.shape, { track: false });
      const n = s.hi - s.lo;
      k.adamw(n, s.p.f32().subarray(s.lo, s.hi), s.p.grad.f32().subarray(s.lo, s.hi), s.m, s.v, this.lr, this.beta1, this.beta2, this.eps, s.decay ? this.weightDecay : 0, this.stepCount);
    }
    for (const l of this.layout) this.comm.allgatherv(l.p.f32(), l.counts, l.displs);
  }

  /** Clears all gradients. */
  zeroGrad(): void {
    for (const [, p] of this.params) p.zeroGrad();
  }

  /** The full moments (collective: every rank must call it), for layout-independent checkpoints. */
  stateDict(): OptimizerState {
    const m: Record<string, Float32Array> = {}, v: Record<string, Float32Array> = {};
    const mine = new Map(this.segments.map((s) => [s.p, s]));
    for (const l of this.layout) {
      const fm = new Float32Array(l.p.numel), fv = new Float32Array(l.p.numel);
      const s = mine.get(l.p);
      if (s) {
        fm.set(s.m, s.lo);
        fv.set(s.v, s.lo);
      }
      this.comm.allgatherv(fm, l.counts, l.displs);
      this.comm.allgatherv(fv, l.counts, l.displs);
      m[l.name] = fm;
      v[l.name] = fv;
    }
    return { step: this.stepCount, m, v };
  }

  /** Takes this rank's shard of full moments (as saved by stateDict or by unsharded AdamW). */
  loadStateDict(st: OptimizerState): void {
    for (const l of this.layout) { // every parameter, so that every rank reaches the same verdict
      const mm = st.m[l.name], vv = st.v[l.name];
      if (!mm || !vv || mm.length !== l.p.numel || vv.length !== l.p.numel) {
        throw new Error(`ShardedAdamW.loadStateDict: state for ${l.name} is missing or has the wrong size (expected ${l.p.numel})`);
      }
    }
    for (const s of this.segments) {
      const mm = st.m[s.name], vv = st.v[s.name];
      s.m.set(mm.subarray(s.lo, s.hi));
      s.v.set(vv.subarray(s.lo, s.hi));
    }
    this.stepCount = st.step;
  }
}
