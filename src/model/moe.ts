// DeepSeekMoE layer: shared experts always on, routed experts chosen by the Gate.
//
// Dispatch groups tokens by expert (gather → every expert's MLP as grouped GEMMs → one fused
// weighted scatter-add), so the cost follows the activated parameters, not the total. With 16-bit
// resident weights the grouped GEMMs are gemm16Grouped calls over the experts' own 16-bit weights.
// Load balancing as in DeepSeek-V3: the auxiliary-loss-free bias update (after each
// optimizer step, from the batch's expert load) and the sequence-wise balance loss α·Σ f_i P_i.
import { Tensor, Rng } from '../tensor/index.js';
import { backend } from '../backend/index.js';
import { Module } from '../nn/module.js';
import type { ModelConfig } from './config.js';
import { Gate } from './gate.js';
import { MLP } from './mlp.js';
import { add, concat, contiguous, groupedLinear, groupedLinear16, indexSelect, mean, mul, mulScalar, reshape, slice, sum, div, swiglu, weightedIndexAdd } from '../ops/index.js';
import type { Linear16Part } from '../ops/grouped-linear16.js';
import { Scratch, arrayPathsApply } from './scratch.js';

/** The strides of a flat contiguous operand of the binary kernel. */
const UNIT_STRIDE = Int32Array.of(1);

/** Expert-load statistics of one MoE layer over the tokens seen since the last reset. */
export interface ExpertLoad {
  /** Tokens routed to each expert. */
  counts: number[];
  /** max(count) / mean(count): 1 is perfect balance. */
  maxOverMean: number;
  /** (max − mean) / mean: the "MaxVio" of the aux-loss-free paper. */
  maxViolation: number;
}

/** Load statistics of per-expert token counts (e.g. counts summed over data-parallel ranks). */
export function expertLoad(counts: number[]): ExpertLoad {
  const m = counts.reduce((a, b) => a + b, 0) / counts.length;
  const mx = Math.max(...counts);
  return { counts, maxOverMean: m > 0 ? mx / m : 1, maxViolation: m > 0 ? (mx - m) / m : 0 };
}

/**
 * Expert parallelism (implemented in src/parallel/expert-parallel.ts): the routed experts of a layer
 * are spread over ranks, this process holding the global experts [first, first + count).
 */
export interface ExpertDispatcher {
  readonly first: number;
  readonly count: number;
  /**
   * xs [M, D], this process's routed rows sorted by global expert, `counts` [E] rows per expert →
   * the experts' outputs for those rows [M, D] in the same order. Each block of rows goes to the
   * rank holding its experts (dispatch), which calls `run(xe [R, D], offsets [count + 1])` on what it
   * received grouped by its local experts; the outputs come back the same way (combine).
   * Differentiable: backward is the mirror image. `route` (the experts of every token, [N, k]) is for
   * statistics only.
   */
  dispatch(xs: Tensor, counts: Int32Array, run: (xe: Tensor, offsets: Int32Array) => Tensor, route?: { indices: Int32Array; k: number }): Tensor;
  /**
   * Inference with every rank holding the same N tokens (`tinyseek serve --ep`): present, this rank
   * routes only its block [start, end) of the N tokens (the blocks partition them) and `gatherRows`
   * all-gathers every block's output y [end − start, D] into [N, D] (no gradient). Absent: each rank
   * routes its own tokens (training).
   */
  readonly replicated?: {
    tokenBlock(N: number): [number, number];
    gatherRows(y: Tensor, N: number): Tensor;
  };
}

/** One MoE feed-forward layer (HF: `mlp` with `gate`, `experts.{e}`, `shared_experts`). */
export class MoE extends Module {
  readonly gate: Gate;
  readonly experts: MLP[];
  readonly sharedExperts: MLP | null;
  /** Tokens per expert accumulated since the last `takeLoad()` (training statistics, no gradient). */
  readonly load: Float64Array;
  /**
   * Float32 weights: grouped expert GEMMs (over stacked weights) when the routed rows (tokens × k)
   * reach this many per expert; below it (decode) the active experts run one by one. Both compute the
   * same values. 16-bit resident weights always run grouped (groupedExperts16 stacks nothing).
   */
  static groupedMinRowsPerExpert = 16;
  /** The sequence-wise balance loss of the last forward (null when α = 0 or not training). */
  lastBalanceLoss: Tensor | null = null;
  /** Expert parallelism: where the routed experts run (null: all of them here). */
  dispatcher: ExpertDispatcher | null = null;
  /** Intermediates of forwardFew's array path. */
  private readonly scratch = new Scratch();

