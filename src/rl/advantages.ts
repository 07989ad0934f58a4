// Group-relative advantages (GRPO, DeepSeekMath §4.1.2 outcome supervision): every token of
// completion i gets Â_i = (r_i − mean(r_group)) / std(r_group). Options: no std scaling (Dr. GRPO)
// or std over the whole batch.

/** How rewards are scaled after subtracting the group mean. */
export type AdvantageScaling = 'group' | 'batch' | 'none';

/** Advantages for `rewards` laid out as consecutive groups of size G. */
export function groupAdvantages(rewards: ArrayLike<number>, G: number, scaling: AdvantageScaling = 'group', eps = 1e-4): Float64Array {
  const n = rewards.length;
  if (G < 1 || n % G !== 0) throw new Error(`advantages: ${n} rewards do not form groups of ${G}`);
  const adv = new Float64Array(n);
  for (let g = 0; g < n; g += G) {
    let mean = 0;
    for (let i = 0; i < G; i++) mean += rewards[g + i];
    mean /= G;
    let v = 0;
    for (let i = 0; i < G; i++) v += (rewards[g + i] - mean) ** 2;
    // Sample standard deviation (unbiased), as torch.std in TRL / DeepSeek's implementation.
    const std = G > 1 ? Math.sqrt(v / (G - 1)) : 0;
    for (let i = 0; i < G; i++) adv[g + i] = scaling === 'group' ? (rewards[g + i] - mean) / (std + eps) : rewards[g + i] - mean;
  }
  if (scaling === 'batch') {
    let m = 0;
    for (let i = 0; i < n; i++) m += rewards[i];
    m /= n;
    let v = 0;
    for (let i = 0; i < n; i++) v += (rewards[i] - m) ** 2;
    const std = n > 1 ? Math.sqrt(v / (n - 1)) : 0;
    for (let i = 0; i < n; i++) adv[i] /= std + eps;
  }
  return adv;
}

/** Standard deviation of each group's rewards (0 means the group teaches nothing). */
export function groupStd(rewards: ArrayLike<number>, G: number): Float64Array {
  const out = new Float64Array(rewards.length / G);
  for (let g = 0; g < out.length; g++) {
    let m = 0;
    for (let i = 0; i < G; i++) m += rewards[g * G + i];
    m /= G;
    let v = 0;
    for (let i = 0; i < G; i++) v += (rewards[g * G + i] - m) ** 2;
    out[g] = G > 1 ? Math.sqrt(v / (G - 1)) : 0;
  }
  return out;
}
