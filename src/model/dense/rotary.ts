// Rotary position embedding in the rotate-half convention of Hugging Face's Llama / Qwen2
// (`apply_rotary_pos_emb`): the head vector's two halves form the pairs (x[i], x[i + d/2]), rotated by
// θ_i = rope_theta^(−2i/d) at each position:
//   q_embed = q·cos + rotate_half(q)·sin,  cos = cat(cos θ, cos θ),  rotate_half(x) = cat(−x2, x1).
// DeepSeek's RoPE (../../ops/rope.ts) rotates ADJACENT pairs (x[2i], x[2i+1]) with the same θ_i, so
// rotate-half is that op between two fixed permutations of the head dims: interleave the halves,
// rotate adjacent pairs, de-interleave. Built from existing ops, its backward comes with them.
import type { Tensor } from '../../tensor/index.js';
import type { RopeTables } from '../../ops/rope.js';
import { permute, reshape, rope } from '../../ops/index.js';

/** Rotate-half RoPE of x [B, T, H, d] at positions pos [B·T] → [B, T, H, d]. */
export function ropeHalf(x: Tensor, pos: Int32Array, tables: RopeTables): Tensor {
  const [B, T, H, d] = x.shape;
  const half = d / 2;
  // [B, T, H, 2, d/2] → [B, T, H, d/2, 2]: element (i, 0) = x[i], (i, 1) = x[i + d/2].
  const inter = reshape(permute(reshape(x, [B, T, H, 2, half]), [0, 1, 2, 4, 3]), [B, T, H, d]);
  const rotated = rope(inter, pos, tables); // adjacent pairs (x[i], x[i + d/2]) by θ_i
  return reshape(permute(reshape(rotated, [B, T, H, half, 2]), [0, 1, 2, 4, 3]), [B, T, H, d]);
}