  constructor(readonly cfg: ModelConfig, rng: Rng, std: number) {
    super();
    this.gate = this.module('gate', new Gate(cfg, rng, std));
    this.experts = [];
    for (let e = 0; e < cfg.nRoutedExperts; e++) this.experts.push(this.module(`experts.${e}`, new MLP(cfg.hiddenSize, cfg.moeIntermediateSize, rng, std)));
    this.sharedExperts = cfg.nSharedExperts > 0
      ? this.module('shared_experts', new MLP(cfg.hiddenSize, cfg.nSharedExperts * cfg.moeIntermediateSize, rng, std))
      : null;
    this.load = new Float64Array(cfg.nRoutedExperts);
  }

  /**
   * Keeps only the routed experts [d.first, d.first + d.count) in this process (the others are
   * dropped from the module tree, so parameters, gradients and optimizer state cover only them) and
   * runs routed tokens through `d`. The gate and the shared experts stay whole (replicated).
   */
  shardExperts(d: ExpertDispatcher): void {
    const E = this.cfg.nRoutedExperts;
    if (this.dispatcher) throw new Error('MoE.shardExperts: the experts are already sharded');
    if (d.count < 1 || d.first < 0 || d.first + d.count > E) throw new Error(`MoE.shardExperts: experts [${d.first}, ${d.first + d.count}) are not within the ${E} routed experts`);
    for (let e = 0; e < E; e++) if (e < d.first || e >= d.first + d.count) this.removeModule(`experts.${e}`);
    this.experts.splice(0, E, ...this.experts.slice(d.first, d.first + d.count));
    this.dispatcher = d;
  }

  /** Every held expert's SwiGLU as grouped GEMMs: xe [R, D] with expert j (of this.experts) on rows [offsets[j], offsets[j+1]) → [R, D]. */
  private groupedExperts(xe: Tensor, offsets: Int32Array): Tensor {
    const I = this.cfg.moeIntermediateSize, D = this.cfg.hiddenSize, n = this.experts.length;
    const w13 = reshape(concat(this.experts.flatMap((m) => [m.gateProj.weight, m.upProj.weight]), 0), [n, 2 * I, D]);
    const w2 = reshape(concat(this.experts.map((m) => m.downProj.weight), 0), [n, D, I]);
    return groupedLinear(swiglu(groupedLinear(xe, w13, offsets)), w2, offsets);
  }

  /**
   * The held experts on rows they received from every rank (expert parallelism): xe [R, D], expert j
   * on rows [offsets[j], offsets[j+1]). Training always takes the grouped GEMMs (every rank records
   * the same graph); inference chooses as the one-process forward does (16-bit resident weights: the
   * grouped 16-bit calls; few rows: the experts that received rows, one by one).
   */
  private heldExperts(xe: Tensor, offsets: Int32Array): Tensor {
    const R = xe.shape[0], n = this.experts.length;
    const grouped = !this.dispatcher?.replicated ||
      (R >= MoE.groupedMinRowsPerExpert * n && !this.experts.some((m) => m.gateProj.weight16 || m.upProj.weight16 || m.downProj.weight16));
    if (grouped) return this.groupedExperts(xe, offsets);
    if (R > 0 && this.experts.some((m) => m.gateProj.weight16)) {
      const ys16 = this.groupedExperts16(xe, offsets);
      if (ys16) return ys16;
    }
    const parts: Tensor[] = [];
    for (let j = 0; j < n; j++) if (offsets[j + 1] > offsets[j]) parts.push(this.experts[j].forward(slice(xe, 0, offsets[j], offsets[j + 1])));
    return parts.length === 0 ? Tensor.empty([0, this.cfg.hiddenSize]) : parts.length === 1 ? parts[0] : concat(parts, 0);
  }

