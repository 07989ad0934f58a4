// Does a base model read digits off the problem? Teacher-forced on held-out worked solutions (plain
// format), the mean NLL of the digit tokens after "Solution:". ln 10 ≈ 2.30 nats means the model knows
// only that a digit comes; a base that copies operands and carries digits goes far below it. Before
// that, GRPO has no rewards to work with (docs/data.md, "Training the base").
import { Tensor, noGrad, tidy } from '../tensor/index.js';
import { nllFromLogits } from '../ops/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { getTask, taskNames } from '../tasks/registry.js';
import { sampleProblem } from '../tasks/splits.js';
import { renderWorked } from '../data/formats.js';

/** Options of the probe. */
export interface CopyProbeOptions {
  families?: readonly string[];
  /** Held-out problems per family (default 8). */
  n?: number;
  difficulty?: number;
  seed?: number;
}

/** Mean digit NLL per family (nats per digit token) and their mean. */
export interface CopyProbeReport {
  difficulty: number;
  n: number;
  meanDigitNll: number;
  families: { family: string; digitNll: number; digits: number }[];
}

/**
 * Runs the probe (no gradients; the model's train/eval mode is left as it is). A worked solution
 * longer than the model's context is scored on the part that fits; a problem whose statement alone
 * fills the context is skipped (a family with none left reports NaN and 0 digits).
 */
export function copyProbe(model: CausalLM, tok: Tokenizer, opts: CopyProbeOptions = {}): CopyProbeReport {
  const n = opts.n ?? 8, difficulty = opts.difficulty ?? 2, seed = opts.seed ?? 1000;
  const isDigit = new Set<number>();
  for (let d = 0; d <= 9; d++) for (const id of tok.encode(String(d))) isDigit.add(id);
  const families = (opts.families ?? taskNames()).map((family) => {
    let sum = 0, digits = 0;
    for (let i = 0; i < n; i++) {
      const p = sampleProblem(family, difficulty, 'test', seed + i);
      const w = getTask(family).work(p);
      const text = renderWorked('plain', p.prompt, w.trace, w.answer);
      const ids = tok.encode(text, { allowSpecial: true }).slice(0, model.cfg.maxPositionEmbeddings + 1);
      const from = tok.encode(text.slice(0, text.indexOf('\nSolution:')), { allowSpecial: true }).length;
      if (from >= ids.length - 1) continue;
      noGrad(() => tidy(() => {
        const logits = model.forward(Tensor.ints(ids.slice(0, -1), [1, ids.length - 1])).logits; // [1, T-1, V]
        const nll = nllFromLogits(logits, Tensor.ints(ids.slice(1), [1, ids.length - 1])).toFloat32Array(); // [1, T-1]
        for (let t = from; t < ids.length - 1; t++) {
          if (!isDigit.has(ids[t + 1])) continue;
          sum += nll[t];
          digits++;
        }
      }));
    }
    return { family, digitNll: digits > 0 ? sum / digits : NaN, digits };
  });
  const scored = families.filter((f) => f.digits > 0);
  const meanDigitNll = scored.reduce((a, f) => a + f.digitNll, 0) / scored.length;
  return { difficulty, n, meanDigitNll, families };
}
