// A KV cache's slots: `slots` sequences of up to `maxLen` tokens, one [slots, maxLen, width] buffer
// per layer, and how many tokens each slot holds. The MLA cache (cache.ts: width = kv_lora_rank +
// qk_rope_head_dim) and the GQA cache (dense/cache.ts: width = 2·Hkv·head_dim) differ only in
// what a token's `width` values are, so the generator's continuous batching and prefix sharing
// work on both through this interface.
import { TensorError } from '../tensor/errors.js';

export class SlotCache {
  /** Per layer: [slots, maxLen, width]. */
  readonly data: Float32Array[];
  /** Tokens cached per slot. */
  readonly lengths: Int32Array;

  constructor(readonly slots: number, readonly maxLen: number, readonly width: number, layers: number) {
    this.data = Array.from({ length: layers }, () => new Float32Array(slots * maxLen * width));
    this.lengths = new Int32Array(slots);
  }

  /** Values cached per token over all layers (width × layers). */
  valuesPerToken(): number {
    return this.width * this.data.length;
  }

  /** Forgets a slot's tokens (the slot can take a new sequence). */
  reset(slot: number): void {
    this.lengths[slot] = 0;
  }

  /** Copies the first n cached tokens of slot `from` to slot `to` (every layer); `to` then holds n tokens. */
  copySlot(from: number, to: number, n: number): void {
    const w = this.width, L = this.maxLen;
    for (const buf of this.data) buf.copyWithin(to * L * w, from * L * w, (from * L + n) * w);
    this.lengths[to] = n;
  }

  /** Checks that `slots` can take `t` more tokens each. */
  ensureRoom(slots: Int32Array, t: number): void {
    const name = this.constructor.name;
    for (const s of slots) {
      if (s < 0 || s >= this.slots) throw new TensorError(name, `slot ${s} outside [0, ${this.slots})`);
      if (this.lengths[s] + t > this.maxLen) throw new TensorError(name, `slot ${s} holds ${this.lengths[s]} tokens; ${t} more exceed the cache length ${this.maxLen}`);
    }
  }
}

/**
 * Absolute positions [B·T] of a forward over B rows of T tokens, and the tokens each row's cache slot
 * already holds [B] (generation: positions continue after them; training: from 0, no starts).
 * Checks the slots (one per row) and their room first.
 */
export function cachePositions(B: number, T: number, view?: { cache: SlotCache; slots: Int32Array }): { positions: Int32Array; starts?: Int32Array } {
  const positions = new Int32Array(B * T);
  let starts: Int32Array | undefined;
  if (view) {
    const { cache, slots } = view;
    if (slots.length !== B) throw new TensorError('forward', `expected ${B} cache slots (one per row), found ${slots.length}`);
    cache.ensureRoom(slots, T);
    starts = Int32Array.from(slots, (s) => cache.lengths[s]!);
  }
  for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) positions[b * T + t] = (starts ? starts[b]! : 0) + t;
  return { positions, starts };
}