  /**
   * The same with 16-bit resident weights, without stacking them: gate_proj and up_proj of every
   * expert that received rows in one grouped call (xe [R, D] → [R, 2I], gate in columns [0, I), up in
   * [I, 2I)), the fused SwiGLU, then every down_proj in a second call (→ [R, D]). Null when some
   * expert's projections are not all 16-bit of one dtype (then the experts run one by one).
   */
  private groupedExperts16(xe: Tensor, offsets: Int32Array): Tensor | null {
    const I = this.cfg.moeIntermediateSize, D = this.cfg.hiddenSize;
    const up: Linear16Part[] = [], down: Linear16Part[] = [];
    let dtype: string | null = null;
    for (let e = 0; e < this.experts.length; e++) {
      const r0 = offsets[e], rows = offsets[e + 1] - r0;
      if (rows === 0) continue;
      const m = this.experts[e];
      const g = m.gateProj.weight16, u = m.upProj.weight16, d = m.downProj.weight16;
      if (!g || !u || !d || m.gateProj.bias || m.upProj.bias || m.downProj.bias) return null;
      dtype ??= g.dtype;
      if (g.dtype !== dtype || u.dtype !== dtype || d.dtype !== dtype) return null;
      up.push({ r0, rows, col: 0, weight: g }, { r0, rows, col: I, weight: u });
      down.push({ r0, rows, col: 0, weight: d });
    }
    return groupedLinear16(swiglu(groupedLinear16(xe, up, 2 * I)), down, D);
  }

  /** x [B, T, D] → [B, T, D]. */
  forward(x: Tensor): Tensor {
    const [B, T, D] = x.shape;
    const N = B * T;
    const flat = reshape(x, [N, D]);
    const rep = this.dispatcher?.replicated;
    if (rep) {
      // Expert-parallel inference: the ranks hold the same tokens, each routes its block of them
      // through the all-to-all (every rank's experts see every token once) and the blocks' outputs
      // are all-gathered, so every rank continues with the whole [N, D].
      const [a, b] = rep.tokenBlock(N);
      this.lastBalanceLoss = null;
      return reshape(rep.gatherRows(this.forwardRows(slice(flat, 0, a, b), 0, 0), N), [B, T, D]);
    }
    const y = this.forwardRows(flat, B, T);
    return reshape(y, [B, T, D]);
  }

