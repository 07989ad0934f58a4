// Tensor: a strided view of a reference-counted buffer, with an autograd node.
//
// Views (reshape of a contiguous tensor, transpose/permute, slice, expand, squeeze/unsqueeze)
// share storage and cost no copy. Kernels work on contiguous data; ops call `.contiguous()`,
// which is free for tensors that already are.
import { TensorError, fmtShape } from './errors.js';
import { allocF32, floatArray, Storage, wrapArray } from './storage.js';
import type { DType, TypedArr } from './storage.js';
import { isGradEnabled, noGrad, setTensorCheck, track } from './scope.js';
import { Rng } from './random.js';
import type { GradNode } from './autograd.js';
import { runBackward } from './autograd.js';
import * as E from '../ops/elementwise.js';
import * as R from '../ops/reduce.js';
import * as M from '../ops/matmul.js';
import * as S from '../ops/softmax.js';
import * as SH from '../ops/shape.js';

export type Shape = readonly number[];

/** Number of elements of a shape. */
export function numelOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major strides of a shape. */
export function contiguousStrides(shape: Shape): number[] {
  const st = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    st[i] = s;
    s *= shape[i];
  }
  return st;
}

function checkShape(op: string, shape: Shape): void {
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) throw new TensorError(op, `expected a shape of non-negative integers, found ${fmtShape(shape)}`);
  }
}

/** A float32 (or int32 index) tensor. */
export class Tensor {
  readonly shape: number[];
  readonly strides: number[];
  readonly offset: number;
  storage: Storage;
  requiresGrad = false;
  /** Accumulated gradient (leaves only). */
  grad: Tensor | null = null;
  /** The autograd node that produced this tensor (null for leaves and no-grad results). */
  node: GradNode | null = null;
  /** Parameter name (e.g. `model.layers.0.self_attn.kv_a_proj_with_mqa.weight`). */
  name = '';
  disposed = false;
  private gradHooks: ((t: Tensor) => void)[] | null = null;

  constructor(storage: Storage, shape: Shape, strides?: Shape, offset = 0, trackInScope = true) {
    this.storage = storage;
    this.shape = [...shape];
    this.strides = strides ? [...strides] : contiguousStrides(shape);
    this.offset = offset;
    if (trackInScope) track(this);
  }

  // ---------------------------------------------------------------- factories

  /** A tensor from a typed array (no copy) or a plain number array (copied). */
  static from(data: TypedArr | number[], shape?: Shape, dtype: DType = 'f32'): Tensor {
    const arr: TypedArr = Array.isArray(data) ? (dtype === 'i32' ? Int32Array.from(data) : floatFrom(data)) : data;
    const sh = shape ?? [arr.length];
    checkShape('Tensor.from', sh);
    if (numelOf(sh) !== arr.length) throw new TensorError('Tensor.from', `data has ${arr.length} elements but shape ${fmtShape(sh)} needs ${numelOf(sh)}`);
    return new Tensor(wrapArray(arr), sh);
  }

  /** An int32 index tensor. */
  static ints(data: Int32Array | number[], shape?: Shape): Tensor {
    return Tensor.from(Array.isArray(data) ? Int32Array.from(data) : data, shape, 'i32');
  }

  /** A tensor of zeros. */
  static zeros(shape: Shape, opts: { track?: boolean } = {}): Tensor {
    checkShape('zeros', shape);
    return new Tensor(allocF32(numelOf(shape), true), shape, undefined, 0, opts.track ?? true);
  }

  /** An uninitialized float32 tensor (contents undefined; every element must be written). */
  static empty(shape: Shape): Tensor {
    checkShape('empty', shape);
    return new Tensor(allocF32(numelOf(shape)), shape);
  }

  /** A tensor filled with one value. */
  static full(shape: Shape, value: number): Tensor {
    const t = Tensor.empty(shape);
    t.f32().fill(value);
    return t;
  }

  /** A tensor of ones. */
  static ones(shape: Shape): Tensor {
    return Tensor.full(shape, 1);
  }

