// The kernel interface: every numeric loop tinyseek runs goes through one of these
// functions. Two implementations exist: `reference` (pure TypeScript, the oracle) and
// `native` (N-API addon in C; OpenBLAS for GEMM, threads for the rest).
//
// Conventions
// - All arrays are dense, row-major Float32Array / Int32Array *views* (they may be
//   subarrays of a larger buffer); kernels never allocate their outputs.
// - "rows × cols" kernels work on the last dimension; callers make inputs contiguous.
// - Kernels that accumulate say so (`+=`); all others overwrite their outputs.
// - Index arrays are Int32Array.

/** Elementwise binary operations. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'pow' | 'max' | 'min';
export const BINARY_OPS: Record<BinaryOp, number> = { add: 0, sub: 1, mul: 2, div: 3, pow: 4, max: 5, min: 6 };

/** Elementwise unary operations; `param` is used by pow-scalar (exponent), clamp is separate. */
export type UnaryOp =
  | 'neg' | 'exp' | 'log' | 'sqrt' | 'rsqrt' | 'sigmoid' | 'silu' | 'gelu' | 'relu' | 'tanh' | 'abs' | 'square'
  | 'powScalar' | 'mulScalar' | 'addScalar';
export const UNARY_OPS: Record<UnaryOp, number> = {
  neg: 0, exp: 1, log: 2, sqrt: 3, rsqrt: 4, sigmoid: 5, silu: 6, gelu: 7, relu: 8, tanh: 9, abs: 10, square: 11,
  powScalar: 12, mulScalar: 13, addScalar: 14,
};

/** Reduction operations over the middle axis of [outer, n, inner]. */
export type ReduceOp = 'sum' | 'max';

/** The native gemm16 kernels, lowest first: widening in float32 (scalar, avx2, avx512), then the opt-in avx512bf16. */
export const GEMM16_PATHS = ['scalar', 'avx2', 'avx512', 'avx512bf16'] as const;
export type Gemm16Path = (typeof GEMM16_PATHS)[number];

/**
 * The backend contract. Shapes are given in comments as [dims]; `ld*` are leading dimensions
 * (row strides) in elements, as in BLAS.
 */
export interface Kernels {
  readonly name: 'native' | 'reference';

  /**
   * Batched GEMM: for b in [0, batch): C_b = alpha * op(A_b) · op(B_b) + beta * C_b, where
   * A_b = A[b*strideA ...], op(X) = Xᵀ if trans. op(A_b) is [M, K], op(B_b) is [K, N], C_b is [M, N] with ldc.
   * A stride of 0 broadcasts that operand over the batch.
   */
  gemm(
    batch: number, transA: boolean, transB: boolean, M: number, N: number, K: number, alpha: number,
    A: Float32Array, strideA: number, lda: number,
    B: Float32Array, strideB: number, ldb: number,
    beta: number, C: Float32Array, strideC: number, ldc: number,
  ): void;

  /**
   * y[M, N] = x[M, K] · Wᵀ with W [N, K] stored 16-bit — BF16 (`f16` false) or IEEE F16 (`f16` true) bits —
   * widened to float32 on the fly (the linear layer of a model with resident 16-bit weights).
   */
  gemm16(M: number, N: number, K: number, x: Float32Array, W: Uint16Array, f16: boolean, y: Float32Array): void;

  /**
   * Several 16-bit weights at once (the MoE's experts, gate_proj beside up_proj): x [M, K] row-major, y
   * with rows `ldy` apart; group g — desc[5g .. 5g+5) = (r0, m, c0, N, w) — computes
   * y[r0 .. r0+m, c0 .. c0+N) = x[r0 .. r0+m] · Ws[w]ᵀ with Ws[w] [N, K] BF16 (`f16` false) or F16 bits.
   * Columns of y no group writes are left as they are.
   */
  gemm16Grouped(desc: Int32Array, K: number, ldy: number, x: Float32Array, Ws: Uint16Array[], f16: boolean, y: Float32Array): void;

