// Learning-rate schedules as pure functions of the step.

/** Linear warmup to `peak`, then cosine decay to `min` at `total` steps. */
export function warmupCosine(step: number, o: { peak: number; min?: number; warmup: number; total: number }): number {
  const min = o.min ?? 0;
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  const t = Math.min(1, (step - o.warmup) / Math.max(1, o.total - o.warmup));
  return min + 0.5 * (o.peak - min) * (1 + Math.cos(Math.PI * t));
}

/**
 * DeepSeek-V3's shape (§4.2 of the report): linear warmup to `peak` over `warmup` steps, constant
 * until `constantUntil`, cosine decay to `decayTo` at `decayEnd`, then constant `final`
 * (V3: 2.2e-4, 2K steps warmup, constant to 10T tokens, cosine to 2.2e-5 over 4.3T, then 7.3e-6).
 * Given as fractions of `total` steps for short runs.
 */
export function deepseekV3Schedule(
  step: number,
  o: { peak: number; warmup: number; constantUntil: number; decayEnd: number; decayTo: number; final: number },
): number {
  if (step < o.warmup) return (o.peak * (step + 1)) / o.warmup;
  if (step < o.constantUntil) return o.peak;
  if (step < o.decayEnd) {
    const t = (step - o.constantUntil) / Math.max(1, o.decayEnd - o.constantUntil);
    return o.decayTo + 0.5 * (o.peak - o.decayTo) * (1 + Math.cos(Math.PI * t));
  }
  return o.final;
}
