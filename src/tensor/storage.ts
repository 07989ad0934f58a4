// Reference-counted buffers with a size-keyed free pool.
//
// A training step allocates the same sizes every time, so intermediate buffers released
// at the end of a step (see scope.ts) are reused by the next one instead of being left to
// the garbage collector: memory stays flat, and `liveBuffers()` makes that testable.

import os from 'node:os';

export type DType = 'f32' | 'i32';
export type TypedArr = Float32Array | Int32Array;

const pool = new Map<number, Float32Array[]>();

// Float64 mode exists for gradient checks only: with the reference backend every kernel then
// runs in double precision, so central finite differences are accurate to ~1e-10.
let float64Mode = false;

/** Switches float storage to Float64Array (tests with the reference backend only). */
export function setFloat64Mode(on: boolean): void {
  if (on !== float64Mode) emptyPool();
  float64Mode = on;
}

/** Whether float storage is Float64Array (gradient checks). */
export function isFloat64Mode(): boolean {
  return float64Mode;
}

/** A new float array of n zeros in the current precision (typed as Float32Array for the kernels). */
export function floatArray(n: number): Float32Array {
  return (float64Mode ? new Float64Array(n) : new Float32Array(n)) as unknown as Float32Array;
}
let live = 0;
let pooledBytes = 0;

/**
 * The most bytes of free buffers the pool keeps: TINYSEEK_POOL_MB if set, else a quarter of the
 * machine's memory, at least 1 GiB. A training step must find its whole working set in the pool or
 * it allocates afresh every step: the 6-layer, hidden-256 model of recipes/pretrain-small-prose.json
 * needs about 2.2 GB at batch 16 × 256, and under a fixed 1 GiB limit it allocated (and zero-filled
 * and left to the GC) about 1 GB per step.
 */
export function poolLimitBytes(env: NodeJS.ProcessEnv = process.env, totalMem = os.totalmem()): number {
  const mb = env.TINYSEEK_POOL_MB;
  if (mb !== undefined && mb !== '') {
    const v = Number(mb);
    if (!Number.isFinite(v) || v < 0) throw new Error(`TINYSEEK_POOL_MB must be a number of megabytes (0 or more); found "${mb}"`);
    return Math.floor(v * 2 ** 20);
  }
  return Math.max(2 ** 30, Math.floor(totalMem / 4));
}
let maxPooledBytes = -1; // read on first release, so a bad TINYSEEK_POOL_MB fails when tensors are used, not on import
let fresh = 0;

/** Sets the pool's limit in bytes (library users; the default is poolLimitBytes()). Frees what exceeds it. */
export function setPoolLimitBytes(bytes: number): void {
  if (!Number.isFinite(bytes) || bytes < 0) throw new Error(`the pool limit must be 0 or more bytes; found ${bytes}`);
  maxPooledBytes = Math.floor(bytes);
  if (pooledBytes > maxPooledBytes) emptyPool();
}

/** Float buffers allocated afresh (not reused from the pool) since the process started. */
export function freshAllocations(): number {
  return fresh;
}

/** Bytes of free buffers held by the pool now. */
export function pooledBufferBytes(): number {
  return pooledBytes;
}

/** A buffer shared by a tensor and its views; released to the pool when the last reference goes. */
export class Storage {
  refs = 1;
  released = false;
  constructor(readonly data: TypedArr, readonly pooled: boolean) {
    live++;
  }

  /** Adds a reference (a new view of this buffer). */
  retain(): void {
    this.refs++;
  }

  /** Drops the buffer for good whatever the references (not pooled: its memory goes back to the system). */
  discard(): void {
    if (this.released) return;
    this.released = true;
    this.refs = 0;
    live--;
  }

  /** Drops a reference; the buffer returns to the pool when none are left. */
  release(): void {
    if (this.released) return;
    if (--this.refs > 0) return;
    this.released = true;
    live--;
    if (this.pooled && !(this.data instanceof Int32Array)) {
      const n = this.data.length;
      if (maxPooledBytes < 0) maxPooledBytes = poolLimitBytes();
      if (pooledBytes + n * 4 <= maxPooledBytes) {
        let list = pool.get(n);
        if (!list) pool.set(n, (list = []));
        list.push(this.data as Float32Array);
        pooledBytes += n * 4;
      }
    }
  }
}

/**
 * The pool size class of a request for n elements: exact up to 4096, above that rounded up to 1/8 of
 * its power of two (≤ 12.5% waste), so that buffers whose sizes vary from step to step — MoE expert
 * groups, a growing KV window — are still reused instead of freshly allocated and page-faulted.
 */
export function sizeClass(n: number): number {
  if (n <= 4096) return n;
  const step = 2 ** (Math.floor(Math.log2(n)) - 3);
  return Math.ceil(n / step) * step;
}

/** A float32 storage of at least n elements, reused from the pool when possible (contents undefined unless zero). */
export function allocF32(n: number, zero = false): Storage {
  const size = sizeClass(n);
  const list = pool.get(size);
  const buf = list?.pop();
  if (buf) {
    pooledBytes -= size * 4;
    if (zero) buf.fill(0, 0, n);
    return new Storage(buf, true);
  }
  fresh++;
  return new Storage(floatArray(size), true);
}

/** Wraps an existing array without copying (never pooled: the caller may still hold it). */
export function wrapArray(data: TypedArr): Storage {
  return new Storage(data, false);
}

/** Number of storages alive (allocated and not yet released). */
export function liveBuffers(): number {
  return live;
}

/**
 * Empties the free pool (lets the GC reclaim it). Runs call it when they end: the next run (the next
 * stage of a pipeline, in the same process) has other shapes, and buffers sized for this one would
 * fill the pool's limit without being reused.
 */
export function emptyPool(): void {
  pool.clear();
  pooledBytes = 0;
}
