// DeepSeek LLM §3.1: the optimal batch size and learning rate against compute. At each budget a grid
// of (batch size, learning rate) is trained; every run whose generalisation error is within 0.25 % of
// the budget's minimum is "near-optimal"; power laws B_opt = k_B·C^{e_B} (tokens per step) and
// η_opt = k_η·C^{e_η} are fitted to the near-optimal points of all budgets.
// DeepSeek's fit: B_opt = 0.2920·C^0.3271, η_opt = 0.3118·C^−0.1250.
import { byBudget } from './isoflop.js';
import { fitPowerLaw, powerLawAt, type PowerLaw } from './power-law.js';

/** One run of the hyperparameter grid. */
export interface HyperRun {
  budget: number;
  /** Tokens per optimizer step. */
  batchTokens: number;
  lr: number;
  L: number;
}

/** The fit. */
export interface HyperFit {
  tolerance: number;
  nearOptimal: HyperRun[];
  /** Best run per budget. */
  best: HyperRun[];
  batch: PowerLaw | null;
  lr: PowerLaw | null;
}

/** DeepSeek LLM's published laws. */
export const DEEPSEEK_LLM_HYPER = {
  batch: { k: 0.292, exponent: 0.3271 } as PowerLaw,
  lr: { k: 0.3118, exponent: -0.125 } as PowerLaw,
} as const;

/**
 * Near-optimal runs per budget (L ≤ (1 + tolerance)·min L) and the power laws through them. A law is
 * null when its near-optimal values span fewer than two budgets (no exponent can be read).
 */
export function fitHyperparams(runs: readonly HyperRun[], tolerance = 0.0025): HyperFit {
  const groups = byBudget(runs);
  const near: HyperRun[] = [];
  const best: HyperRun[] = [];
  for (const g of groups.values()) {
    const min = Math.min(...g.map((r) => r.L));
    best.push(g.find((r) => r.L === min)!);
    near.push(...g.filter((r) => r.L <= min * (1 + tolerance)));
  }
  const law = (y: (r: HyperRun) => number) => (new Set(near.map((r) => r.budget)).size < 2 ? null : fitPowerLaw(near.map((r) => r.budget), near.map(y)));
  return { tolerance, nearOptimal: near, best, batch: law((r) => r.batchTokens), lr: law((r) => r.lr) };
}

/** DeepSeek LLM's B_opt (tokens) and η_opt at compute C. */
export function deepseekHyper(C: number): { batchTokens: number; lr: number } {
  return { batchTokens: powerLawAt(DEEPSEEK_LLM_HYPER.batch, C), lr: powerLawAt(DEEPSEEK_LLM_HYPER.lr, C) };
}