  /** flat [N, D] (B rows of T tokens; B = T = 0 when not whole sequences) → [N, D]. */
  private forwardRows(flat: Tensor, B: number, T: number): Tensor {
    const [N, D] = flat.shape;
    const E = this.cfg.nRoutedExperts, k = this.cfg.numExpertsPerTok;
    if (N === 0) {
      // No tokens here (expert-parallel inference with fewer tokens than ranks): the experts held
      // here still serve the other ranks' rows, so the all-to-all is joined with nothing to send.
      this.dispatcher!.dispatch(Tensor.empty([0, D]), new Int32Array(E), (xe, offsets) => this.heldExperts(xe, offsets));
      return Tensor.empty([0, D]);
    }
    if (arrayPathsApply() && !this.training && !this.dispatcher && N * k < MoE.groupedMinRowsPerExpert * E &&
      !this.experts.some((m) => m.gateProj.weight16 || m.upProj.weight16 || m.downProj.weight16)) return this.forwardFew(flat);
    const { indices, weights, scores } = this.gate.forward(flat);
    const idx = indices.i32();

    // Group the N·k (token, slot) assignments by expert: a counting sort keeps token order within an expert.
    const counts = new Int32Array(E);
    for (let a = 0; a < N * k; a++) counts[idx[a]]++;
    const start = new Int32Array(E + 1);
    for (let e = 0; e < E; e++) start[e + 1] = start[e] + counts[e];
    const fill = start.slice(0, E);
    const tokenOf = new Int32Array(N * k); // sorted position → token
    const slotOf = new Int32Array(N * k); // sorted position → flat (token, slot) index into weights
    for (let a = 0; a < N * k; a++) {
      const p = fill[idx[a]]++;
      tokenOf[p] = Math.floor(a / k);
      slotOf[p] = a;
    }
    if (this.training) for (let e = 0; e < E; e++) this.load[e] += counts[e];

    const xs = indexSelect(flat, 0, tokenOf); // [N·k, D] tokens ordered by expert
    let ys: Tensor[];
    let ys16: Tensor | null = null;
    if (this.dispatcher) {
      // Expert parallelism: rows travel to the ranks holding their experts and back (all-to-all).
      ys = [this.dispatcher.dispatch(xs, counts, (xe, offsets) => this.heldExperts(xe, offsets), { indices: idx, k })];
    } else if (this.experts.some((m) => m.gateProj.weight16 || m.upProj.weight16 || m.downProj.weight16) && (ys16 = this.groupedExperts16(xs, start))) {
      // 16-bit resident weights: every active expert in two grouped native calls, decode and prefill alike
      // (no stacked copy of the weights is made, so there is no minimum row count).
      ys = [ys16];
    } else if (N * k >= MoE.groupedMinRowsPerExpert * E && !this.experts.some((m) => m.gateProj.weight16 || m.upProj.weight16 || m.downProj.weight16)) {
      // Every expert's SwiGLU at once: grouped GEMMs over the stacked expert weights, expert e on rows
      // [start[e], start[e+1]) — the same math as experts[e].forward on its slice, in two native calls.
      ys = [this.groupedExperts(xs, start)]; // [N·k, D]
    } else {
      // Few tokens (decode): stacking all E experts' weights would cost more than the matmuls, so
      // only the experts that received tokens run, one by one (also 16-bit weights of mixed dtypes).
      ys = [];
      for (let e = 0; e < E; e++) if (counts[e] > 0) ys.push(this.experts[e].forward(slice(xs, 0, start[e], start[e + 1])));
    }
    const w = indexSelect(reshape(weights, [N * k]), 0, slotOf); // [N·k] gate weights in dispatch order
    let y = weightedIndexAdd(N, ys, w, tokenOf); // [N, D]: Σ_i g_i FFN_i(u), one fused pass
    if (this.sharedExperts) y = add(y, this.sharedExperts.forward(flat));

    this.lastBalanceLoss = this.training && this.cfg.auxLossAlpha > 0 && B > 0 ? this.balanceLoss(scores, idx, B, T) : null;
    return y;
  }

