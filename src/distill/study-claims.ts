// The study's three claims and the issue's bar, decided from the arms' held-out numbers with a
// two-proportion z over the problem counts (a difference with |z| < 2 is "within noise"):
//   (a) distillation beats RL on the small model at equal student compute   trace-sft vs grpo
//   (b) answer-only text teaches little reasoning                            trace-sft vs answer-sft
//   (c) logits teach more per teacher token than sampled text                logit-kd vs trace-sft, gain
//       over the base per teacher token (generated + forward), its standard error scaled the same way
//   bar: the teacher beats the student base by ≥ barPoints (pass@1 strict, mean over trained families)

/** One arm's accuracy (a proportion over `n` problems) and, for (c), the teacher tokens it consumed. */
export interface ArmScore {
  p: number;
  n: number;
  teacherTokens?: number;
}

/** Binomial standard error of a proportion p over n. */
export function binomialSe(p: number, n: number): number {
  if (!(n > 0)) throw new Error(`binomial standard error needs a positive count of problems, found ${n}`);
  return Math.sqrt(Math.max(0, p * (1 - p)) / n);
}

/** Two-proportion z (pooled): (p1 − p2) / √(p̄(1−p̄)(1/n1 + 1/n2)); 0 when both are 0 or 1. */
export function twoProportionZ(a: ArmScore, b: ArmScore): number {
  const pool = (a.p * a.n + b.p * b.n) / (a.n + b.n);
  const se = Math.sqrt(pool * (1 - pool) * (1 / a.n + 1 / b.n));
  if (se === 0) return 0;
  return (a.p - b.p) / se;
}

/**
 * A claim's verdict: the difference in the claimed direction beyond noise, against it beyond noise, or
 * neither; for claim (c), 'no gain' when neither arm gains over the base (a loss per teacher token
 * ranks nothing).
 */
export type Verdict = 'holds' | 'reversed' | 'within noise' | 'no gain';

export function verdict(z: number): Verdict {
  if (Math.abs(z) < 2) return 'within noise';
  return z > 0 ? 'holds' : 'reversed';
}

/** A decided claim: the compared numbers, the difference, z and the verdict. */
export interface Claim {
  id: 'a' | 'b' | 'c';
  statement: string;
  compared: string;
  left: number;
  right: number;
  difference: number;
  z: number;
  verdict: Verdict;
}

/** Claims (a) and (b): `left` claimed above `right`. */
export function proportionClaim(id: 'a' | 'b', statement: string, compared: string, left: ArmScore, right: ArmScore): Claim {
  const z = twoProportionZ(left, right);
  return { id, statement, compared, left: left.p, right: right.p, difference: left.p - right.p, z, verdict: verdict(z) };
}

/**
 * Claim (c): accuracy gained over the base per teacher token, logits (`left`) vs sampled text (`right`).
 * Each gain's standard error is √(se_arm² + se_base²); dividing by the arm's teacher tokens gives the
 * efficiency's; z = (e_left − e_right) / √(se_left² + se_right²). An arm that used no teacher tokens is an error.
 */
export function efficiencyClaim(statement: string, compared: string, left: ArmScore, right: ArmScore, base: ArmScore): Claim {
  for (const [name, a] of [['logits', left], ['text', right]] as const) {
    if (!a.teacherTokens || a.teacherTokens <= 0) throw new Error(`claim (c): the ${name} arm has no teacher tokens (found ${a.teacherTokens}); gain per teacher token is undefined`);
  }
  const eff = (a: ArmScore) => (a.p - base.p) / a.teacherTokens!;
  const se = (a: ArmScore) => Math.sqrt(binomialSe(a.p, a.n) ** 2 + binomialSe(base.p, base.n) ** 2) / a.teacherTokens!;
  const d = eff(left) - eff(right);
  const s = Math.sqrt(se(left) ** 2 + se(right) ** 2);
  const z = s === 0 ? 0 : d / s;
  return { id: 'c', statement, compared, left: eff(left), right: eff(right), difference: d, z, verdict: eff(left) <= 0 && eff(right) <= 0 ? 'no gain' : verdict(z) };
}

/** The bar: teacher − base ≥ barPoints/100 (pass@1 strict), with its z. */
export interface Bar {
  teacher: number;
  base: number;
  points: number;
  required: number;
  holds: boolean;
  z: number;
}

export function teacherBar(teacher: ArmScore, base: ArmScore, required: number): Bar {
  const points = (teacher.p - base.p) * 100;
  return { teacher: teacher.p, base: base.p, points, required, holds: points >= required, z: twoProportionZ(teacher, base) };
}
