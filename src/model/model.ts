// DeepSeek-V3 for causal LM: embedding → decoder layers → final norm → lm_head, plus the MTP
// modules. Stages are separate methods (embed / layer ranges / head) so that a pipeline stage is a
// contiguous range of layers.
import { cachePositions } from './slot-cache.js';
import { Tensor, Rng, noGrad } from '../tensor/index.js';
import { Module } from '../nn/module.js';
import { runStack } from '../nn/residual.js';
import { Embedding, Linear, RMSNorm } from '../nn/layers.js';
import type { ModelConfig } from './config.js';
import { validateConfig } from './config.js';
import { checkModelFitsMemory } from './shapes.js';
import { Block } from './block.js';
import { MTPModule } from './mtp.js';
import { MoE } from './moe.js';
import type { ExpertLoad } from './moe.js';
import type { AttnContext, AttnImpl } from './mla.js';
import type { CacheView } from './cache.js';
import { KVCache } from './cache.js';
import type { CausalLM } from './causal-lm.js';
import { ropeTables } from '../ops/rope.js';
import type { RopeTables } from '../ops/rope.js';
import { crossEntropy, linear, slice, add, mulScalar, contiguous } from '../ops/index.js';
import { TensorError, fmtShape } from '../tensor/errors.js';

/** Options of a forward pass. */
export interface ForwardOptions {
  /** MLA form (default: naive without a cache, absorb with one). */
  impl?: AttnImpl;
  /** Read/append the KV cache for these slots (generation). */
  cache?: CacheView;
  /** Only compute logits of the last position of each row (generation). */
  lastOnly?: boolean;
  /** Packed rows: attend only within each document (a document starts at every BOS token). */
  documentMask?: boolean;
}

/** Output of a forward pass. */
export interface ForwardResult {
  /** [B, T, V] or [B, 1, V] with lastOnly. */
  logits: Tensor;
  /** Final hidden states after the final norm (the input of lm_head), [B, T, D]. */
  hidden: Tensor;
}

/** Loss terms of a training step. */
/** Options of `DeepseekV3.loss`. */
export interface LossOptions {
  /** λ of the MTP term (default 0.3). */
  mtpWeight?: number;
  /** Per-target weights [B, T] (0 masks a target). */
  weights?: Tensor;
  ignoreIndex?: number;
  documentMask?: boolean;
  /** Global normalizers (data parallelism); the terms are then this batch's share of the global loss. */
  denominators?: LossDenominators;
}

export interface LossResult {
  /** Total: main CE + λ·MTP + balance losses. */
  loss: Tensor;
  ce: number;
  mtp: number;
  balance: number;
  tokens: number;
}

/**
 * The normalizers of the loss terms for a batch: `ce` = Σ target weights over counted targets (their
 * number without weights), `mtp[k−1]` = counted targets of MTP depth k, `sequences` = B. Data
 * parallelism sums them over ranks and passes the totals to `loss`, so each rank's loss is its share
 * of the global batch's loss and the shares (and their gradients) add up to the single-process values.
 */
export interface LossDenominators {
  ce: number;
  mtp: number[];
  sequences: number;
}

/** The loss normalizers of targets tgt [B, T] (ignored entries already set to `ignore`) with optional weights. */
export function countTargets(tgt: Int32Array, w: Float32Array | null, B: number, T: number, depth: number, ignore: number): LossDenominators {
  let ce = 0;
  for (let i = 0; i < B * T; i++) if (tgt[i] !== ignore) ce += w ? w[i] : 1;
  const mtp: number[] = [];
  for (let k = 1; k <= depth && T - k > 0; k++) {
    let n = 0;
    for (let b = 0; b < B; b++) for (let t = k; t < T; t++) if (tgt[b * T + t] !== ignore) n++;
    mtp.push(n);
  }
  return { ce, mtp, sequences: B };
}

/**
 * Inputs ids[:, :T] and next-token targets ids[:, 1:] of ids [B, T+1]; targets of weight 0 become
 * `ignore` (the weights [B, T] returned flat, or null).
 */