  /**
   * The path gemm16 runs (native): 'avx512' (AVX-512 F/BW/VL), 'avx2' (AVX2+FMA+F16C), 'scalar', or the
   * opt-in 'avx512bf16' (x rounded to BF16, vdpbf16ps); 'reference' (TypeScript).
   */
  gemm16Path(): Gemm16Path | 'reference';

  /**
   * Forces gemm16's path — when the CPU lacks it, the next lower one it has (avx512bf16 → avx512 → avx2 →
   * scalar) — or 'auto' (TINYSEEK_GEMM16 if set, else the CPU's best exact path: avx512, avx2, scalar).
   * Returns the path now in use.
   */
  setGemm16Path(path: 'auto' | Gemm16Path): Gemm16Path | 'reference';

  /**
   * out[i] = a[ia] op b[ib] over an n-d index i of `shape` (out is contiguous), where
   * ia = Σ idx_d * aStrides[d] (0 stride = broadcast), likewise ib. ndim ≤ 8.
   */
  binary(op: BinaryOp, shape: Int32Array, out: Float32Array, a: Float32Array, aStrides: Int32Array, b: Float32Array, bStrides: Int32Array): void;

  /** out[i] = f(x[i]) for i < n; `param` is the exponent (powScalar), factor (mulScalar) or addend (addScalar). */
  unary(op: UnaryOp, n: number, out: Float32Array, x: Float32Array, param: number): void;

  /**
   * Backward of `unary`: dx[i] (+)= dy[i] * f'(x[i]). `y` is the forward output (used by exp/sigmoid/sqrt...).
   * If accumulate, dx += ..., else dx = ....
   */
  unaryBackward(op: UnaryOp, n: number, dx: Float32Array, x: Float32Array, y: Float32Array, dy: Float32Array, param: number, accumulate: boolean): void;

  /** out[i] = min(max(x[i], lo), hi). Backward: dx = dy where lo ≤ x ≤ hi else 0 (done by caller with `clampMask`). */
  clamp(n: number, out: Float32Array, x: Float32Array, lo: number, hi: number): void;

  /** Strided gather into a contiguous array: out[i] = src[offset + Σ idx_d * strides[d]] over `shape` (ndim ≤ 8). */
  copyStrided(shape: Int32Array, out: Float32Array, src: Float32Array, strides: Int32Array, offset: number): void;

  /** Strided scatter-add from a contiguous array: dst[offset + Σ idx_d * strides[d]] += src[i] over `shape`. */
  addStrided(shape: Int32Array, dst: Float32Array, strides: Int32Array, offset: number, src: Float32Array): void;

  /**
   * Reduce x [outer, n, inner] over the middle axis into out [outer, inner].
   * For 'max', argmax [outer, inner] (first index of the maximum) is written when given.
   */
  reduce(op: ReduceOp, outer: number, n: number, inner: number, out: Float32Array, x: Float32Array, argmax: Int32Array | null): void;

  /** Row softmax: y [rows, cols] = softmax(x) (numerically stable, max-subtracted). */
  softmax(rows: number, cols: number, y: Float32Array, x: Float32Array): void;
  /** dx = y ⊙ (dy − Σ_j dy_j y_j) per row. */
  softmaxBackward(rows: number, cols: number, dx: Float32Array, y: Float32Array, dy: Float32Array): void;
  /** Row log-softmax: y = x − logsumexp(x). */
  logSoftmax(rows: number, cols: number, y: Float32Array, x: Float32Array): void;
  /** dx = dy − exp(y) Σ_j dy_j per row (y is the log-softmax output). */
  logSoftmaxBackward(rows: number, cols: number, dx: Float32Array, y: Float32Array, dy: Float32Array): void;

