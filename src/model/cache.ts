// The absorbed-MLA KV cache: per layer and token only [kv_a_layernorm(c_kv) ; RoPE(k_pe)]
// — kv_lora_rank + qk_rope_head_dim values — for a fixed number of sequence slots.
import type { ModelConfig } from './config.js';
import { TensorError } from '../tensor/errors.js';

/** KV cache of one model: `slots` sequences of up to `maxLen` tokens, `layers` layers. */
export class KVCache {
  /** Per layer: [slots, maxLen, kv_lora_rank + qk_rope_head_dim]. */
  readonly data: Float32Array[];
  /** Tokens cached per slot. */
  readonly lengths: Int32Array;
  readonly width: number;

  constructor(readonly cfg: ModelConfig, readonly slots: number, readonly maxLen: number, layers = cfg.numHiddenLayers) {
    this.width = cfg.kvLoraRank + cfg.qkRopeHeadDim;
    this.data = Array.from({ length: layers }, () => new Float32Array(slots * maxLen * this.width));
    this.lengths = new Int32Array(slots);
  }

  /** Values cached per token over all layers ((kv_lora_rank + qk_rope_head_dim) × layers). */
  valuesPerToken(): number {
    return this.width * this.data.length;
  }

  /** Forgets a slot's tokens (the slot can take a new sequence). */
  reset(slot: number): void {
    this.lengths[slot] = 0;
  }

  /** Checks that `slots` can take `t` more tokens each. */
  ensureRoom(slots: Int32Array, t: number): void {
    for (const s of slots) {
      if (s < 0 || s >= this.slots) throw new TensorError('KVCache', `slot ${s} outside [0, ${this.slots})`);
      if (this.lengths[s] + t > this.maxLen) throw new TensorError('KVCache', `slot ${s} holds ${this.lengths[s]} tokens; ${t} more exceed the cache length ${this.maxLen}`);
    }
  }
}

/** Where a forward pass reads and writes the cache. */
export interface CacheView {
  cache: KVCache;
  /** Cache slot of each batch row [B]. */
  slots: Int32Array;
}