  /** A scalar tensor. */
  static scalar(v: number): Tensor {
    return Tensor.full([], v);
  }

  /** Normal(mean, std) samples from a seeded generator. */
  static randn(shape: Shape, rng: Rng, std = 1, mean = 0): Tensor {
    const t = Tensor.empty(shape);
    const d = t.f32();
    for (let i = 0; i < d.length; i++) d[i] = mean + std * rng.normal();
    return t;
  }

  /** Uniform[lo, hi) samples from a seeded generator. */
  static rand(shape: Shape, rng: Rng, lo = 0, hi = 1): Tensor {
    const t = Tensor.empty(shape);
    const d = t.f32();
    for (let i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.uniform();
    return t;
  }

  /** 0, 1, ..., n−1 as float32. */
  static arange(n: number): Tensor {
    const t = Tensor.empty([n]);
    const d = t.f32();
    for (let i = 0; i < n; i++) d[i] = i;
    return t;
  }

  // ---------------------------------------------------------------- properties

  get dtype(): DType {
    return this.storage.data instanceof Int32Array ? 'i32' : 'f32';
  }
  get ndim(): number {
    return this.shape.length;
  }
  get numel(): number {
    return numelOf(this.shape);
  }

  /** Size of dimension d (negative d counts from the end). */
  size(d: number): number {
    return this.shape[this.dim(d)];
  }

  /** Normalizes a possibly negative dimension index. */
  dim(d: number): number {
    const n = this.shape.length;
    const r = d < 0 ? d + n : d;
    if (r < 0 || r >= n) throw new TensorError('dim', `dimension ${d} out of range for a tensor of shape ${fmtShape(this.shape)}`);
    return r;
  }

  /** Whether elements are laid out row-major without gaps (offset may be non-zero). */
  isContiguous(): boolean {
    let s = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.strides[i] !== s) return false;
      s *= this.shape[i];
    }
    return true;
  }

  private alive(op: string): void {
    if (this.disposed) throw new TensorError(op, `tensor ${this.name || fmtShape(this.shape)} was used after it was disposed (returned from tidy? call keep())`);
  }

  /** The float32 elements of a contiguous tensor (a view into its storage, not a copy). */
  f32(): Float32Array {
    // A tensor that is its whole float32 buffer (weights, fresh outputs) returns the buffer itself: no
    // view object per call (a decode step reads ~100 weights).
    const d = this.storage.data;
    if (this.offset === 0 && !this.disposed && d instanceof Float32Array && d.length === this.numel && this.isContiguous()) return d;
    this.alive('f32');
    if (this.storage.data instanceof Int32Array) throw new TensorError('f32', `expected a float32 tensor, found int32 of shape ${fmtShape(this.shape)}`);
    if (!this.isContiguous()) throw new TensorError('f32', `expected a contiguous tensor, found shape ${fmtShape(this.shape)} strides ${fmtShape(this.strides)}; call .contiguous() first`);
    if (this.storage.data.length < this.offset + this.numel) {
      // a Linear weight kept 16-bit (Linear.keep16) holds no float32 data: only its own forward reads it
      throw new TensorError('f32', `tensor ${this.name || fmtShape(this.shape)} holds no float32 data (its weights are resident 16-bit: the model was loaded with weights 'bf16'/'f16', which is inference-only); load it with weights 'f32' (--weights f32) to read, train, save or export them`);
    }
    return (this.storage.data as Float32Array).subarray(this.offset, this.offset + this.numel);
  }

  /** The int32 elements of a contiguous index tensor. */
  i32(): Int32Array {
    this.alive('i32');
    if (!(this.storage.data instanceof Int32Array)) throw new TensorError('i32', `expected an int32 index tensor, found float32 of shape ${fmtShape(this.shape)}`);
    if (!this.isContiguous()) throw new TensorError('i32', `expected a contiguous tensor, found strides ${fmtShape(this.strides)}`);
    return this.storage.data.subarray(this.offset, this.offset + this.numel);
  }

  /** The single value of a one-element tensor. */
  item(): number {
    if (this.numel !== 1) throw new TensorError('item', `expected a tensor with one element, found shape ${fmtShape(this.shape)}`);
    this.alive('item');
    return this.storage.data[this.offset];
  }

  /** A copy of the elements as a plain array (row-major). */
  toArray(): number[] {
    return Array.from(this.contiguous().storageView());
  }

  /** A fresh Float32Array copy of the elements. */
  toFloat32Array(): Float32Array {
    return Float32Array.from(this.contiguous().f32());
  }

  private storageView(): TypedArr {
    return this.dtype === 'i32' ? this.i32() : this.f32();
  }

  /** Releases this tensor's reference to its buffer. Using it afterwards throws. */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
    this.node = null;
  }

  /** A view of the same storage with another shape/strides (shares the buffer). */
  makeView(shape: Shape, strides?: Shape, offset = this.offset): Tensor {
    this.alive('view');
    this.storage.retain();
    return new Tensor(this.storage, shape, strides, offset);
  }

  // ---------------------------------------------------------------- autograd

  /** Marks this tensor as a leaf that accumulates gradients. */
  requiresGrad_(on = true): this {
    this.requiresGrad = on;
    return this;
  }

  /** A tensor sharing storage but cut from the graph. */
  detach(): Tensor {
    return this.makeView(this.shape, this.strides, this.offset);
  }

  /** Backpropagates from this tensor (a scalar, or with an explicit output gradient). */
  backward(grad?: Tensor): void {
    runBackward(this, grad);
  }

  /**
   * Calls fn(this) each time a backward pass has finished accumulating into this leaf's `.grad`
   * (PyTorch's register_post_accumulate_grad_hook): within one backward a leaf receives its summed
   * gradient once, so the grad is final for that pass when fn runs (data parallelism posts a bucket's
   * all-reduce from here). Returns a function that removes the hook.
   */
  registerPostAccumulateGradHook(fn: (t: Tensor) => void): () => void {
    (this.gradHooks ??= []).push(fn);
    return () => {
      const i = this.gradHooks?.indexOf(fn) ?? -1;
      if (i >= 0) this.gradHooks!.splice(i, 1);
    };
  }

  /** Runs the post-accumulate-grad hooks (called by the autograd engine after accumulating into `.grad`). */
  runGradHooks(): void {
    if (this.gradHooks) for (const fn of [...this.gradHooks]) fn(this);
  }

  /** Clears the accumulated gradient. */
  zeroGrad(): void {
    if (this.grad) this.grad.f32().fill(0);
  }

  /** Attaches a node when grad recording is on and an input requires grad; returns this. */
  withNode(inputs: Tensor[], node: () => GradNode): Tensor {
    if (isGradEnabled() && inputs.some((t) => t.requiresGrad)) {
      this.requiresGrad = true;
      this.node = node();
    }
    return this;
  }

  // ---------------------------------------------------------------- views

  /** Same elements, new shape (one dim may be −1). A view when contiguous, else a copy. */
  reshape(...shapeArg: number[] | [Shape]): Tensor {
    return SH.reshape(this, (Array.isArray(shapeArg[0]) ? shapeArg[0] : shapeArg) as number[]);
  }
  /** Alias of reshape. */
  view(...shapeArg: number[] | [Shape]): Tensor {
    return SH.reshape(this, (Array.isArray(shapeArg[0]) ? shapeArg[0] : shapeArg) as number[]);
  }
  /** Swaps two dimensions (a view). */
  transpose(d0: number, d1: number): Tensor {
    return SH.transpose(this, d0, d1);
  }
  /** Reorders dimensions (a view). */
  permute(...dims: number[]): Tensor {
    return SH.permute(this, dims);
  }
  /** Elements [start, end) along dim (a view). */
  slice(dim: number, start: number, end: number): Tensor {
    return SH.slice(this, dim, start, end);
  }
  /** Broadcasts size-1 dims to a larger shape (a view with zero strides). */
  expand(shape: Shape): Tensor {
    return SH.expand(this, shape);
  }
  /** Inserts a size-1 dim. */
  unsqueeze(d: number): Tensor {
    return SH.unsqueeze(this, d);
  }
  /** Removes a size-1 dim. */
  squeeze(d: number): Tensor {
    return SH.squeeze(this, d);
  }
  /** Row-major copy, or this tensor itself when already contiguous. */
  contiguous(): Tensor {
    return SH.contiguous(this);
  }
  /** Splits into chunks of the given sizes along dim (views). */
  split(sizes: number[], dim: number): Tensor[] {
    return SH.split(this, sizes, dim);
  }

  // ---------------------------------------------------------------- math (chainable)

  add(o: Tensor | number): Tensor { return typeof o === 'number' ? E.addScalar(this, o) : E.add(this, o); }
  sub(o: Tensor | number): Tensor { return typeof o === 'number' ? E.addScalar(this, -o) : E.sub(this, o); }
  mul(o: Tensor | number): Tensor { return typeof o === 'number' ? E.mulScalar(this, o) : E.mul(this, o); }
  div(o: Tensor | number): Tensor { return typeof o === 'number' ? E.mulScalar(this, 1 / o) : E.div(this, o); }
  pow(o: Tensor | number): Tensor { return typeof o === 'number' ? E.powScalar(this, o) : E.pow(this, o); }
  neg(): Tensor { return E.neg(this); }
  exp(): Tensor { return E.exp(this); }
  log(): Tensor { return E.log(this); }
  sqrt(): Tensor { return E.sqrt(this); }
  rsqrt(): Tensor { return E.rsqrt(this); }
  square(): Tensor { return E.square(this); }
  abs(): Tensor { return E.abs(this); }
  sigmoid(): Tensor { return E.sigmoid(this); }
  silu(): Tensor { return E.silu(this); }
  gelu(): Tensor { return E.gelu(this); }
  relu(): Tensor { return E.relu(this); }
  tanh(): Tensor { return E.tanh(this); }
  clamp(lo: number, hi: number): Tensor { return E.clamp(this, lo, hi); }
  matmul(o: Tensor): Tensor { return M.matmul(this, o); }
  sum(dims?: number | number[], keepdim = false): Tensor { return R.sum(this, dims, keepdim); }
  mean(dims?: number | number[], keepdim = false): Tensor { return R.mean(this, dims, keepdim); }
  max(dim: number, keepdim = false): Tensor { return R.max(this, dim, keepdim); }
  softmax(dim = -1): Tensor { return S.softmax(this, dim); }
  logSoftmax(dim = -1): Tensor { return S.logSoftmax(this, dim); }

  /** In-place copy of another tensor's values (no grad). */
  copy_(src: Tensor): this {
    if (numelOf(src.shape) !== this.numel) throw new TensorError('copy_', `expected ${fmtShape(this.shape)} elements, found ${fmtShape(src.shape)}`);
    noGrad(() => {
      const s = src.contiguous();
      this.f32().set(s.f32());
      if (s !== src) s.dispose();
    });
    return this;
  }

  /** A deep copy (new storage, no graph). */
  clone(): Tensor {
    const out = Tensor.empty(this.shape);
    const s = this.contiguous();
    if (this.dtype === 'i32') return Tensor.ints(Int32Array.from(s.i32()), this.shape);
    out.f32().set(s.f32());
    if (s !== this) s.dispose();
    return out;
  }

  /** Short description for errors and debugging. */
  toString(): string {
    return `Tensor(${fmtShape(this.shape)}${this.name ? ` ${this.name}` : ''})`;
  }
}

function floatFrom(data: number[]): Float32Array {
  const a = floatArray(data.length);
  for (let i = 0; i < data.length; i++) a[i] = data[i];
  return a;
}

setTensorCheck((v: unknown): v is Tensor => v instanceof Tensor);
