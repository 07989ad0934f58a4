// What every causal language model of tinyseek offers to training, generation, evaluation and
// serving — DeepSeek-V3/V2 (./model.ts) and the dense Qwen2 / Llama students (./dense/model.ts) —
// so the trainer, the batched generator, the loader and the server take either unchanged.
import type { Tensor } from '../tensor/index.js';
import type { Module } from '../nn/module.js';
import type { ForwardResult, LossDenominators, LossResult } from './model.js';
import type { ExpertLoad } from './moe.js';
import type { AnyModelConfig } from './registry.js';

/** A KV cache of fixed slots: per layer [slots, maxLen, width] floats, and the tokens held per slot. */
export interface ModelCache {
  readonly data: Float32Array[];
  readonly lengths: Int32Array;
  readonly width: number;
  readonly slots: number;
  readonly maxLen: number;
  /** Forgets a slot's tokens. */
  reset(slot: number): void;
  /** Copies the first n cached tokens of slot `from` to slot `to` (a shared prompt's prefill). */
  copySlot(from: number, to: number, n: number): void;
  /** Throws unless every slot can take `t` more tokens. */
  ensureRoom(slots: Int32Array, t: number): void;
  /** Values cached per token over all layers. */
  valuesPerToken(): number;
}

/** The configuration fields every model has (HF config keys in camelCase). */
export interface CausalLMConfig {
  modelType: string;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  maxPositionEmbeddings: number;
  /** Multi-Token Prediction modules (0 for dense models). */
  numNextnPredictLayers: number;
  tieWordEmbeddings: boolean;
  bosTokenId: number;
  eosTokenId: number;
}

/** Options of a forward pass every model accepts. */
export interface CausalLMForwardOptions {
  /** Read/append the KV cache for these slots (generation). */
  cache?: { cache: ModelCache; slots: Int32Array };
  /** Only compute logits of the last position of each row. */
  lastOnly?: boolean;
  /** Packed rows: attend only within each document (a document starts at every BOS token). */
  documentMask?: boolean;
}

/** Options of a training loss every model accepts. */
export interface CausalLMLossOptions {
  /** MTP loss weight λ (ignored by models without MTP). */
  mtpWeight?: number;
  /** [B, T] weight per target token (0 masks it). */
  weights?: Tensor;
  ignoreIndex?: number;
  documentMask?: boolean;
  /** Global normalizers (data parallelism); the loss is then this batch's share of the global loss. */
  denominators?: LossDenominators;
}

/** A causal LM: embedding → decoder layers → norm → head, with a KV cache for generation. */
export interface CausalLM extends Module {
  /** Its configuration (narrow with isDenseConfig: DeepSeek's ModelConfig or a dense DenseConfig). */
  readonly cfg: AnyModelConfig;
  /** ids int32 [B, T] → logits [B, T, V] (or [B, 1, V] with lastOnly) and final hidden states [B, T, D]. */
  forward(ids: Tensor, opts?: CausalLMForwardOptions): ForwardResult;
  /** Training loss of ids [B, T+1] (inputs ids[:, :T], targets ids[:, 1:]). */
  loss(ids: Tensor, opts?: CausalLMLossOptions): LossResult;
  /** The normalizers `loss` divides by when no `denominators` are given (summed over ranks under data parallelism). */
  lossDenominators(ids: Tensor, opts?: CausalLMLossOptions): LossDenominators;
  /** The head weight [V, D] (the embedding when tied). */
  headWeight(): Tensor;
  /** A KV cache of the main layers. */
  newCache(slots: number, maxLen: number): ModelCache;
  /** A KV cache of the MTP layers (throws for models without MTP). */
  newMtpCache(slots: number, maxLen: number): ModelCache;
  /** MTP draft logits (throws for models without MTP). */
  mtpDraft(hidden: Tensor, nextTokens: Int32Array, opts?: CausalLMForwardOptions): ForwardResult;
  /** Per-MoE-layer expert load since the last call (empty for dense models). */
  takeExpertLoad(): { layer: number; load: ExpertLoad }[];
  /** Auxiliary-loss-free bias update (no-op for dense models). */
  updateRoutingBias(loads: { layer: number; load: ExpertLoad }[], gamma: number): void;
}
