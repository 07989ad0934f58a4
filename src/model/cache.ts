// The absorbed-MLA KV cache: per layer and token only [kv_a_layernorm(c_kv) ; RoPE(k_pe)]
// — kv_lora_rank + qk_rope_head_dim values — for a fixed number of sequence slots.
import type { ModelConfig } from './config.js';
import { SlotCache } from './slot-cache.js';

/** KV cache of one model: `slots` sequences of up to `maxLen` tokens, `layers` layers; per layer [slots, maxLen, kv_lora_rank + qk_rope_head_dim]. */
export class KVCache extends SlotCache {
  constructor(readonly cfg: ModelConfig, slots: number, maxLen: number, layers = cfg.numHiddenLayers) {
    super(slots, maxLen, cfg.kvLoraRank + cfg.qkRopeHeadDim, layers);
  }
}

/** Where a forward pass reads and writes the cache. */
export interface CacheView {
  cache: KVCache;
  /** Cache slot of each batch row [B]. */
  slots: Int32Array;
}