export function nextTokenTargets(ids: Tensor, weights: Tensor | undefined, ignore: number): { inp: Int32Array; tgt: Int32Array; w: Float32Array | null } {
  const [B, T1] = ids.shape;
  const T = T1 - 1;
  const all = ids.i32();
  const inp = new Int32Array(B * T), tgt = new Int32Array(B * T);
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) {
    inp[b * T + t] = all[b * T1 + t];
    tgt[b * T + t] = all[b * T1 + t + 1];
  }
  let w: Float32Array | null = null;
  if (weights) {
    w = contiguous(weights).f32();
    for (let i = 0; i < B * T; i++) if (w[i] === 0) tgt[i] = ignore;
  }
  return { inp, tgt, w };
}

/**
 * Additive attention mask [B, T, T] for packed rows ids [B, rowLen] (the first T tokens of each row
 * are the positions): 0 where query i and key j belong to the same document, −∞ otherwise. A document
 * starts at every BOS token. (Llama-3-style intra-document attention; DeepSeek-V3 trained without it.)
 */
export function documentMask(ids: Int32Array, B: number, rowLen: number, T: number, bos: number): Tensor {
  const m = new Float32Array(B * T * T);
  const seg = new Int32Array(T);
  for (let b = 0; b < B; b++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      if (t > 0 && ids[b * rowLen + t] === bos) s++;
      seg[t] = s;
    }
    for (let i = 0; i < T; i++) {
      const row = (b * T + i) * T;
      for (let j = 0; j < T; j++) if (seg[j] !== seg[i]) m[row + j] = -Infinity;
    }
  }
  return Tensor.from(m, [B, T, T]);
}

/** The inner `model.*` module: embed_tokens, layers (incl. MTP layers), norm. */
class DeepseekV3Inner extends Module {
  readonly embedTokens: Embedding;
  readonly layers: Block[] = [];
  readonly mtp: MTPModule[] = [];
  readonly norm: RMSNorm;
  constructor(cfg: ModelConfig, rng: Rng, std: number) {
    super();
    this.embedTokens = this.module('embed_tokens', new Embedding(cfg.vocabSize, cfg.hiddenSize, rng, std));
    for (let l = 0; l < cfg.numHiddenLayers; l++) this.layers.push(this.module(`layers.${l}`, new Block(cfg, l, rng, std)));
    this.norm = this.module('norm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
    for (let k = 1; k <= cfg.numNextnPredictLayers; k++) this.mtp.push(this.module(`layers.${cfg.numHiddenLayers + k - 1}`, new MTPModule(cfg, k, rng, std)));
  }
}

/** DeepseekV3ForCausalLM (Hugging Face tensor names: `model.*`, `lm_head.weight`). */
export class DeepseekV3 extends Module implements CausalLM {
  readonly model: DeepseekV3Inner;
  readonly lmHead: Linear | null;
  readonly rope: RopeTables;

  constructor(readonly cfg: ModelConfig, seed = 0) {
    super();
    validateConfig(cfg);
    checkModelFitsMemory(cfg); // before allocating: a config too large for memory fails in milliseconds
    const rng = new Rng(seed);
    const std = typeof cfg.extra.initializer_range === 'number' ? cfg.extra.initializer_range : 0.02;
    this.model = this.module('model', new DeepseekV3Inner(cfg, rng, std));
    this.lmHead = cfg.tieWordEmbeddings ? null : this.module('lm_head', new Linear(cfg.hiddenSize, cfg.vocabSize, rng, { std }));
    this.rope = ropeTables(cfg.qkRopeHeadDim, cfg.ropeTheta, cfg.maxPositionEmbeddings, cfg.ropeScaling);
  }

  /** The head weight [V, D] (the embedding when tied). */
  headWeight(): Tensor {
    return this.lmHead ? this.lmHead.weight : this.model.embedTokens.weight;
  }

