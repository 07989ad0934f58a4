// Several optimizers stepping disjoint parameter sets as one (ZeRO-1 under expert parallelism: the
// non-expert moments sharded over the whole world, the experts' over their data-parallel replicas).
// AdamW updates every parameter independently, so splitting the set changes nothing in the result.
import type { OptimizerState } from '../nn/optim.js';

/** What the trainer needs of an optimizer. */
export interface SteppingOptimizer {
  lr: number;
  step(): void;
  zeroGrad(): void;
  stateDict(): OptimizerState;
  loadStateDict(s: OptimizerState): void;
}

/** Optimizers over disjoint parameter sets, stepped, saved and loaded together. */
export class OptimizerGroup implements SteppingOptimizer {
  constructor(readonly parts: SteppingOptimizer[]) {
    if (parts.length === 0) throw new Error('OptimizerGroup needs at least one optimizer');
  }
  get lr(): number {
    return this.parts[0].lr;
  }
  set lr(v: number) {
    for (const p of this.parts) p.lr = v;
  }
  step(): void {
    for (const p of this.parts) p.step();
  }
  zeroGrad(): void {
    for (const p of this.parts) p.zeroGrad();
  }
  /** The union of the parts' states (collective when a part is sharded). */
  stateDict(): OptimizerState {
    const out: OptimizerState = { step: 0, m: {}, v: {} };
    for (const p of this.parts) {
      const s = p.stateDict();
      out.step = s.step;
      Object.assign(out.m, s.m);
      Object.assign(out.v, s.v);
    }
    return out;
  }
  /** Every part takes its parameters' entries of a full state. */
  loadStateDict(s: OptimizerState): void {
    for (const p of this.parts) p.loadStateDict(s);
  }
}
