// The reward model of R1's stage 4 for general prompts, trained by tinyseek itself on chosen/rejected
// pairs with the Bradley–Terry objective (InstructGPT / DeepSeekMath's RM):
//
//   P(chosen ≻ rejected) = σ(s(x, y_c) − s(x, y_r)),   L = mean_i −log σ(Δ_i) + (λ/2)‖w‖²,
//   ∂L/∂w = −mean_i σ(−Δ_i) (φ(x, y_c,i) − φ(x, y_r,i)) + λ w,
//
// with s(x, y) = w · φ(x, y): a linear model over hashed features of the FINAL ANSWER y (R1 judges
// helpfulness on the summary only) and of the answer's words crossed with the prompt's words. At nano
// and mini scale this is what the data supports; the interface (score a prompt and an answer) is the
// one a transformer-headed RM would implement. −log σ(Δ) = softplus(−Δ) is computed on the shared
// tensor ops as log(1 + e^min(x, 80)) + relu(x − 80), x = −Δ: exact in float32 below 80, linear above,
// and with the right derivative everywhere (the form relu(x) + log(1 + e^−|x|) has a zero subgradient
// at x = 0, which would freeze training from w = 0).
import fs from 'node:fs';
import { Tensor, tidy, noGrad } from '../../tensor/index.js';
import { addScalar, clamp, exp, log, matmul, mean, mulScalar, neg, relu, sub, sum, square, add } from '../../ops/index.js';
import { AdamW } from '../../nn/optim.js';
import { hashSeed } from '../../tasks/rng.js';
import { writeFileAtomic } from '../../io/index.js';
import { replyVocabulary } from '../../data/conversations.js';
import type { PreferencePair } from '../../data/conversations.js';
import { targetVocabulary } from './readability.js';

/** Scores a final answer to a prompt (higher is better). */
export interface RewardModel {
  score(prompt: string, answer: string): number;
}

const words = (s: string) => s.toLowerCase().match(/[a-z']+|\d+|[^\sa-z'\d]/g) ?? [];

/** Dense features (before the hashed ones): bias-free indicators a linear model cannot build from words. */
const DENSE = 7;

let known: Set<string> | null = null;
/** Words a clean answer is made of: the replies' and the reasoning's (worked solutions') vocabularies. */
function knownWords(): Set<string> {
  if (!known) known = new Set([...replyVocabulary(), ...targetVocabulary()]);
  return known;
}