  /** Logits of normed hidden states h [..., D] → [..., V]: lm_head (which may be resident 16-bit) or the tied embedding. */
  logitsOf(h: Tensor): Tensor {
    return this.lmHead ? this.lmHead.forward(h) : linear(h, this.model.embedTokens.weight);
  }

  /** Embedding stage: ids [B, T] → h [B, T, D]. */
  embed(ids: Tensor): Tensor {
    return this.model.embedTokens.forward(ids);
  }

  /** Runs decoder layers [from, to) (a pipeline stage). */
  runLayers(h: Tensor, ctx: AttnContext, from = 0, to = this.cfg.numHiddenLayers): Tensor {
    return runStack(h, from, to, (x, l) => this.model.layers[l].forward(x, ctx));
  }

  /** Head stage: h [B, T, D] → normed hidden and logits [B, T, V]. */
  head(h: Tensor): ForwardResult {
    const hidden = this.model.norm.forward(h);
    return { hidden, logits: this.logitsOf(hidden) };
  }

  /** Builds the per-forward attention context (positions from the cache lengths when generating). */
  context(B: number, T: number, opts: ForwardOptions = {}, docMask?: Tensor): AttnContext {
    const { positions, starts } = cachePositions(B, T, opts.cache);
    return { positions, rope: this.rope, impl: opts.impl ?? (opts.cache ? 'absorb' : 'naive'), cache: opts.cache, starts, docMask };
  }

  /** ids int32 [B, T] → logits (all positions, or the last with lastOnly) and final hidden states. */
  forward(ids: Tensor, opts: ForwardOptions = {}): ForwardResult {
    if (ids.dtype !== 'i32' || ids.ndim !== 2) throw new TensorError('forward', `expected int32 token ids [B, T], found ${ids.dtype} ${fmtShape(ids.shape)}`);
    const [B, T] = ids.shape;
    const ctx = this.context(B, T, opts, opts.documentMask ? documentMask(ids.i32(), B, T, T, this.cfg.bosTokenId) : undefined);
    let h = this.runLayers(this.embed(ids), ctx);
    if (opts.lastOnly) h = slice(h, 1, T - 1, T);
    const out = this.head(h);
    if (opts.cache) for (const s of opts.cache.slots) opts.cache.cache.lengths[s] += T;
    return out;
  }

  /** Inputs, targets (ignored ones set to the ignore index) and weights of a batch ids [B, T+1]. */
  private targets(ids: Tensor, opts: LossOptions): { inp: Int32Array; tgt: Int32Array; w: Float32Array | null } {
    return nextTokenTargets(ids, opts.weights, opts.ignoreIndex ?? -100);
  }

  /** The loss normalizers of a batch (what `loss` divides by when no `denominators` are given). */
  lossDenominators(ids: Tensor, opts: LossOptions = {}): LossDenominators {
    const [B, T1] = ids.shape;
    const { tgt, w } = this.targets(ids, opts);
    const D = this.cfg.numNextnPredictLayers;
    return countTargets(tgt, w, B, T1 - 1, D > 0 && (opts.mtpWeight ?? 0.3) > 0 ? D : 0, opts.ignoreIndex ?? -100);
  }

  /**
   * What a training forward over ids [B, T+1] needs before the first layer: inputs ids[:, :T], the
   * attention context (positions, RoPE, document mask) and the loss normalizers (the global ones of a
   * data- or pipeline-parallel step when given). Every pipeline stage builds it from the micro-batch.
   */
  trainingContext(ids: Tensor, opts: LossOptions = {}): { inputs: Tensor; ctx: AttnContext; den: LossDenominators } {
    const [B, T1] = ids.shape;
    const T = T1 - 1;
    const ignore = opts.ignoreIndex ?? -100;
    const { inp, tgt, w } = this.targets(ids, opts);
    const D = this.cfg.numNextnPredictLayers;
    const lambda = opts.mtpWeight ?? 0.3;
    // Local normalizers, or the global ones of a data-parallel step (this rank's share of the loss).
    const den = opts.denominators ?? countTargets(tgt, w, B, T, D > 0 && lambda > 0 ? D : 0, ignore);
    const docMask = opts.documentMask ? documentMask(ids.i32(), B, T1, T, this.cfg.bosTokenId) : undefined;
    return { inputs: Tensor.ints(inp, [B, T]), ctx: this.context(B, T, {}, docMask), den };
  }