  /**
   * Fused log-softmax + negative log-likelihood: nll[r] = logsumexp(x_r) − x_r[t_r] and lse[r] = logsumexp(x_r),
   * for targets t [rows]; rows whose target equals ignoreIndex get nll = 0 (lse is still written).
   */
  crossEntropy(rows: number, cols: number, nll: Float32Array, lse: Float32Array, x: Float32Array, targets: Int32Array, ignoreIndex: number): void;
  /** dx[r] = dnll[r] * (softmax(x_r) − onehot(t_r)); 0 for ignored rows. */
  crossEntropyBackward(rows: number, cols: number, dx: Float32Array, x: Float32Array, lse: Float32Array, targets: Int32Array, dnll: Float32Array, ignoreIndex: number): void;

  /** RMSNorm: y = x * rstd * w with rstd[r] = 1/sqrt(mean(x_r²) + eps). x, y [rows, dim]; w [dim]; rstd [rows]. */
  rmsNorm(rows: number, dim: number, y: Float32Array, rstd: Float32Array, x: Float32Array, w: Float32Array, eps: number): void;
  /** RMSNorm backward: dx = rstd * (w⊙dy − x̂ · mean(x̂ ⊙ w ⊙ dy)) with x̂ = x*rstd; dw += Σ_r dy ⊙ x̂. */
  rmsNormBackward(rows: number, dim: number, dx: Float32Array, dw: Float32Array, dy: Float32Array, x: Float32Array, w: Float32Array, rstd: Float32Array): void;

  /**
   * Rotary embedding on adjacent pairs (DeepSeek / LLAMA_ROPE_TYPE_NORM): for x [rows, heads, dim] where row r
   * has position pos[r], pair i = (x[2i], x[2i+1]) is rotated by angle θ = pos·freq_i using
   * cos/sin tables [maxPos, dim/2]: (a, b) → (a cos − b sin, a sin + b cos). `inverse` rotates by −θ
   * (the backward pass). out may alias x.
   */
  rope(rows: number, heads: number, dim: number, out: Float32Array, x: Float32Array, pos: Int32Array, cos: Float32Array, sin: Float32Array, inverse: boolean): void;

  /**
   * Fused scaled-dot-product attention, forward, saving probabilities for backward.
   * q [B, Tq, H, Dk], k [B, Tk, Hkv, Dk], v [B, Tk, Hkv, Dv] (H % Hkv == 0; query head h reads kv head h / (H/Hkv)),
   * out [B, Tq, H, Dv], probs [B, H, Tq, Tk].
   * Query i sits at absolute position (Tk − Tq + i); if causal, key j is visible iff j ≤ Tk − Tq + i.
   * mask (optional) is additive, [B, Tq, Tk] (maskBatchStride = 0 to share one [Tq, Tk] over the batch).
   * Rows with no visible key produce zeros.
   */
  attention(
    B: number, Tq: number, Tk: number, H: number, Hkv: number, Dk: number, Dv: number, scale: number, causal: boolean,
    q: Float32Array, k: Float32Array, v: Float32Array, mask: Float32Array | null, maskBatchStride: number,
    out: Float32Array, probs: Float32Array,
  ): void;
  /** Backward of `attention`: writes dq, dk, dv (overwritten, same layouts as q, k, v). */
  attentionBackward(
    B: number, Tq: number, Tk: number, H: number, Hkv: number, Dk: number, Dv: number, scale: number,
    q: Float32Array, k: Float32Array, v: Float32Array, probs: Float32Array, dout: Float32Array,
    dq: Float32Array, dk: Float32Array, dv: Float32Array,
  ): void;

  /** Row gather: x viewed [outer, n, inner], out [outer, m, inner] with out[o, j, :] = x[o, idx[j], :] (idx [m], 0 ≤ idx < n). */
  indexSelect(outer: number, n: number, inner: number, m: number, out: Float32Array, x: Float32Array, idx: Int32Array): void;
  /** Row scatter-add, the backward of indexSelect: dx[o, idx[j], :] += dout[o, j, :]. */
  indexAdd(outer: number, n: number, inner: number, m: number, dx: Float32Array, dout: Float32Array, idx: Int32Array): void;

