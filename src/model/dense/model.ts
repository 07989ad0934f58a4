// Qwen2ForCausalLM / LlamaForCausalLM — the dense decoders of DeepSeek-R1-Distill-Qwen/Llama —
// following transformers' modeling_qwen2.py / modeling_llama.py: embed_tokens → decoder layers
// (GQA with rotate-half RoPE, SwiGLU MLP, RMSNorm pre-norm) → norm → lm_head (or the tied embedding).
// The same interface as DeepseekV3 (../causal-lm.ts), so the trainer, generator, loader and server
// take it unchanged; it has no MTP module and no experts.
import { cachePositions } from '../slot-cache.js';
import { Tensor, Rng } from '../../tensor/index.js';
import { TensorError, fmtShape } from '../../tensor/errors.js';
import { Module } from '../../nn/module.js';
import { runStack } from '../../nn/residual.js';
import { Embedding, Linear, RMSNorm } from '../../nn/layers.js';
import { crossEntropy, linear, slice, contiguous, mulScalar } from '../../ops/index.js';
import { ropeTables } from '../../ops/rope.js';
import type { RopeTables } from '../../ops/rope.js';
import { countTargets, documentMask, nextTokenTargets } from '../model.js';
import type { ForwardResult, LossDenominators, LossResult } from '../model.js';
import type { CausalLM, CausalLMLossOptions } from '../causal-lm.js';
import type { ExpertLoad } from '../moe.js';
import type { DenseConfig } from './config.js';
import { validateDenseConfig } from './config.js';
import { checkDenseFitsMemory } from './shapes.js';
import { DenseBlock } from './block.js';
import type { DenseAttnContext } from './attention.js';
import { GqaKVCache } from './cache.js';
import type { GqaCacheView } from './cache.js';

/** Options of a forward pass. */
export interface DenseForwardOptions {
  /** Read/append the GQA KV cache for these slots (generation). */
  cache?: GqaCacheView;
  /** Only compute logits of the last position of each row. */
  lastOnly?: boolean;
  /** Packed rows: attend only within each document (a document starts at every BOS token). */
  documentMask?: boolean;
}

/** The inner `model.*` module: embed_tokens, layers, norm. */
class DenseInner extends Module {
  readonly embedTokens: Embedding;
  readonly layers: DenseBlock[] = [];
  readonly norm: RMSNorm;
  constructor(cfg: DenseConfig, rng: Rng, std: number) {
    super();
    this.embedTokens = this.module('embed_tokens', new Embedding(cfg.vocabSize, cfg.hiddenSize, rng, std));
    for (let l = 0; l < cfg.numHiddenLayers; l++) this.layers.push(this.module(`layers.${l}`, new DenseBlock(cfg, l, rng, std)));
    this.norm = this.module('norm', new RMSNorm(cfg.hiddenSize, cfg.rmsNormEps));
  }
}

/** Qwen2ForCausalLM / LlamaForCausalLM (HF tensor names: `model.*`, `lm_head.weight`). */
export class DenseForCausalLM extends Module implements CausalLM {
  readonly model: DenseInner;
  readonly lmHead: Linear | null;
  readonly rope: RopeTables;