  /**
   * The training loss for ids [B, T+1] viewed as inputs ids[:, :T] and next-token targets ids[:, 1:]:
   * CE + (λ/D)·Σ_k MTP_k + Σ balance losses. `weights` [B, T] (optional) weight each target token
   * (0 masks it, e.g. prompt tokens in SFT); target positions equal to `ignoreIndex` are skipped.
   */
  loss(ids: Tensor, opts: LossOptions = {}): LossResult {
    const { inputs, ctx, den } = this.trainingContext(ids, opts);
    const h = this.runLayers(this.embed(inputs), ctx);
    const head = this.headLoss(h, ids, { ...opts, denominators: den }, ctx);
    const bal = this.balanceLoss(this.moeLayers(), ids.shape[0], opts.denominators ? den : undefined, head.loss);
    return { loss: bal ? bal.loss : head.loss, ce: head.ce, mtp: head.mtp, balance: bal ? bal.value : 0, tokens: head.tokens };
  }

  /**
   * The loss terms on top of the decoder layers (a pipeline's last stage): final norm, lm_head and the
   * CE of h [B, T, D] (the last layer's output for ids [B, T+1]), then the MTP depths, each reading the
   * embeddings of the shifted tokens. Normalized by `opts.denominators` (required: the caller's batch).
   */
  headLoss(h: Tensor, ids: Tensor, opts: LossOptions & { denominators: LossDenominators }, ctx: AttnContext): { loss: Tensor; ce: number; mtp: number; tokens: number } {
    const [B, T1] = ids.shape;
    const T = T1 - 1;
    const ignore = opts.ignoreIndex ?? -100;
    const all = ids.i32();
    const { tgt } = this.targets(ids, opts);
    const D = this.cfg.numNextnPredictLayers;
    const lambda = opts.mtpWeight ?? 0.3;
    const den = opts.denominators;
    const docMask = ctx.docMask;
    const { hidden, logits } = this.head(h);
    const targets = Tensor.ints(tgt, [B, T]);
    const ce = mulScalar(crossEntropy(logits, targets, { ignoreIndex: ignore, weights: opts.weights, reduction: 'sum' }), den.ce > 0 ? 1 / den.ce : 0);
    let total = ce;

    // MTP depth k at position i sees h_i and Emb(t_{i+k}) and predicts t_{i+k+1}.
    let mtpSum = 0;
    if (D > 0 && lambda > 0) {
      let hPrev = hidden;
      for (let k = 1; k <= D && T - k > 0; k++) {
        const Tk = T - k;
        const m = this.model.mtp[k - 1];
        const embIds = new Int32Array(B * Tk), mt = new Int32Array(B * Tk);
        for (let b = 0; b < B; b++) for (let i = 0; i < Tk; i++) {
          embIds[b * Tk + i] = all[b * T1 + i + k];
          mt[b * Tk + i] = tgt[b * T + i + k];
        }
        const hk = m.forward(slice(hPrev, 1, 0, Tk), this.embed(Tensor.ints(embIds, [B, Tk])), this.context(B, Tk, {}, docMask && slice(slice(docMask, 1, 0, Tk), 2, 0, Tk)));
        const normed = m.headNorm.forward(hk);
        const mlogits = this.logitsOf(normed);
        const nk = den.mtp[k - 1];
        const l = mulScalar(crossEntropy(mlogits, Tensor.ints(mt, [B, Tk]), { ignoreIndex: ignore, reduction: 'sum' }), nk > 0 ? 1 / nk : 0);
        mtpSum += l.item();
        total = add(total, mulScalar(l, lambda / D));
        hPrev = hk;
      }
    }
    let tokens = 0;
    for (const t of tgt) if (t !== ignore) tokens++;
    return { loss: total, ce: ce.item(), mtp: D > 0 ? mtpSum / D : 0, tokens };
  }

