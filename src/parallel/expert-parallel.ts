// Expert parallelism as DeepSeek-V3 trains (§3.1–3.2): the routed experts of every MoE layer are
// spread over the EP ranks (E/N each, contiguous: rank r holds experts [r·E/N, (r+1)·E/N)); the
// gate, the shared experts and everything else are replicated. Per MoE layer:
//
//   dispatch  rows sorted by expert → MPI_Alltoall of the per-expert counts (each rank learns how many
//             rows of each of its experts every peer sends) → MPI_Alltoallv of the rows
//   compute   the received rows regrouped by local expert → grouped GEMMs (src/ops/grouped-linear.ts)
//   combine   outputs back in arrival order → MPI_Alltoallv with the counts swapped → the source rank
//             applies the gate weights (weightedIndexAdd in MoE.forward)
//
// Both all-to-alls are one autograd op (`allToAllRows`) whose backward is the reverse all-to-all, so
// backward mirrors forward. Every rank records the same ops in the same order, so the collectives
// of backward line up across ranks.
//
// EP composes with data parallelism: world = DP × EP ranks, rank = d·EP + e. The EP group of rank
// (d, e) is {(d, ·)}; the expert-replica group is {(·, e)}. Batches are sharded over the whole world
// (V3's EP ranks each train on their own data), non-expert gradients are all-reduced over the world,
// expert gradients only over their DP replicas.
//
// Inference (`tinyseek serve --ep`, src/parallel/expert-serving.ts): every rank runs the same batch
// (rank 0 broadcasts each forward), so the layer's N tokens are split into W blocks, each rank
// routing its block through the same dispatch/combine, and the blocks' outputs are all-gathered.
//
// Node-limited routing (V3 §2.1.2): with G "nodes" of EP/G ranks each, node g holds experts
// [g·E/G, (g+1)·E/G) — exactly the gate's expert group g when n_group = G — so the gate's
// group-limited top-k (topk_group = M groups) sends every token to at most M nodes.
import { Tensor } from '../tensor/tensor.js';
import { contiguous, indexSelect } from '../ops/index.js';
import { backend } from '../backend/index.js';
import type { ExpertDispatcher } from '../model/moe.js';
import type { DeepseekV3 } from '../model/model.js';
import type { ModelConfig } from '../model/config.js';
import type { Communicator } from './mpi.js';

/** What an expert-parallel layout needs from the command line. */
export interface ExpertLayoutRequest {
  world: number;
  dp: number;
  ep: number;
  /** Node count for node-limited routing (V3's M-node limit = the config's topk_group). */
  epGroups?: number;
}

/**
 * The reason a DP × EP layout cannot run this model, or null. Pure (no MPI), so that every rank
 * reaches the same verdict before MPI starts.
 */
export function expertLayoutProblem(cfg: ModelConfig, l: ExpertLayoutRequest): string | null {
  if (l.dp * l.ep !== l.world) return `--dp ${l.dp} × --ep ${l.ep} = ${l.dp * l.ep} ranks, but mpirun started ${l.world}; the world size must equal DP × EP`;
  if (l.ep === 1) return l.epGroups && l.epGroups > 1 ? `--ep-groups ${l.epGroups} groups expert-parallel ranks into nodes; it needs --ep N with N > 1` : null;
  const E = cfg.nRoutedExperts;
  if (E === 0) return `--ep ${l.ep} spreads routed experts over ranks, but the model has none (n_routed_experts = 0)`;
  if (E % l.ep !== 0) return `--ep ${l.ep} does not divide the model's ${E} routed experts (n_routed_experts); choose an EP size that divides ${E}`;
  const G = l.epGroups ?? 1;
  if (G > 1) {
    if (l.ep % G !== 0) return `--ep-groups ${G} does not divide the ${l.ep} expert-parallel ranks into equal nodes`;
    if (cfg.topkMethod === 'greedy' || cfg.nGroup !== G) {
      return `--ep-groups ${G}: node-limited routing maps the gate's expert groups onto nodes, so n_group must equal ${G} (found n_group ${cfg.nGroup}, topk_method ${cfg.topkMethod}); ` +
        `set n_group = ${G} and topk_group = M (the node limit) in model.overrides`;
    }
  }
  return null;
}

