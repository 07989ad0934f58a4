// The reference backend: every kernel of `Kernels` in plain TypeScript loops.
// It is the oracle the native backend is tested against, and the fallback when the
// addon cannot load. Clarity beats speed here; accumulations use float64 where cheap.
import { bf16BitsToF32, f16BitsToF32 } from '../io/dtypes.js';
import type { BinaryOp, Kernels, ReduceOp, UnaryOp } from './kernels.js';

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/** gelu (tanh approximation, as GPT-2 / PyTorch approximate='tanh'). */
function gelu(x: number): number {
  return 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x)));
}
function geluGrad(x: number): number {
  const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
  const t = Math.tanh(u);
  const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * du;
}
function sigmoid(x: number): number {
  return x >= 0 ? 1 / (1 + Math.exp(-x)) : Math.exp(x) / (1 + Math.exp(x));
}

function unaryF(op: UnaryOp, x: number, p: number): number {
  switch (op) {
    case 'neg': return -x;
    case 'exp': return Math.exp(x);
    case 'log': return Math.log(x);
    case 'sqrt': return Math.sqrt(x);
    case 'rsqrt': return 1 / Math.sqrt(x);
    case 'sigmoid': return sigmoid(x);
    case 'silu': return x * sigmoid(x);
    case 'gelu': return gelu(x);
    case 'relu': return x > 0 ? x : 0;
    case 'tanh': return Math.tanh(x);
    case 'abs': return Math.abs(x);
    case 'square': return x * x;
    case 'powScalar': return Math.pow(x, p);
    case 'mulScalar': return x * p;
    case 'addScalar': return x + p;
  }
}

/** f'(x) given x and y = f(x). */
function unaryGrad(op: UnaryOp, x: number, y: number, p: number): number {
  switch (op) {
    case 'neg': return -1;
    case 'exp': return y;
    case 'log': return 1 / x;
    case 'sqrt': return 0.5 / y;
    case 'rsqrt': return -0.5 * y * y * y;
    case 'sigmoid': return y * (1 - y);
    case 'silu': { const s = sigmoid(x); return s * (1 + x * (1 - s)); }
    case 'gelu': return geluGrad(x);
    case 'relu': return x > 0 ? 1 : 0;
    case 'tanh': return 1 - y * y;
    case 'abs': return x > 0 ? 1 : x < 0 ? -1 : 0;
    case 'square': return 2 * x;
    case 'powScalar': return p * Math.pow(x, p - 1);
    case 'mulScalar': return p;
    case 'addScalar': return 1;
  }
}

function binaryF(op: BinaryOp, a: number, b: number): number {
  switch (op) {
    case 'add': return a + b;
    case 'sub': return a - b;
    case 'mul': return a * b;
    case 'div': return a / b;
    case 'pow': return Math.pow(a, b);
    case 'max': return a >= b ? a : b;
    case 'min': return a <= b ? a : b;
  }
}

/** Iterates an n-d index over `shape` calling f(flatOut, offsetA, offsetB) with two stride sets. */
function forEachStrided2(shape: Int32Array, sa: Int32Array, sb: Int32Array, oa: number, ob: number,
  f: (i: number, ia: number, ib: number) => void): void {
  const nd = shape.length;
  let n = 1;
  for (let d = 0; d < nd; d++) n *= shape[d];
  if (n === 0) return;
  const idx = new Int32Array(nd);
  let ia = oa, ib = ob;
  for (let i = 0; i < n; i++) {
    f(i, ia, ib);
    for (let d = nd - 1; d >= 0; d--) {
      idx[d]++;
      ia += sa[d];
      ib += sb[d];
      if (idx[d] < shape[d]) break;
      ia -= sa[d] * shape[d];
      ib -= sb[d] * shape[d];
      idx[d] = 0;
    }
  }
}