  /**
   * The sum of the sequence-wise balance losses the given MoE layers recorded in their last forward
   * over a batch of B sequences (null when none did). Each is averaged over the B sequences; with
   * global `den` (a data-parallel shard or a pipeline micro-batch) it is scaled by B / den.sequences,
   * this batch's share of the global batch's mean. With `start`, the terms are added to it one by one.
   */
  balanceLoss(moes: MoE[], B: number, den?: LossDenominators, start?: Tensor): { loss: Tensor; value: number } | null {
    let total: Tensor | null = start ?? null;
    let any = false;
    let value = 0;
    for (const moe of moes) {
      if (!moe.lastBalanceLoss) continue;
      const l = den ? mulScalar(moe.lastBalanceLoss, B / den.sequences) : moe.lastBalanceLoss;
      value += l.item();
      total = total ? add(total, l) : l;
      any = true;
    }
    return any && total ? { loss: total, value } : null;
  }

  /**
   * MTP logits for speculative decoding: given the main model's final hidden state of the last
   * position [B, 1, D] and the token just sampled there [B], returns the depth-1 module's logits for the
   * token after it [B, 1, V], and its hidden state. Uses its own cache layer when `cache` is given.
   */
  mtpDraft(hidden: Tensor, nextTokens: Int32Array, opts: ForwardOptions = {}): ForwardResult {
    const m = this.model.mtp[0];
    if (!m) throw new TensorError('mtpDraft', 'the model has no MTP module (num_nextn_predict_layers = 0)');
    const B = hidden.shape[0], T = hidden.shape[1];
    const ctx = this.context(B, T, opts);
    const hk = m.forward(hidden, this.embed(Tensor.ints(nextTokens, [B, T])), ctx);
    const normed = m.headNorm.forward(hk);
    if (opts.cache) for (const s of opts.cache.slots) opts.cache.cache.lengths[s] += T;
    return { hidden: hk, logits: this.logitsOf(normed) };
  }

  /** The MoE layers of the main model. */
  moeLayers(): MoE[] {
    return this.model.layers.map((l) => l.mlp).filter((m): m is MoE => m instanceof MoE);
  }

  /** Every MoE layer, the MTP modules' included (expert parallelism shards them all). */
  allMoeLayers(): MoE[] {
    return [...this.moeLayers(), ...this.model.mtp.map((m) => m.block.mlp).filter((m): m is MoE => m instanceof MoE)];
  }

  /** Per-layer expert load since the last call (resets the counters). */
  takeExpertLoad(): { layer: number; load: ExpertLoad }[] {
    return this.model.layers.flatMap((l) => (l.mlp instanceof MoE ? [{ layer: l.layerIdx, load: l.mlp.takeLoad() }] : []));
  }

  /** Auxiliary-loss-free bias update of every MoE layer from a load snapshot. */
  updateRoutingBias(loads: { layer: number; load: ExpertLoad }[], gamma: number): void {
    noGrad(() => {
      for (const { layer, load } of loads) {
        const m = this.model.layers[layer].mlp;
        if (m instanceof MoE) m.updateBias(load.counts, gamma);
      }
    });
  }

  /** A KV cache of the main layers. */
  newCache(slots: number, maxLen: number): KVCache {
    if (maxLen > this.cfg.maxPositionEmbeddings) throw new TensorError('newCache', `cache length ${maxLen} exceeds max_position_embeddings ${this.cfg.maxPositionEmbeddings}`);
    return new KVCache(this.cfg, slots, maxLen, this.cfg.numHiddenLayers);
  }

  /** A KV cache of the MTP layers (they advance one token behind the main model, so they have their own). */
  newMtpCache(slots: number, maxLen: number): KVCache {
    return new KVCache(this.cfg, slots, maxLen, this.cfg.numNextnPredictLayers);
  }
}

