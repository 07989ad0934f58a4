// Group-relative advantages (GRPO, DeepSeekMath §4.1.2 outcome supervision): every token of
// completion i gets Â_i = (r_i − mean(r_group)) / std(r_group). Options: no std scaling (Dr. GRPO)
// or std over the whole batch.

/** How rewards are scaled after subtracting the group mean. */
export type AdvantageScaling = 'group' | 'batch' | 'none';

/**
 * Mean and sample standard deviation (unbiased, as torch.std in TRL / DeepSeek's implementation) of
 * x[from, from + n); std is 0 for n < 2.
 */
export function meanStd(x: ArrayLike<number>, from = 0, n = x.length - from): { mean: number; std: number } {
  let mean = 0;
  for (let i = 0; i < n; i++) mean += x[from + i];
  mean = n > 0 ? mean / n : 0;
  let v = 0;
  for (let i = 0; i < n; i++) v += (x[from + i] - mean) ** 2;
  return { mean, std: n > 1 ? Math.sqrt(v / (n - 1)) : 0 };
}

/** Advantages for `rewards` laid out as consecutive groups of size G. */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, scaling: AdvantageScaling = 'group', eps = 1e-4): Float64Array {
  const n = rewards.length;
  if (G < 1 || n % G !== 0) throw new Error(`advantages: ${n} rewards do not form groups of ${G}`);
  const adv = new Float64Array(n);
  for (let g = 0; g < n; g += G) {
    const { mean, std } = meanStd(rewards, g, G);
    for (let i = 0; i < G; i++) adv[g + i] = scaling === 'group' ? (rewards[g + i] - mean) / (std + eps) : rewards[g + i] - mean;
  }
  if (scaling === 'batch') {
    const { std } = meanStd(rewards);
    for (let i = 0; i < n; i++) adv[i] /= std + eps;
  }
  return adv;
}

/** Standard deviation of each group's rewards (0 means the group teaches nothing). */
export function groupStd(rewards: ArrayLike<number>, G: number): Float64Array {
  return Float64Array.from({ length: rewards.length / G }, (_, g) => meanStd(rewards, g * G, G).std);
}