/** Creates the reference (pure TypeScript) backend. */
export function createReferenceBackend(): Kernels {
  return {
    name: 'reference',

    gemm(batch, transA, transB, M, N, K, alpha, A, strideA, lda, B, strideB, ldb, beta, C, strideC, ldc) {
      for (let bt = 0; bt < batch; bt++) {
        const a0 = bt * strideA, b0 = bt * strideB, c0 = bt * strideC;
        for (let i = 0; i < M; i++) {
          for (let j = 0; j < N; j++) {
            let s = 0;
            for (let k = 0; k < K; k++) {
              const av = transA ? A[a0 + k * lda + i] : A[a0 + i * lda + k];
              const bv = transB ? B[b0 + j * ldb + k] : B[b0 + k * ldb + j];
              s += av * bv;
            }
            const ci = c0 + i * ldc + j;
            C[ci] = beta === 0 ? alpha * s : alpha * s + beta * C[ci];
          }
        }
      }
    },

    binary(op, shape, out, a, aStrides, b, bStrides) {
      forEachStrided2(shape, aStrides, bStrides, 0, 0, (i, ia, ib) => { out[i] = binaryF(op, a[ia], b[ib]); });
    },

    unary(op, n, out, x, param) {
      for (let i = 0; i < n; i++) out[i] = unaryF(op, x[i], param);
    },

    unaryBackward(op, n, dx, x, y, dy, param, accumulate) {
      for (let i = 0; i < n; i++) {
        const g = dy[i] * unaryGrad(op, x[i], y[i], param);
        dx[i] = accumulate ? dx[i] + g : g;
      }
    },

    clamp(n, out, x, lo, hi) {
      for (let i = 0; i < n; i++) { const v = x[i]; out[i] = v < lo ? lo : v > hi ? hi : v; }
    },

    copyStrided(shape, out, src, strides, offset) {
      forEachStrided2(shape, strides, strides, offset, offset, (i, is) => { out[i] = src[is]; });
    },

    addStrided(shape, dst, strides, offset, src) {
      forEachStrided2(shape, strides, strides, offset, offset, (i, id) => { dst[id] += src[i]; });
    },

    reduce(op: ReduceOp, outer, n, inner, out, x, argmax) {
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          const base = o * n * inner + i;
          if (op === 'sum') {
            let s = 0;
            for (let j = 0; j < n; j++) s += x[base + j * inner];
            out[o * inner + i] = s;
          } else {
            let best = x[base], bi = 0;
            for (let j = 1; j < n; j++) {
              const v = x[base + j * inner];
              if (v > best) { best = v; bi = j; }
            }
            out[o * inner + i] = best;
            if (argmax) argmax[o * inner + i] = bi;
          }
        }
      }
    },

    softmax(rows, cols, y, x) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let m = -Infinity;
        for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
        if (m === -Infinity) { for (let j = 0; j < cols; j++) y[o + j] = 0; continue; }
        let s = 0;
        for (let j = 0; j < cols; j++) { const e = Math.exp(x[o + j] - m); y[o + j] = e; s += e; }
        const inv = 1 / s;
        for (let j = 0; j < cols; j++) y[o + j] *= inv;
      }
    },

    softmaxBackward(rows, cols, dx, y, dy) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let dot = 0;
        for (let j = 0; j < cols; j++) dot += dy[o + j] * y[o + j];
        for (let j = 0; j < cols; j++) dx[o + j] = y[o + j] * (dy[o + j] - dot);
      }
    },

    logSoftmax(rows, cols, y, x) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let m = -Infinity;
        for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
        let s = 0;
        for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
        const lse = m + Math.log(s);
        for (let j = 0; j < cols; j++) y[o + j] = x[o + j] - lse;
      }
    },

    logSoftmaxBackward(rows, cols, dx, y, dy) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let s = 0;
        for (let j = 0; j < cols; j++) s += dy[o + j];
        for (let j = 0; j < cols; j++) dx[o + j] = dy[o + j] - Math.exp(y[o + j]) * s;
      }
    },

    crossEntropy(rows, cols, nll, lse, x, targets, ignoreIndex) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        let m = -Infinity;
        for (let j = 0; j < cols; j++) if (x[o + j] > m) m = x[o + j];
        let s = 0;
        for (let j = 0; j < cols; j++) s += Math.exp(x[o + j] - m);
        const l = m + Math.log(s);
        lse[r] = l;
        const t = targets[r];
        nll[r] = t === ignoreIndex ? 0 : l - x[o + t];
      }
    },

    crossEntropyBackward(rows, cols, dx, x, lse, targets, dnll, ignoreIndex) {
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        const t = targets[r];
        if (t === ignoreIndex) { for (let j = 0; j < cols; j++) dx[o + j] = 0; continue; }
        const g = dnll[r], l = lse[r];
        for (let j = 0; j < cols; j++) dx[o + j] = g * Math.exp(x[o + j] - l);
        dx[o + t] -= g;
      }
    },

    rmsNorm(rows, dim, y, rstd, x, w, eps) {
      for (let r = 0; r < rows; r++) {
        const o = r * dim;
        let ss = 0;
        for (let j = 0; j < dim; j++) ss += x[o + j] * x[o + j];
        const rs = 1 / Math.sqrt(ss / dim + eps);
        rstd[r] = rs;
        for (let j = 0; j < dim; j++) y[o + j] = x[o + j] * rs * w[j];
      }
    },

    rmsNormBackward(rows, dim, dx, dw, dy, x, w, rstd) {
      for (let r = 0; r < rows; r++) {
        const o = r * dim;
        const rs = rstd[r];
        let dot = 0;
        for (let j = 0; j < dim; j++) dot += dy[o + j] * w[j] * x[o + j] * rs;
        const mean = dot / dim;
        for (let j = 0; j < dim; j++) {
          const xh = x[o + j] * rs;
          dx[o + j] = rs * (dy[o + j] * w[j] - xh * mean);
          dw[j] += dy[o + j] * xh;
        }
      }
    },

    rope(rows, heads, dim, out, x, pos, cos, sin, inverse) {
      const half = dim >> 1;
      const sgn = inverse ? -1 : 1;
      for (let r = 0; r < rows; r++) {
        const p = pos[r] * half;
        for (let h = 0; h < heads; h++) {
          const o = (r * heads + h) * dim;
          for (let i = 0; i < half; i++) {
            const c = cos[p + i], s = sgn * sin[p + i];
            const a = x[o + 2 * i], b = x[o + 2 * i + 1];
            out[o + 2 * i] = a * c - b * s;
            out[o + 2 * i + 1] = a * s + b * c;
          }
        }
      }
    },

    attention(B, Tq, Tk, H, Hkv, Dk, Dv, scale, causal, q, k, v, mask, maskBatchStride, out, probs) {
      const rep = H / Hkv;
      const off = Tk - Tq;
      const row = new Float64Array(Tk);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const hk = Math.floor(h / rep);
          for (let i = 0; i < Tq; i++) {
            const qo = ((b * Tq + i) * H + h) * Dk;
            const lim = causal ? Math.min(Tk, off + i + 1) : Tk;
            let m = -Infinity;
            for (let j = 0; j < Tk; j++) {
              if (j >= lim) { row[j] = -Infinity; continue; }
              const ko = ((b * Tk + j) * Hkv + hk) * Dk;
              let s = 0;
              for (let d = 0; d < Dk; d++) s += q[qo + d] * k[ko + d];
              s *= scale;
              if (mask) s += mask[b * maskBatchStride + i * Tk + j];
              row[j] = s;
              if (s > m) m = s;
            }
            const po = ((b * H + h) * Tq + i) * Tk;
            const oo = ((b * Tq + i) * H + h) * Dv;
            for (let d = 0; d < Dv; d++) out[oo + d] = 0;
            if (m === -Infinity) { for (let j = 0; j < Tk; j++) probs[po + j] = 0; continue; }
            let sum = 0;
            for (let j = 0; j < Tk; j++) { const e = row[j] === -Infinity ? 0 : Math.exp(row[j] - m); row[j] = e; sum += e; }
            for (let j = 0; j < Tk; j++) {
              const p = row[j] / sum;
              probs[po + j] = p;
              if (p === 0) continue;
              const vo = ((b * Tk + j) * Hkv + hk) * Dv;
              for (let d = 0; d < Dv; d++) out[oo + d] += p * v[vo + d];
            }
          }
        }
      }
    },

    attentionBackward(B, Tq, Tk, H, Hkv, Dk, Dv, scale, q, k, v, probs, dout, dq, dk, dv) {
      const rep = H / Hkv;
      dq.fill(0, 0, B * Tq * H * Dk);
      dk.fill(0, 0, B * Tk * Hkv * Dk);
      dv.fill(0, 0, B * Tk * Hkv * Dv);
      const dp = new Float64Array(Tk);
      for (let b = 0; b < B; b++) {
        for (let h = 0; h < H; h++) {
          const hk = Math.floor(h / rep);
          for (let i = 0; i < Tq; i++) {
            const po = ((b * H + h) * Tq + i) * Tk;
            const oo = ((b * Tq + i) * H + h) * Dv;
            const qo = ((b * Tq + i) * H + h) * Dk;
            let dot = 0;
            for (let j = 0; j < Tk; j++) {
              const p = probs[po + j];
              const vo = ((b * Tk + j) * Hkv + hk) * Dv;
              let s = 0;
              for (let d = 0; d < Dv; d++) {
                s += dout[oo + d] * v[vo + d];
                dv[vo + d] += p * dout[oo + d];
              }
              dp[j] = s;
              dot += p * s;
            }
            for (let j = 0; j < Tk; j++) {
              const p = probs[po + j];
              if (p === 0) continue;
              const ds = p * (dp[j] - dot) * scale;
              const ko = ((b * Tk + j) * Hkv + hk) * Dk;
              for (let d = 0; d < Dk; d++) {
                dq[qo + d] += ds * k[ko + d];
                dk[ko + d] += ds * q[qo + d];
              }
            }
          }
        }
      }
    },

    indexSelect(outer, n, inner, m, out, x, idx) {
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < m; j++) {
          const src = (o * n + idx[j]) * inner, dst = (o * m + j) * inner;
          for (let i = 0; i < inner; i++) out[dst + i] = x[src + i];
        }
      }
    },

    indexAdd(outer, n, inner, m, dx, dout, idx) {
      for (let o = 0; o < outer; o++) {
        for (let j = 0; j < m; j++) {
          const dst = (o * n + idx[j]) * inner, src = (o * m + j) * inner;
          for (let i = 0; i < inner; i++) dx[dst + i] += dout[src + i];
        }
      }
    },

    gemm16(M, N, K, x, W, f16, y) {
      const widen = f16 ? f16BitsToF32 : bf16BitsToF32;
      const w = new Float32Array(K);
      for (let n = 0; n < N; n++) {
        for (let k = 0; k < K; k++) w[k] = widen(W[n * K + k]);
        for (let m = 0; m < M; m++) {
          let s = 0;
          for (let k = 0; k < K; k++) s += x[m * K + k] * w[k];
          y[m * N + n] = s;
        }
      }
    },

    gemm16Grouped(desc, K, ldy, x, Ws, f16, y) {
      const widen = f16 ? f16BitsToF32 : bf16BitsToF32;
      const w = new Float32Array(K);
      for (let g = 0; g < desc.length / 5; g++) {
        const [r0, m, c0, N, wi] = desc.subarray(5 * g, 5 * g + 5);
        const W = Ws[wi];
        for (let n = 0; n < N; n++) {
          for (let k = 0; k < K; k++) w[k] = widen(W[n * K + k]);
          for (let i = r0; i < r0 + m; i++) {
            let s = 0;
            for (let k = 0; k < K; k++) s += x[i * K + k] * w[k];
            y[i * ldy + c0 + n] = s;
          }
        }
      }
    },

    gemm16Path: () => 'reference',
    setGemm16Path: () => 'reference',

    gemmGrouped(transA, transB, desc, lda, ldb, ldc, A, B, C) {
      for (let g = 0; g < desc.length / 6; g++) {
        const [M, N, K, oa, ob, oc] = desc.subarray(6 * g, 6 * g + 6);
        this.gemm(1, transA, transB, M, N, K, 1, A.subarray(oa), 0, lda, B.subarray(ob), 0, ldb, 0, C.subarray(oc), 0, ldc);
      }
    },

    swiglu(rows, inter, out, h) {
      for (let r = 0; r < rows; r++) {
        const a = r * 2 * inter, b = a + inter, o = r * inter;
        for (let i = 0; i < inter; i++) out[o + i] = (h[a + i] / (1 + Math.exp(-h[a + i]))) * h[b + i];
      }
    },

    swigluBackward(rows, inter, dh, h, dy) {
      for (let r = 0; r < rows; r++) {
        const a = r * 2 * inter, b = a + inter, o = r * inter;
        for (let i = 0; i < inter; i++) {
          const x = h[a + i], s = 1 / (1 + Math.exp(-x)), g = dy[o + i];
          dh[a + i] = g * h[b + i] * s * (1 + x * (1 - s));
          dh[b + i] = g * x * s;
        }
      }
    },

    weightedIndexAdd(n, inner, m, out, src, w, idx) {
      for (let j = 0; j < m; j++) {
        const dst = idx[j] * inner, s = j * inner, wj = w[j];
        for (let i = 0; i < inner; i++) out[dst + i] += wj * src[s + i];
      }
    },

    weightedIndexAddBackward(n, inner, m, dsrc, dw, src, w, dy, idx) {
      for (let j = 0; j < m; j++) {
        const g = idx[j] * inner, s = j * inner, wj = w[j];
        let acc = 0;
        for (let i = 0; i < inner; i++) {
          dsrc[s + i] = wj * dy[g + i];
          acc += src[s + i] * dy[g + i];
        }
        dw[j] = acc;
      }
    },

    gather(outer, n, inner, m, out, x, idx) {
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < m; j++)
          for (let i = 0; i < inner; i++) {
            const t = (o * m + j) * inner + i;
            out[t] = x[(o * n + idx[t]) * inner + i];
          }
    },

    scatterAdd(outer, n, inner, m, dx, dout, idx) {
      for (let o = 0; o < outer; o++)
        for (let j = 0; j < m; j++)
          for (let i = 0; i < inner; i++) {
            const t = (o * m + j) * inner + i;
            dx[(o * n + idx[t]) * inner + i] += dout[t];
          }
    },

    topk(rows, cols, k, values, indices, x) {
      const order = new Int32Array(cols);
      for (let r = 0; r < rows; r++) {
        const o = r * cols;
        for (let j = 0; j < cols; j++) order[j] = j;
        // Stable sort by descending value: equal values keep the lower index first.
        const sorted = Array.from(order).sort((a, b) => {
          const va = x[o + a], vb = x[o + b];
          if (va > vb) return -1;
          if (va < vb) return 1;
          return a - b;
        });
        for (let t = 0; t < k; t++) {
          indices[r * k + t] = sorted[t];
          values[r * k + t] = x[o + sorted[t]];
        }
      }
    },

    where(n, out, cond, a, b) {
      for (let i = 0; i < n; i++) out[i] = cond[i] !== 0 ? a[i] : b[i];
    },

    sumSquares(n, x) {
      let s = 0;
      for (let i = 0; i < n; i++) s += x[i] * x[i];
      return s;
    },

    axpy(n, alpha, x, y) {
      for (let i = 0; i < n; i++) y[i] += alpha * x[i];
    },

    adamw(n, p, g, m, v, lr, beta1, beta2, eps, weightDecay, step) {
      const bc1 = 1 - Math.pow(beta1, step);
      const bc2 = 1 - Math.pow(beta2, step);
      const decay = 1 - lr * weightDecay;
      for (let i = 0; i < n; i++) {
        const gi = g[i];
        const mi = beta1 * m[i] + (1 - beta1) * gi;
        const vi = beta2 * v[i] + (1 - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        p[i] = p[i] * decay - lr * (mi / bc1) / (Math.sqrt(vi / bc2) + eps);
      }
    },
  };
}
