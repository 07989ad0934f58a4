// The op test table shared by the gradient checks (float64, reference backend) and the
// backend parity tests (float32, native vs reference). Each case builds its inputs from a
// seeded generator and maps them to one output tensor.
import { Tensor, Rng } from '../../src/tensor/index.js';
import * as O from '../../src/ops/index.js';

/** One op test: inputs (all float, all differentiated unless listed in `noGrad`) and the function. */
export interface OpCase {
  name: string;
  inputs: (rng: Rng) => Tensor[];
  f: (xs: Tensor[]) => Tensor;
  /** Indices of inputs that are not differentiated. */
  noGrad?: number[];
}

const r = (shape: number[], lo = -1, hi = 1) => (rng: Rng) => Tensor.rand(shape, rng, lo, hi);
const tables = O.ropeTables(8, 10000, 32, { factor: 4, originalMaxPositionEmbeddings: 8, betaFast: 32, betaSlow: 1, mscale: 1, mscaleAllDim: 1 });

/** Distinct values (so max/topk have unique winners and finite differences don't cross ties). */
function distinct(shape: number[]) {
  return (rng: Rng) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Array.from({ length: n }, (_, i) => (i - n / 2 + 0.31) * 0.37);
    rng.shuffle(vals);
    return Tensor.from(vals, shape);
  };
}