/** Rows a rank exchanged with the others, and the time spent in the all-to-alls. */
export interface AllToAllStats {
  /** MoE layer forwards dispatched. */
  layers: number;
  /** Bytes this rank sent to other ranks (its own block excluded): dispatch, combine, and both in backward. */
  dispatchBytes: number;
  combineBytes: number;
  backwardBytes: number;
  /** Seconds inside MPI_Alltoall(v) (forward and backward). */
  seconds: number;
  /** Routed (token, expert) rows of this rank's tokens, and the distinct ranks / nodes they went to (summed over tokens). */
  tokens: number;
  rows: number;
  distinctRanks: number;
  distinctNodes: number;
  /** Distinct nodes other than this rank's own (what crosses between nodes when a token is sent once per node, as V3's dispatch). */
  remoteNodes: number;
}

/** Zeroed statistics. */
export function emptyAllToAllStats(): AllToAllStats {
  return { layers: 0, dispatchBytes: 0, combineBytes: 0, backwardBytes: 0, seconds: 0, tokens: 0, rows: 0, distinctRanks: 0, distinctNodes: 0, remoteNodes: 0 };
}

/** Element displacements of row blocks. */
function displs(rows: Int32Array, D: number): { counts: Int32Array; displs: Int32Array } {
  const counts = new Int32Array(rows.length), d = new Int32Array(rows.length);
  let o = 0;
  for (let r = 0; r < rows.length; r++) {
    counts[r] = rows[r] * D;
    d[r] = o;
    o += counts[r];
  }
  return { counts, displs: d };
}

function exchange(comm: Communicator, src: Float32Array, sendRows: Int32Array, dst: Float32Array, recvRows: Int32Array, D: number, stats: AllToAllStats | null, key: 'dispatchBytes' | 'combineBytes' | 'backwardBytes'): void {
  const s = displs(sendRows, D), r = displs(recvRows, D);
  const t0 = performance.now();
  comm.alltoallv(src, s.counts, s.displs, dst, r.counts, r.displs);
  if (!stats) return;
  stats.seconds += (performance.now() - t0) / 1000;
  for (let p = 0; p < sendRows.length; p++) if (p !== comm.rank) stats[key] += s.counts[p] * 4;
}

/**
 * x [S, D] whose row block p (sendRows[p] rows, in rank order) goes to rank p → [R, D], the blocks
 * received from every rank in rank order (recvRows[p] rows from p). MPI_Alltoallv; backward sends
 * the gradient rows back the same way (counts swapped). Collective over `comm`.
 */
export function allToAllRows(x: Tensor, sendRows: Int32Array, recvRows: Int32Array, comm: Communicator, stats: AllToAllStats | null = null, key: 'dispatchBytes' | 'combineBytes' = 'dispatchBytes'): Tensor {
  const [S, D] = x.shape;
  const R = recvRows.reduce((a, b) => a + b, 0);
  if (sendRows.reduce((a, b) => a + b, 0) !== S) throw new Error(`allToAllRows: the send counts add up to ${sendRows.reduce((a, b) => a + b, 0)} rows, x has ${S}`);
  const xc = contiguous(x);
  const y = Tensor.empty([R, D]);
  exchange(comm, xc.f32(), sendRows, y.f32(), recvRows, D, stats, key);
  return y.withNode([xc], () => ({
    op: 'allToAllRows', inputs: [xc],
    backward: (g) => {
      const gc = contiguous(g);
      const gx = Tensor.empty([S, D]);
      exchange(comm, gc.f32(), recvRows, gx.f32(), sendRows, D, stats, 'backwardBytes');
      return [gx];
    },
  }));
}

/**
 * This rank's block [start, end) of N tokens every rank of `comm` holds (expert-parallel inference):
 * contiguous blocks, sizes differing by at most one (ranks past N get none).
 */
export function tokenBlock(N: number, rank: number, size: number): [number, number] {
  return [Math.floor((rank * N) / size), Math.floor(((rank + 1) * N) / size)];
}

/**
 * Inference over an EP group whose ranks hold the same tokens: every rank's blocks of rows (see
 * tokenBlock) all-gathered into [N, D] (MPI_Allgatherv). No gradient.
 */
export function gatherTokenBlocks(comm: Communicator, y: Tensor, N: number): Tensor {
  const D = y.shape[1];
  const counts = new Int32Array(comm.size), displs = new Int32Array(comm.size);
  for (let r = 0; r < comm.size; r++) {
    const [a, b] = tokenBlock(N, r, comm.size);
    counts[r] = (b - a) * D;
    displs[r] = a * D;
  }
  if (y.shape[0] * D !== counts[comm.rank]) throw new Error(`gatherTokenBlocks: rank ${comm.rank} holds ${y.shape[0]} rows, its block of ${N} tokens has ${counts[comm.rank] / D}`);
  const out = Tensor.empty([N, D]);
  const buf = out.f32();
  buf.set(contiguous(y).f32(), displs[comm.rank]);
  comm.allgatherv(buf, counts, displs);
  return out;
}

