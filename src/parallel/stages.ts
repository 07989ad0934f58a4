// The model cut into pipeline stages by layers, and which rank holds which tensor.
//
// Stage s of PP runs decoder layers [from_s, to_s) (contiguous, as even as possible, earlier stages
// taking the remainder); stage 0 also runs the embedding, stage PP−1 the final norm, lm_head and the
// MTP modules. MTP reads the embedding of the shifted tokens (and a tied head is the embedding), so the
// last stage holds a copy of `embed_tokens` too — Megatron's shared-embedding arrangement; DeepSeek-V3
// avoids the copy by putting the first and last stages on one rank, which DualPipe/DualPipeV do here
// as well (rank 0 holds stages 0 and PP−1). A tensor held by several ranks (that copy, or every stage
// under DualPipe, which places each stage on two ranks) has its gradients summed over its holders
// before the optimizer step, so every copy takes the same update and the copies stay equal.
import type { ModelConfig } from '../model/config.js';
import type { PipelineSchedule } from './schedule.js';

/** The pipeline cut does not fit the model. */
export class StageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'StageError';
  }
}

/** Decoder layers [from, to) of each of `pp` stages. */
export function splitLayers(numLayers: number, pp: number): [number, number][] {
  if (!Number.isInteger(pp) || pp < 1) throw new StageError(`the number of pipeline stages must be a positive integer, found ${pp}`);
  if (pp > numLayers) throw new StageError(`${pp} pipeline stages need at least ${pp} decoder layers (one per stage); the model has num_hidden_layers = ${numLayers}`);
  const base = Math.floor(numLayers / pp), extra = numLayers % pp;
  const out: [number, number][] = [];
  let from = 0;
  for (let s = 0; s < pp; s++) {
    const to = from + base + (s < extra ? 1 : 0);
    out.push([from, to]);
    from = to;
  }
  return out;
}

/** The stages (0..pp−1) that use a tensor of the model, by its Hugging Face name. */
export function stagesOfTensor(cfg: ModelConfig, layers: [number, number][], name: string): number[] {
  const pp = layers.length;
  const last = pp - 1;
  if (name === 'model.embed_tokens.weight') {
    const needLast = pp > 1 && (cfg.numNextnPredictLayers > 0 || cfg.tieWordEmbeddings);
    return needLast ? [0, last] : [0];
  }
  if (name === 'model.norm.weight' || name.startsWith('lm_head.')) return [last];
  const m = /^model\.layers\.(\d+)\./.exec(name);
  if (!m) throw new StageError(`no pipeline stage for tensor ${name}`);
  const l = Number(m[1]);
  if (l >= cfg.numHiddenLayers) return [last]; // MTP modules
  const s = layers.findIndex(([a, b]) => l >= a && l < b);
  return [s];
}

/** Where every tensor lives in a pipeline-parallel run. */
export class StageLayout {
  /** Decoder layers of each stage. */
  readonly layers: [number, number][];
  /** The stages each rank runs (its phases' stages, deduplicated). */
  readonly stagesOfRank: number[][];

  constructor(readonly cfg: ModelConfig, readonly schedule: PipelineSchedule) {
    this.layers = splitLayers(cfg.numHiddenLayers, schedule.pp);
    this.stagesOfRank = schedule.placement.map((refs) => [...new Set(refs.map((r) => r.stage))].sort((a, b) => a - b));
  }

  /** The ranks holding a tensor, ascending (the first one owns it: counts it in norms, writes it in checkpoints). */
  holders(name: string): number[] {
    const stages = stagesOfTensor(this.cfg, this.layers, name);
    const out: number[] = [];
    for (let r = 0; r < this.stagesOfRank.length; r++) if (this.stagesOfRank[r].some((s) => stages.includes(s))) out.push(r);
    return out;
  }

  /** Whether `rank` holds the tensor. */
  holds(rank: number, name: string): boolean {
    return this.holders(name).includes(rank);
  }

  /** Whether `rank` owns the tensor (the lowest rank holding it). */
  owns(rank: number, name: string): boolean {
    return this.holders(name)[0] === rank;
  }

  /** One line per rank: its stages and their layers. */
  describe(): string[] {
    return this.stagesOfRank.map((ss, r) => `rank ${r}: ` + ss.map((s) => {
      const [a, b] = this.layers[s];
      const parts = [s === 0 ? 'embedding' : '', b > a ? `layers ${a}–${b - 1}` : '', s === this.layers.length - 1 ? 'norm, head, MTP' : ''].filter(Boolean);
      return `stage ${s} (${parts.join(', ')})`;
    }).join(' + '));
  }
}
