// Data parallelism (PyTorch DDP's design, over MPI): every rank holds the whole model and trains on
// its shard of each global batch; gradients are summed across ranks in buckets while backward runs.
//
// - Sharding: rank r of N takes rows [r·B/N, (r+1)·B/N) of every global batch of B rows, so the
//   global batch and its order do not depend on N.
// - Loss: each rank's loss is its share of the global batch's loss (normalized by the global token
//   and sequence counts, `DeepseekV3.loss({ denominators })`), so the gradients are SUMMED, and the
//   result is exactly the gradient of the global batch's mean loss.
// - Buckets: parameters in reverse registration order (≈ the order backward finishes them), packed
//   into buckets of ≤ bucketBytes (the first ≤ min(firstBucketBytes, bucketBytes), as DDP's 1 MB/25 MB). Each
//   parameter's `.grad` is a view into its bucket's flat buffer, so the all-reduce reads and writes
//   the gradients in place. A post-accumulate-grad hook counts a bucket's finished gradients; a full
//   bucket's MPI_Iallreduce is posted at once (in bucket order on every rank, as MPI requires) and
//   progresses while backward continues. Parameters that received no gradient (unused) are posted
//   when `finish()` runs after backward.
// - Only the last micro-batch of a gradient-accumulation step reduces (DDP's no_sync for the others).
import type { Tensor } from '../tensor/index.js';
import { Tensor as T } from '../tensor/tensor.js';
import type { Communicator, Request } from './mpi.js';
import { waitAll } from './mpi.js';

/** Options of DataParallel. */
export interface DataParallelOptions {
  /** Bucket capacity in bytes (default 25 MiB, DDP's bucket_cap_mb). */
  bucketBytes?: number;
  /** Capacity of the first bucket (default 1 MiB, DDP's _DEFAULT_FIRST_BUCKET_BYTES). */
  firstBucketBytes?: number;
}

interface Bucket {
  /** Flat gradients of the bucket's parameters. */
  flat: Float32Array;
  params: Tensor[];
  ready: number;
  request: Request | null;
}

/** Communication statistics of one step. */
export interface ReduceStats {
  buckets: number;
  /** Buckets posted while backward was still running (the rest after it). */
  postedDuringBackward: number;
  /** Bytes each rank contributed to all-reduces. */
  bytes: number;
  /** Seconds spent waiting for the all-reduces after backward (communication not hidden). */
  waitS: number;
}

/** The data-parallel role of a trainer: batch sharding, bucketed gradient all-reduce, global counts. */
export class DataParallel {
  readonly rank: number;
  readonly size: number;
  private readonly buckets: Bucket[] = [];
  private readonly bucketOf = new Map<Tensor, number>();
  private armed = false;
  private next = 0;
  private postedDuring = 0;
  private readonly unhook: (() => void)[] = [];

  constructor(readonly comm: Communicator, readonly params: [string, Tensor][], opts: DataParallelOptions = {}) {
    this.rank = comm.rank;
    this.size = comm.size;
    const cap = opts.bucketBytes ?? 25 * 2 ** 20;
    let capNow = Math.min(opts.firstBucketBytes ?? 2 ** 20, cap);
    let cur: Tensor[] = [];
    let bytes = 0;
    const close = () => {
      if (!cur.length) return;
      this.addBucket(cur);
      cur = [];
      bytes = 0;
      capNow = cap;
    };
    for (let i = params.length - 1; i >= 0; i--) {
      const p = params[i][1];
      if (cur.length && bytes + p.numel * 4 > capNow) close();
      cur.push(p);
      bytes += p.numel * 4;
    }
    close();
  }

  private addBucket(params: Tensor[]): void {
    const n = params.reduce((a, p) => a + p.numel, 0);
    const flat = new Float32Array(n);
    const b = this.buckets.length;
    let off = 0;
    for (const p of params) {
      // the gradient lives in the bucket: backward accumulates into it, the all-reduce works on it in place
      const view = T.from(flat.subarray(off, off + p.numel), p.shape);
      if (p.grad) view.f32().set(p.grad.f32());
      p.grad = view;
      off += p.numel;
      this.bucketOf.set(p, b);
      this.unhook.push(p.registerPostAccumulateGradHook((t) => this.onGradReady(t)));
    }
    this.buckets.push({ flat, params, ready: 0, request: null });
  }

  /** Number of buckets and their sizes in elements. */
  bucketSizes(): number[] {
    return this.buckets.map((b) => b.flat.length);
  }

  /** Rows [start, start + count) of a global batch of `globalRows` that this rank trains on. */
  shard(globalRows: number): { start: number; count: number } {
    if (globalRows % this.size !== 0) throw new Error(`a global batch of ${globalRows} rows cannot be split evenly over ${this.size} data-parallel ranks`);
    const count = globalRows / this.size;
    return { start: this.rank * count, count };
  }

  /** Sums per-rank numbers over the ranks (one small all-reduce). */
  sum(values: number[]): number[] {
    return Array.from(this.comm.allreduce(Float64Array.from(values), 'sum'));
  }

  /** Largest value of per-rank numbers over the ranks. */
  max(values: number[]): number[] {
    return Array.from(this.comm.allreduce(Float64Array.from(values), 'max'));
  }

  /** Rank 0's values of the parameters (and buffers) on every rank, as DDP does at start. */
  broadcast(tensors: Tensor[]): void {
    for (const t of tensors) this.comm.bcast(t.f32(), 0);
  }

  /** Arms the reduction for the next backward (the last micro-batch of a step); earlier micro-batches only accumulate. */
  beginBackward(): void {
    this.armed = true;
    this.next = 0;
    this.postedDuring = 0;
    for (const b of this.buckets) {
      b.ready = 0;
      b.request = null;
    }
  }

  private onGradReady(p: Tensor): void {
    if (!this.armed) return;
    const b = this.buckets[this.bucketOf.get(p)!];
    b.ready++;
    this.postReady(false);
    // give MPI's non-blocking collectives a chance to progress while backward continues
    for (let i = 0; i < this.next; i++) this.buckets[i].request?.test();
  }

  /** Posts, in bucket order, every bucket whose gradients are all final (all remaining ones when `all`). */
  private postReady(all: boolean): void {
    while (this.next < this.buckets.length) {
      const b = this.buckets[this.next];
      if (!all && b.ready < b.params.length) break;
      b.request = this.comm.iallreduce(b.flat, 'sum');
      if (!all) this.postedDuring++;
      this.next++;
    }
  }

  /** After the last backward of a step: posts what is left and waits; the gradients are then the global sums. */
  finish(): ReduceStats {
    if (!this.armed) throw new Error('DataParallel.finish() without beginBackward()');
    const during = this.postedDuring;
    this.postReady(true);
    const t0 = performance.now();
    waitAll(this.buckets.map((b) => b.request!).filter((r) => r));
    const waitS = (performance.now() - t0) / 1000;
    this.armed = false;
    return { buckets: this.buckets.length, postedDuringBackward: during, bytes: this.buckets.reduce((a, b) => a + b.flat.length * 4, 0), waitS };
  }

  /** Removes the hooks (the gradients stay in the bucket buffers). */
  detach(): void {
    for (const u of this.unhook) u();
    this.unhook.length = 0;
  }
}