/** The all-to-all dispatch and combine of one MoE layer's routed rows over an EP group. */
export class AllToAllDispatcher implements ExpertDispatcher {
  readonly first: number;
  readonly count: number;
  /** Set for inference with the same tokens on every rank (see ExpertDispatcher.replicated). */
  readonly replicated?: ExpertDispatcher['replicated'];
  constructor(readonly comm: Communicator, readonly nExperts: number, readonly stats: AllToAllStats, readonly nodes = 1, replicatedTokens = false) {
    this.count = nExperts / comm.size;
    this.first = comm.rank * this.count;
    if (replicatedTokens) {
      this.replicated = {
        tokenBlock: (N) => tokenBlock(N, comm.rank, comm.size),
        gatherRows: (y, N) => gatherTokenBlocks(comm, y, N),
      };
    }
  }

  dispatch(xs: Tensor, counts: Int32Array, run: (xe: Tensor, offsets: Int32Array) => Tensor, route?: { indices: Int32Array; k: number }): Tensor {
    const W = this.comm.size, c = this.count, E = this.nExperts;
    if (counts.length !== E) throw new Error(`AllToAllDispatcher: expected ${E} expert counts, found ${counts.length}`);
    // Counts first: block p of `counts` is the rows of p's experts; recv[s·c + j] = rows s sends for my expert j.
    const t0 = performance.now();
    const recv = this.comm.alltoall(Int32Array.from(counts), new Int32Array(E));
    this.stats.seconds += (performance.now() - t0) / 1000;
    const sendRows = new Int32Array(W), recvRows = new Int32Array(W);
    for (let p = 0; p < W; p++) for (let j = 0; j < c; j++) {
      sendRows[p] += counts[p * c + j];
      recvRows[p] += recv[p * c + j];
    }
    this.stats.layers++;
    if (route) this.observe(route.indices, route.k);
    const xr = allToAllRows(xs, sendRows, recvRows, this.comm, this.stats, 'dispatchBytes'); // [R, D] by source, then expert

    // Regroup by local expert (expert j's rows from source 0, 1, …, i.e. in global token order).
    const R = xr.shape[0];
    const offsets = new Int32Array(c + 1);
    for (let j = 0; j < c; j++) {
      let n = 0;
      for (let p = 0; p < W; p++) n += recv[p * c + j];
      offsets[j + 1] = offsets[j] + n;
    }
    const perm = new Int32Array(R); // expert-major position → arrival position
    let identity = true;
    {
      const fill = offsets.slice(0, c);
      let a = 0;
      for (let p = 0; p < W; p++) for (let j = 0; j < c; j++) for (let i = 0; i < recv[p * c + j]; i++) {
        const q = fill[j]++;
        perm[q] = a;
        if (q !== a) identity = false;
        a++;
      }
    }
    let ye: Tensor;
    if (identity) ye = run(xr, offsets);
    else {
      const inv = new Int32Array(R);
      for (let q = 0; q < R; q++) inv[perm[q]] = q;
      ye = indexSelect(run(indexSelect(xr, 0, perm), offsets), 0, inv); // back to arrival order
    }
    return allToAllRows(ye, recvRows, sendRows, this.comm, this.stats, 'combineBytes'); // [M, D] in xs's order
  }

  /** Routing statistics: per token, the distinct EP ranks and nodes its experts live on. */
  private observe(idx: Int32Array, k: number): void {
    const N = idx.length / k, c = this.count, perNode = this.comm.size / this.nodes;
    const home = Math.floor(this.comm.rank / perNode);
    const seenR = new Set<number>(), seenN = new Set<number>();
    for (let t = 0; t < N; t++) {
      seenR.clear();
      seenN.clear();
      for (let j = 0; j < k; j++) {
        const r = Math.floor(idx[t * k + j] / c);
        seenR.add(r);
        seenN.add(Math.floor(r / perNode));
      }
      this.stats.distinctRanks += seenR.size;
      this.stats.distinctNodes += seenN.size;
      this.stats.remoteNodes += seenN.size - (seenN.has(home) ? 1 : 0);
    }
    this.stats.tokens += N;
    this.stats.rows += N * k;
  }
}