/** The feature vector φ(prompt, answer) of dimension `dim` (≥ 64). */
export function rmFeatures(prompt: string, answer: string, dim: number): Float32Array {
  const f = new Float32Array(dim);
  const a = words(answer), p = words(prompt).filter((w) => /[a-z]/.test(w));
  const n = a.length;
  // Dense: empty, short, long, repetition, markup, a bare "the answer is", unknown words.
  f[0] = n === 0 ? 1 : 0;
  f[1] = n > 0 && n < 4 ? 1 : 0;
  f[2] = n > 40 ? 1 : 0;
  f[3] = n > 0 ? 1 - new Set(a).size / n : 0;
  f[4] = /<\/?(?:think|answer)>|｜/.test(answer) ? 1 : 0;
  f[5] = /^the answer is/i.test(answer.trim()) ? 1 : 0;
  const alpha = a.filter((w) => /^[a-z']+$/.test(w));
  f[6] = alpha.length ? alpha.filter((w) => !knownWords().has(w)).length / alpha.length : 0; // share of unknown (misspelled) words
  const H = dim - DENSE;
  const put = (key: string, v: number) => { f[DENSE + (hashSeed('rm', key) % H)] += v; };
  const uni = 1 / Math.sqrt(Math.max(1, n));
  for (const w of a) put(`u:${w}`, uni);
  for (let i = 1; i < n; i++) put(`b:${a[i - 1]} ${a[i]}`, uni);
  const cross = 1 / Math.sqrt(Math.max(1, n * p.length));
  const aw = [...new Set(a.filter((w) => /[a-z]/.test(w)))];
  for (const pw of new Set(p)) for (const w of aw) put(`x:${pw}|${w}`, cross);
  return f;
}

/** Above this, softplus(x) is taken as linear (e^80 is still finite in float32). */
const SOFTPLUS_LINEAR = 80;

/** The Bradley–Terry loss mean_i softplus(−(φc_i − φr_i)·w) + (λ/2)‖w‖² for feature rows φc, φr [N, D] and w [D, 1]. */
export function btLoss(w: Tensor, phiC: Tensor, phiR: Tensor, l2: number): Tensor {
  const delta = matmul(sub(phiC, phiR), w); // [N, 1]
  const x = neg(delta);
  const softplus = add(log(addScalar(exp(clamp(x, -1e30, SOFTPLUS_LINEAR)), 1)), relu(addScalar(x, -SOFTPLUS_LINEAR)));
  const loss = mean(softplus);
  return l2 > 0 ? add(loss, mulScalar(sum(square(w)), l2 / 2)) : loss;
}

/** A trained linear reward model. */
export class LinearRewardModel implements RewardModel {
  constructor(readonly dim: number, readonly w: Float32Array) {}

  /** s(x, y) = w · φ(x, y). */
  score(prompt: string, answer: string): number {
    const f = rmFeatures(prompt, answer, this.dim);
    let s = 0;
    for (let i = 0; i < this.dim; i++) s += f[i]! * this.w[i]!;
    return s;
  }

  /** Fraction of pairs ranked correctly (s_c > s_r). */
  pairAccuracy(pairs: readonly PreferencePair[]): number {
    if (pairs.length === 0) return NaN;
    return pairs.filter((p) => this.score(p.prompt, p.chosen) > this.score(p.prompt, p.rejected)).length / pairs.length;
  }

  /** Saves the weights as JSON (atomically). */
  save(file: string): void {
    writeFileAtomic(file, JSON.stringify({ kind: 'linear-bt', dim: this.dim, w: Array.from(this.w) }) + '\n');
  }

  /** Loads a model saved by `save`. */
  static load(file: string): LinearRewardModel {
    const o = JSON.parse(fs.readFileSync(file, 'utf8')) as { kind: string; dim: number; w: number[] };
    if (o.kind !== 'linear-bt' || o.w.length !== o.dim) throw new Error(`${file}: expected a linear-bt reward model of dim ${o.dim}, found ${o.kind} with ${o.w.length} weights`);
    return new LinearRewardModel(o.dim, Float32Array.from(o.w));
  }
}

/** Training settings of the reward model. */
export interface RewardModelOptions {
  dim: number;
  steps: number;
  lr: number;
  l2: number;
}

/** Trains the linear RM on pairs with full-batch AdamW on the Bradley–Terry loss; returns it and the loss curve. */
export function trainRewardModel(pairs: readonly PreferencePair[], o: RewardModelOptions): { model: LinearRewardModel; losses: number[] } {
  const N = pairs.length, D = o.dim;
  const c = new Float32Array(N * D), r = new Float32Array(N * D);
  pairs.forEach((p, i) => {
    c.set(rmFeatures(p.prompt, p.chosen, D), i * D);
    r.set(rmFeatures(p.prompt, p.rejected, D), i * D);
  });
  const w = Tensor.zeros([D, 1], { track: false }).requiresGrad_();
  const opt = new AdamW([['w', w]], { lr: o.lr, weightDecay: 0, noDecay: () => true });
  const losses: number[] = [];
  for (let s = 0; s < o.steps; s++) {
    opt.zeroGrad();
    losses.push(tidy(() => {
      const loss = btLoss(w, Tensor.from(c, [N, D]), Tensor.from(r, [N, D]), o.l2);
      loss.backward();
      return loss.item();
    }));
    noGrad(() => opt.step());
  }
  return { model: new LinearRewardModel(D, Float32Array.from(w.f32())), losses };
}