  constructor(readonly cfg: DenseConfig, seed = 0) {
    super();
    validateDenseConfig(cfg);
    checkDenseFitsMemory(cfg); // before allocating
    const rng = new Rng(seed);
    const std = typeof cfg.extra.initializer_range === 'number' ? cfg.extra.initializer_range : 0.02;
    this.model = this.module('model', new DenseInner(cfg, rng, std));
    this.lmHead = cfg.tieWordEmbeddings ? null : this.module('lm_head', new Linear(cfg.hiddenSize, cfg.vocabSize, rng, { std }));
    // inv_freq = rope_theta^(−2i/head_dim), i < head_dim/2 (no scaling).
    this.rope = ropeTables(cfg.headDim, cfg.ropeTheta, cfg.maxPositionEmbeddings, null);
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

  /** Runs decoder layers [from, to). */
  runLayers(h: Tensor, ctx: DenseAttnContext, from = 0, to = this.cfg.numHiddenLayers): Tensor {
    return runStack(h, from, to, (x, l) => this.model.layers[l].forward(x, ctx));
  }

  /** Head stage: h [B, T, D] → normed hidden and logits [B, T, V]. */
  head(h: Tensor): ForwardResult {
    const hidden = this.model.norm.forward(h);
    return { hidden, logits: this.logitsOf(hidden) };
  }

  /** Builds the per-forward attention context (positions from the cache lengths when generating). */
  context(B: number, T: number, opts: DenseForwardOptions = {}, docMask?: Tensor): DenseAttnContext {
    const { positions, starts } = cachePositions(B, T, opts.cache);
    return { positions, rope: this.rope, cache: opts.cache, starts, docMask };
  }

  /** ids int32 [B, T] → logits (all positions, or the last with lastOnly) and final hidden states. */
  forward(ids: Tensor, opts: DenseForwardOptions = {}): ForwardResult {
    if (ids.dtype !== 'i32' || ids.ndim !== 2) throw new TensorError('forward', `expected int32 token ids [B, T], found ${ids.dtype} ${fmtShape(ids.shape)}`);
    const [B, T] = ids.shape;
    const ctx = this.context(B, T, opts, opts.documentMask ? documentMask(ids.i32(), B, T, T, this.cfg.bosTokenId) : undefined);
    let h = this.runLayers(this.embed(ids), ctx);
    if (opts.lastOnly) h = slice(h, 1, T - 1, T);
    const out = this.head(h);
    if (opts.cache) for (const s of opts.cache.slots) opts.cache.cache.lengths[s] += T;
    return out;
  }

  /**
   * The training loss (next-token cross-entropy) of ids [B, T+1] viewed as inputs ids[:, :T] and
   * targets ids[:, 1:]; `weights` [B, T] weight each target (0 masks it), targets equal to
   * `ignoreIndex` are skipped. No MTP and no balance terms (reported as 0).
   */
  /** The normalizers of a batch: (weighted) target count; no MTP terms. */
  lossDenominators(ids: Tensor, opts: CausalLMLossOptions = {}): LossDenominators {
    const [B, T1] = ids.shape;
    const { tgt, w } = nextTokenTargets(ids, opts.weights, opts.ignoreIndex ?? -100);
    return countTargets(tgt, w, B, T1 - 1, 0, opts.ignoreIndex ?? -100);
  }

  /** Next-token cross-entropy of ids [B, T+1], divided by the (weighted) target count or the global `denominators`. */
  loss(ids: Tensor, opts: CausalLMLossOptions = {}): LossResult {
    const [B, T1] = ids.shape;
    const T = T1 - 1;
    const ignore = opts.ignoreIndex ?? -100;
    const { inp, tgt, w } = nextTokenTargets(ids, opts.weights, opts.ignoreIndex ?? -100);
    const den = opts.denominators ?? countTargets(tgt, w, B, T, 0, ignore);
    const docMask = opts.documentMask ? documentMask(ids.i32(), B, T1, T, this.cfg.bosTokenId) : undefined;
    const h = this.runLayers(this.embed(Tensor.ints(inp, [B, T])), this.context(B, T, {}, docMask));
    const { logits } = this.head(h);
    const sum = crossEntropy(logits, Tensor.ints(tgt, [B, T]), { ignoreIndex: ignore, weights: opts.weights, reduction: 'sum' });
    const ce = mulScalar(sum, den.ce > 0 ? 1 / den.ce : 0);
    let tokens = 0;
    for (const t of tgt) if (t !== ignore) tokens++;
    return { loss: ce, ce: ce.item(), mtp: 0, balance: 0, tokens };
  }

  /** A GQA KV cache of every layer. */
  newCache(slots: number, maxLen: number): GqaKVCache {
    if (maxLen > this.cfg.maxPositionEmbeddings) throw new TensorError('newCache', `cache length ${maxLen} exceeds max_position_embeddings ${this.cfg.maxPositionEmbeddings}`);
    return new GqaKVCache(this.cfg, slots, maxLen);
  }

  /** Dense models have no MTP module. */
  newMtpCache(): GqaKVCache {
    throw new TensorError('newMtpCache', `a dense ${this.cfg.modelType} model has no MTP module (speculative decoding needs num_nextn_predict_layers ≥ 1)`);
  }

  /** Dense models have no MTP module. */
  mtpDraft(): ForwardResult {
    throw new TensorError('mtpDraft', `a dense ${this.cfg.modelType} model has no MTP module (num_nextn_predict_layers = 0)`);
  }

  /** No experts: nothing to report. */
  takeExpertLoad(): { layer: number; load: ExpertLoad }[] {
    return [];
  }

  /** No routers: nothing to update. */
  updateRoutingBias(): void {}
}