  /**
   * Inference with few routed rows (decode: fewer than groupedMinRowsPerExpert per expert), float32
   * weights, every expert in this process, eval mode: forwardRows' one-by-one branch without its tensor
   * ops around the experts — the routing on plain arrays (Gate.route), each chosen expert on copies of
   * its rows (MLP.forwardArrays where it applies), the outputs combined by the same weighted scatter-add
   * kernel in the same order, then the shared experts added by the add kernel. The same values as
   * forwardRows, bit for bit. flat [N, D] → [N, D].
   */
  private forwardFew(flat: Tensor): Tensor {
    const [N, D] = flat.shape;
    const E = this.cfg.nRoutedExperts, k = this.cfg.numExpertsPerTok;
    const { idx, weights } = this.gate.route(flat);
    // Group the N·k (token, slot) assignments by expert, token order within an expert (as forwardRows).
    const counts = new Int32Array(E);
    for (let a = 0; a < N * k; a++) counts[idx[a]]++;
    const start = new Int32Array(E + 1);
    for (let e = 0; e < E; e++) start[e + 1] = start[e] + counts[e];
    const fill = start.slice(0, E);
    const tokenOf = new Int32Array(N * k), w = new Float32Array(N * k); // sorted position → token, gate weight
    for (let a = 0; a < N * k; a++) {
      const p = fill[idx[a]]++;
      tokenOf[p] = Math.floor(a / k);
      w[p] = weights[a];
    }
    const x = contiguous(flat).f32();
    const kern = backend();
    const s = this.scratch;
    const arrays = N < MLP.stackedMinRows && (!this.sharedExperts || this.sharedExperts.arraysSupported());
    const y = arrays ? Tensor.empty([N, D]) : Tensor.zeros([N, D]);
    const yf = y.f32();
    const routed = arrays ? s.get('routed', N * D).fill(0) : yf; // Σ_i g_i FFN_i(u)
    for (let e = 0; e < E; e++) {
      const rows = counts[e], s0 = start[e];
      if (rows === 0) continue;
      const m = this.experts[e];
      if (arrays && m.arraysSupported()) {
        let xe = x; // one token: its row is the input (an expert is chosen at most once per token)
        if (N > 1) {
          xe = s.get('xe', rows * D);
          for (let r = 0; r < rows; r++) xe.set(x.subarray(tokenOf[s0 + r] * D, (tokenOf[s0 + r] + 1) * D), r * D);
        }
        const ye = s.get('ye', rows * D);
        m.forwardArrays(xe, rows, ye, s);
        kern.weightedIndexAdd(N, D, rows, routed, ye, w.subarray(s0, s0 + rows), tokenOf.subarray(s0, s0 + rows));
        continue;
      }
      let xe = flat;
      if (N > 1) {
        xe = Tensor.empty([rows, D]);
        const xd = xe.f32();
        for (let r = 0; r < rows; r++) xd.set(x.subarray(tokenOf[s0 + r] * D, (tokenOf[s0 + r] + 1) * D), r * D);
      }
      const ye = contiguous(m.forward(xe)).f32();
      kern.weightedIndexAdd(N, D, rows, routed, ye, w.subarray(s0, s0 + rows), tokenOf.subarray(s0, s0 + rows));
    }
    if (!arrays) return this.sharedExperts ? add(y, this.sharedExperts.forward(flat)) : y;
    if (!this.sharedExperts) { yf.set(routed); return y; }
    // y = routed + shared, the elementwise add kernel of `add`
    const sh = s.get('shared', N * D);
    this.sharedExperts.forwardArrays(x, N, sh, s);
    const n = Int32Array.of(N * D);
    kern.binary('add', n, yf, routed, UNIT_STRIDE, sh, UNIT_STRIDE);
    return y;
  }

  /**
   * Sequence-wise balance loss (V3 eqs. 17–20): per sequence, f_i = N_r/(K_r·T) Σ_t 1[i ∈ TopK_t],
   * P_i = (1/T) Σ_t s'_{i,t} with s' = s / Σ_j s_j; L = α Σ_i f_i P_i, averaged over sequences.
   */
  balanceLoss(scores: Tensor, idx: Int32Array, B: number, T: number): Tensor {
    const E = this.cfg.nRoutedExperts, k = this.cfg.numExpertsPerTok;
    const f = new Float32Array(B * E);
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) for (let j = 0; j < k; j++) f[b * E + idx[(b * T + t) * k + j]] += 1;
      for (let e = 0; e < E; e++) f[b * E + e] *= E / (k * T);
    }
    const s = reshape(scores, [B, T, E]);
    const sNorm = div(s, sum(s, -1, true));
    const P = mean(sNorm, 1); // [B, E]
    const fT = Tensor.from(f, [B, E]);
    return mulScalar(sum(mul(fT, P)), this.cfg.auxLossAlpha / B);
  }

  /** Returns the accumulated load statistics and resets them. */
  takeLoad(): ExpertLoad {
    const counts = Array.from(this.load);
    this.load.fill(0);
    return expertLoad(counts);
  }

  /**
   * Auxiliary-loss-free balancing: b_i −= γ if expert i is overloaded, += γ if underloaded
   * (b_i += γ·sign(mean − load_i), as Megatron implements V3's rule). No gradient.
   */
  updateBias(counts: readonly number[], gamma: number): void {
    if (!this.gate.bias || gamma === 0) return;
    const b = this.gate.bias.f32();
    const m = counts.reduce((a, c) => a + c, 0) / counts.length;
    for (let e = 0; e < counts.length; e++) b[e] += gamma * Math.sign(m - counts[e]);
  }
}