  /**
   * Grouped GEMM: for each group g (desc[6g..6g+5] = M, N, K, offA, offB, offC),
   * C[offC..] = op(A[offA..]) · op(B[offB..]) with shared row strides lda, ldb, ldc (alpha 1, beta 0).
   * The MoE experts: one call runs every expert's matmul on its own rows and its own weight.
   */
  gemmGrouped(transA: boolean, transB: boolean, desc: Int32Array, lda: number, ldb: number, ldc: number, A: Float32Array, B: Float32Array, C: Float32Array): void;

  /** SwiGLU, fused: h [rows, 2·inter] = [a | b] → out [rows, inter] = silu(a) ⊙ b. */
  swiglu(rows: number, inter: number, out: Float32Array, h: Float32Array): void;
  /** Its backward: dh = [dy ⊙ b ⊙ silu'(a) | dy ⊙ silu(a)] (overwrites dh). */
  swigluBackward(rows: number, inter: number, dh: Float32Array, h: Float32Array, dy: Float32Array): void;

  /**
   * Weighted row scatter-add (the MoE combine): out[idx[j], :] += w[j] · src[j, :] for src [m, inner],
   * out [n, inner], w [m], idx [m] (0 ≤ idx < n).
   */
  weightedIndexAdd(n: number, inner: number, m: number, out: Float32Array, src: Float32Array, w: Float32Array, idx: Int32Array): void;
  /**
   * Backward of weightedIndexAdd for dy [n, inner]: dsrc[j, :] = w[j] · dy[idx[j], :] and
   * dw[j] = Σ_i src[j, i] · dy[idx[j], i].
   */
  weightedIndexAddBackward(
    n: number, inner: number, m: number, dsrc: Float32Array, dw: Float32Array, src: Float32Array, w: Float32Array, dy: Float32Array, idx: Int32Array,
  ): void;

  /**
   * Element gather along the middle axis: x [outer, n, inner], idx [outer, m, inner],
   * out[o, j, i] = x[o, idx[o, j, i], i]. (torch.gather)
   */
  gather(outer: number, n: number, inner: number, m: number, out: Float32Array, x: Float32Array, idx: Int32Array): void;
  /** Backward of gather: dx[o, idx[o, j, i], i] += dout[o, j, i]. */
  scatterAdd(outer: number, n: number, inner: number, m: number, dx: Float32Array, dout: Float32Array, idx: Int32Array): void;

  /**
   * Top-k over the last axis: x [rows, cols] → values [rows, k], indices [rows, k], sorted descending;
   * ties broken by the lower index (as torch.topk on CPU does for sorted output).
   */
  topk(rows: number, cols: number, k: number, values: Float32Array, indices: Int32Array, x: Float32Array): void;

  /** out[i] = cond[i] != 0 ? a[i] : b[i] over n contiguous elements. */
  where(n: number, out: Float32Array, cond: Float32Array, a: Float32Array, b: Float32Array): void;

  /** Σ x² over n elements, accumulated in float64 (for global-norm clipping). */
  sumSquares(n: number, x: Float32Array): number;

  /** y += alpha * x (n elements). */
  axpy(n: number, alpha: number, x: Float32Array, y: Float32Array): void;

  /**
   * One fused AdamW step on n parameters (decoupled weight decay, bias correction):
   * p ← p·(1 − lr·wd); m = β1 m + (1−β1) g; v = β2 v + (1−β2) g²; p −= lr·(m/(1−β1^t)) / (sqrt(v/(1−β2^t)) + eps)  (PyTorch AdamW order).
   * `step` is t (≥ 1).
   */
  adamw(n: number, p: Float32Array, g: Float32Array, m: Float32Array, v: Float32Array, lr: number, beta1: number, beta2: number, eps: number, weightDecay: number, step: number): void;
}