export const OP_CASES: OpCase[] = [
  { name: 'add broadcast [3,4]+[4]', inputs: (g) => [r([3, 4])(g), r([4])(g)], f: ([a, b]) => O.add(a, b) },
  { name: 'sub broadcast [3,1]-[3,4]', inputs: (g) => [r([3, 1])(g), r([3, 4])(g)], f: ([a, b]) => O.sub(a, b) },
  { name: 'mul broadcast [2,3,4]*[3,1]', inputs: (g) => [r([2, 3, 4])(g), r([3, 1])(g)], f: ([a, b]) => O.mul(a, b) },
  { name: 'div broadcast', inputs: (g) => [r([3, 4])(g), r([4], 0.5, 2)(g)], f: ([a, b]) => O.div(a, b) },
  { name: 'pow tensor', inputs: (g) => [r([3, 4], 0.5, 2)(g), r([3, 4], -1, 2)(g)], f: ([a, b]) => O.pow(a, b) },
  { name: 'exp', inputs: (g) => [r([5, 3])(g)], f: ([a]) => O.exp(a) },
  { name: 'log', inputs: (g) => [r([5, 3], 0.2, 3)(g)], f: ([a]) => O.log(a) },
  { name: 'sqrt', inputs: (g) => [r([5, 3], 0.2, 3)(g)], f: ([a]) => O.sqrt(a) },
  { name: 'rsqrt', inputs: (g) => [r([5, 3], 0.2, 3)(g)], f: ([a]) => O.rsqrt(a) },
  { name: 'powScalar 3', inputs: (g) => [r([5, 3])(g)], f: ([a]) => O.powScalar(a, 3) },
  { name: 'minimum broadcast [3,4],[4]', inputs: (g) => [r([3, 4])(g), r([4])(g)], f: ([a, b]) => O.minimum(a, b) },
  { name: 'clamp', inputs: (g) => [distinct([4, 5])(g)], f: ([a]) => O.clamp(a, -1.5, 2.2) },
  { name: 'sigmoid', inputs: (g) => [r([4, 5], -4, 4)(g)], f: ([a]) => O.sigmoid(a) },
  { name: 'silu', inputs: (g) => [r([4, 5], -4, 4)(g)], f: ([a]) => O.silu(a) },
  { name: 'gelu', inputs: (g) => [r([4, 5], -4, 4)(g)], f: ([a]) => O.gelu(a) },
  { name: 'relu', inputs: (g) => [distinct([4, 5])(g)], f: ([a]) => O.relu(a) },
  { name: 'tanh', inputs: (g) => [r([4, 5], -2, 2)(g)], f: ([a]) => O.tanh(a) },
  { name: 'mulScalar/addScalar/neg/square/abs', inputs: (g) => [distinct([3, 4])(g)], f: ([a]) => O.abs(O.square(O.neg(O.addScalar(O.mulScalar(a, 1.5), 0.1)))) },
  { name: 'sum dim 1 keepdim', inputs: (g) => [r([3, 4, 5])(g)], f: ([a]) => O.sum(a, 1, true) },
  { name: 'sum dims [0,2]', inputs: (g) => [r([3, 4, 5])(g)], f: ([a]) => O.sum(a, [0, 2]) },
  { name: 'mean all', inputs: (g) => [r([3, 4])(g)], f: ([a]) => O.mean(a) },
  { name: 'max dim 1', inputs: (g) => [distinct([3, 6, 2])(g)], f: ([a]) => O.max(a, 1) },
  { name: 'softmax last', inputs: (g) => [r([4, 7], -3, 3)(g)], f: ([a]) => O.softmax(a, -1) },
  { name: 'softmax dim 0', inputs: (g) => [r([4, 7], -3, 3)(g)], f: ([a]) => O.softmax(a, 0) },
  { name: 'logSoftmax', inputs: (g) => [r([4, 7], -3, 3)(g)], f: ([a]) => O.logSoftmax(a, -1) },
  {
    name: 'crossEntropy ignore+weights',
    inputs: (g) => [r([6, 9], -3, 3)(g), r([6], 0.2, 1.5)(g)],
    noGrad: [1],
    f: ([x, w]) => O.crossEntropy(x, Tensor.ints([3, -100, 0, 8, 5, 5]), { weights: w, reduction: 'mean' }),
  },
  { name: 'crossEntropy none', inputs: (g) => [r([2, 3, 5], -3, 3)(g)], f: ([x]) => O.crossEntropy(x, Tensor.ints([0, 1, 2, 3, 4, 0], [2, 3]), { reduction: 'none' }) },
  { name: 'rmsNorm', inputs: (g) => [r([5, 8])(g), r([8], 0.5, 1.5)(g)], f: ([x, w]) => O.rmsNorm(x, w, 1e-6) },
  { name: 'embedding (repeated ids)', inputs: (g) => [r([7, 4])(g)], f: ([w]) => O.embedding(w, Tensor.ints([1, 3, 1, 6, 0, 3], [2, 3])) },
  { name: 'indexSelect dim 1', inputs: (g) => [r([3, 5, 2])(g)], f: ([x]) => O.indexSelect(x, 1, Int32Array.from([4, 0, 4, 2])) },
  { name: 'gather dim -1', inputs: (g) => [r([3, 5])(g)], f: ([x]) => O.gather(x, -1, Tensor.ints([0, 4, 4, 1, 2, 3], [3, 2])) },
  { name: 'indexAdd', inputs: (g) => [r([5, 3])(g), r([4, 3])(g)], f: ([b, s]) => O.indexAdd(b, Int32Array.from([1, 4, 1, 0]), s) },
  {
    name: 'groupedLinear (3 experts: one row, none, four rows)',
    inputs: (g) => [r([5, 4])(g), r([3, 2, 4])(g)],
    f: ([x, w]) => O.groupedLinear(x, w, Int32Array.from([0, 1, 1, 5])),
  },
  { name: 'swiglu (fused gate)', inputs: (g) => [r([2, 3, 10], -3, 3)(g)], f: ([h]) => O.swiglu(h) },
  {
    name: 'weightedIndexAdd (MoE combine, two sources)',
    inputs: (g) => [r([3, 4])(g), r([2, 4])(g), r([5])(g)],
    f: ([a, b, w]) => O.weightedIndexAdd(4, [a, b], w, Int32Array.from([2, 0, 2, 3, 0])),
  },
  { name: 'topk values', inputs: (g) => [distinct([3, 8])(g)], f: ([x]) => O.topk(x, 3).values },
  { name: 'concat dim 1', inputs: (g) => [r([2, 3, 2])(g), r([2, 1, 2])(g)], f: ([a, b]) => O.concat([a, b], 1) },
  { name: 'split + slice', inputs: (g) => [r([4, 6])(g)], f: ([a]) => O.mul(O.split(a, [2, 4], 1)[1], O.slice(a, 1, 0, 4)) },
  { name: 'transpose contiguous reshape', inputs: (g) => [r([2, 3, 4])(g)], f: ([a]) => O.reshape(O.contiguous(O.transpose(a, 0, 2)), [4, 6]) },
  { name: 'expand', inputs: (g) => [r([3, 1])(g)], f: ([a]) => O.mulScalar(O.expand(a, [2, 3, 4]), 1.5) },
  {
    name: 'where',
    inputs: (g) => [r([3, 4])(g), r([4])(g)],
    f: ([a, b]) => O.where(Tensor.from([1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0], [3, 4]), a, b),
  },
  { name: 'matmul 2d', inputs: (g) => [r([3, 4])(g), r([4, 5])(g)], f: ([a, b]) => O.matmul(a, b) },
  { name: 'matmul batched [2,3,4]@[4,5]', inputs: (g) => [r([2, 3, 4])(g), r([4, 5])(g)], f: ([a, b]) => O.matmul(a, b) },
  { name: 'matmul transposed views', inputs: (g) => [r([2, 4, 3])(g), r([2, 5, 4])(g)], f: ([a, b]) => O.matmul(O.transpose(a, 1, 2), O.transpose(b, 1, 2)) },
  { name: 'matmul broadcast batch', inputs: (g) => [r([2, 1, 3, 4])(g), r([3, 4, 2])(g)], f: ([a, b]) => O.matmul(a, b) },
  { name: 'linear', inputs: (g) => [r([2, 3, 4])(g), r([5, 4])(g)], f: ([x, w]) => O.linear(x, w) },
  { name: 'rope yarn', inputs: (g) => [r([2, 3, 2, 8])(g)], f: ([x]) => O.rope(x, Int32Array.from([0, 1, 2, 5, 6, 31]), tables) },
  {
    name: 'attention causal MHA',
    inputs: (g) => [r([2, 4, 2, 3])(g), r([2, 4, 2, 3])(g), r([2, 4, 2, 5])(g)],
    f: ([q, k, v]) => O.attention(q, k, v, { causal: true }),
  },
  {
    name: 'attention Tq<Tk, MQA, mask',
    inputs: (g) => [r([2, 2, 4, 3])(g), r([2, 5, 1, 3])(g), r([2, 5, 1, 2])(g)],
    f: ([q, k, v]) => {
      const m = Tensor.zeros([2, 2, 5]);
      m.f32()[0] = -Infinity; // batch 0 cannot see key 0 from query 0 (padding)
      m.f32()[5] = -Infinity;
      m.f32()[10 + 1] = -1.5;
      return O.attention(q, k, v, { causal: true, mask: m, scale: 0.7 });
    },
  },
  {
    name: 'attention non-causal GQA',
    inputs: (g) => [r([1, 3, 4, 2])(g), r([1, 3, 2, 2])(g), r([1, 3, 2, 2])(g)],
    f: ([q, k, v]) => O.attention(q, k, v, { causal: false }),
  },
  {
    // more query rows than keys (MLA's absorbed decode: T·H query rows against one latent kv head)
    name: 'attention non-causal Tq>Tk with mask',
    inputs: (g) => [r([2, 6, 1, 3])(g), r([2, 2, 1, 3])(g), r([2, 2, 1, 2])(g)],
    f: ([q, k, v]) => {
      const m = Tensor.zeros([2, 6, 2]);
      m.f32()[2 * 6 * 2 - 1] = -Infinity; // the last row of the second batch sees only its first key
      return O.attention(q, k, v, { causal: false, mask: m });
    },
  },
];