/** The communicators of a DP × EP run. */
export class ExpertParallel {
  /** This rank's expert-parallel group (ranks holding the other experts, same DP index). */
  readonly ep: Communicator;
  /** This rank's expert replicas (same EP index, every DP index): expert gradients are summed here. */
  readonly replicas: Communicator;
  readonly stats = emptyAllToAllStats();

  constructor(readonly world: Communicator, readonly epSize: number, readonly nodes = 1) {
    if (world.size % epSize !== 0) throw new Error(`ExpertParallel: ${epSize} does not divide the world of ${world.size}`);
    const d = Math.floor(world.rank / epSize), e = world.rank % epSize;
    this.ep = world.split(d, e)!;
    this.replicas = world.split(e, d)!;
  }

  /** Data-parallel degree (copies of each expert). */
  get dpSize(): number {
    return this.replicas.size;
  }

  /**
   * Drops the experts other EP ranks hold from every MoE layer (the MTP layers' included) and routes
   * through all-to-alls. `replicatedTokens` (inference, `serve --ep`): every rank runs the same
   * tokens, each routing its block of them (ExpertDispatcher.replicated).
   */
  shard(model: DeepseekV3, replicatedTokens = false): void {
    for (const moe of model.allMoeLayers()) moe.shardExperts(new AllToAllDispatcher(this.ep, model.cfg.nRoutedExperts, this.stats, this.nodes, replicatedTokens));
  }

  /** Resets and returns the all-to-all statistics gathered since the last call. */
  takeStats(): AllToAllStats {
    const s = { ...this.stats };
    Object.assign(this.stats, emptyAllToAllStats());
    return s;
  }

  /**
   * The full tensors from EP-sharded ones: every `….experts.{e}.…` entry is all-gathered over the EP
   * group (each rank holds the same names for its own experts), the rest passed through. Collective
   * over the EP group; `entries` must be in the same order on every rank (model order).
   */
  gatherExperts(entries: [string, Float32Array][], nExperts: number): Map<string, Float32Array> {
    const W = this.ep.size, c = nExperts / W, first = this.ep.rank * c;
    const out = new Map<string, Float32Array>();
    const groups = new Map<string, Float32Array[]>(); // "prefix|suffix" → local experts' data in order
    const re = /^(.*\.experts\.)(\d+)(\..*)$/;
    for (const [name, data] of entries) {
      const m = re.exec(name);
      if (!m) {
        out.set(name, data);
        continue;
      }
      const key = `${m[1]}|${m[3]}`;
      const j = Number(m[2]) - first;
      if (j < 0 || j >= c) throw new Error(`gatherExperts: ${name} is not one of this rank's experts [${first}, ${first + c})`);
      (groups.get(key) ?? groups.set(key, []).get(key)!)[j] = data;
    }
    for (const [key, parts] of groups) {
      const n = parts[0].length;
      const send = new Float32Array(c * n);
      parts.forEach((p, j) => send.set(p, j * n));
      const all = this.ep.allgather(send, new Float32Array(W * c * n));
      const [prefix, suffix] = key.split('|');
      for (let e = 0; e < W * c; e++) out.set(`${prefix}${e}${suffix}`, all.subarray(e * n, (e + 1) * n));
    }
    return out;
  }

  /**
   * The global gradient norm: non-expert gradients are already equal on every rank (all-reduced over
   * the world), expert gradients are split over the EP group, so their squares are summed over it.
   * Clips every local gradient by the same factor. Returns the norm.
   */
  clipGradNorm(params: [string, Tensor][], maxNorm: number): number {
    const k = backend();
    let shared = 0, own = 0;
    for (const [n, p] of params) {
      if (!p.grad) continue;
      const s = k.sumSquares(p.numel, p.grad.f32());
      if (isExpertParam(n)) own += s;
      else shared += s;
    }
    const ss = shared + this.ep.allreduce(Float64Array.of(own), 'sum')[0];
    const norm = Math.sqrt(ss);
    if (Number.isFinite(norm) && norm > maxNorm && maxNorm > 0) {
      const c = maxNorm / (norm + 1e-6);
      for (const [, p] of params) if (p.grad) k.unary('mulScalar', p.numel, p.grad.f32(), p.grad.f32(), c);
    }
    return norm;
  }
}

/** Whether a parameter name is a routed expert's (sharded under EP). */
export function isExpertParam(name: string): boolean {
  return /\.mlp\.experts\.\d+\./.test(name);
}
