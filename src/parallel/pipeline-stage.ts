// One pipeline stage of DeepSeek-V3: a contiguous range of decoder layers, with the embedding on the
// first stage and the final norm, lm_head, CE and MTP losses on the last. Its forward maps the
// activations received from the previous stage (or the micro-batch's tokens) to its output (or the
// loss); its backward is the autograd engine's, seeded with the gradient received from the next stage
// on that output plus its own loss terms (the balance losses of its MoE layers, the last stage's loss).
import { Tensor } from '../tensor/index.js';
import type { BackwardSeed } from '../tensor/index.js';
import type { DeepseekV3, LossDenominators, LossOptions } from '../model/model.js';
import { MoE } from '../model/moe.js';

/** One micro-batch: ids [b, T+1] (inputs ids[:, :T], targets ids[:, 1:]) and optional target weights [b, T]. */
export interface MicroBatch {
  ids: Tensor;
  weights?: Tensor;
}

/** The loss options of a pipeline step: the normalizers are the whole (accumulation) batch's. */
export type StageLossOptions = LossOptions & { denominators: LossDenominators };

/** What a stage's forward of one micro-batch produced. */
export interface StageForward {
  /** Output activations [b, T, D] for the next stage (null on the last stage). */
  out: Tensor | null;
  /** Scalar loss terms computed here: CE + MTP on the last stage, plus this stage's balance losses. */
  loss: Tensor | null;
  /** This micro-batch's share of the step's loss terms (as `DeepseekV3.loss` reports them). */
  ce: number;
  mtp: number;
  balance: number;
  tokens: number;
}

/** A stage of the pipeline (see src/parallel/stages.ts for the cut). */
export class PipelineStage {
  readonly first: boolean;
  readonly last: boolean;
  private readonly moes: MoE[];

  constructor(readonly model: DeepseekV3, readonly stage: number, readonly pp: number, readonly range: [number, number]) {
    this.first = stage === 0;
    this.last = stage === pp - 1;
    this.moes = model.model.layers.slice(range[0], range[1]).map((l) => l.mlp).filter((m): m is MoE => m instanceof MoE);
  }

  /**
   * Forward of one micro-batch. `x` [b, T, D] is the previous stage's output received as a leaf that
   * requires grad (its `.grad` after backward is what goes back); null on the first stage.
   */
  forward(x: Tensor | null, mb: MicroBatch, opts: StageLossOptions): StageForward {
    const m = this.model;
    const b = mb.ids.shape[0];
    const { inputs, ctx } = m.trainingContext(mb.ids, opts);
    let h = this.first ? m.embed(inputs) : x!;
    h = m.runLayers(h, ctx, this.range[0], this.range[1]);
    let loss: Tensor | null = null;
    let ce = 0, mtp = 0, tokens = 0;
    if (this.last) {
      const head = m.headLoss(h, mb.ids, { ...opts, weights: mb.weights }, ctx);
      loss = head.loss;
      ({ ce, mtp, tokens } = head);
    }
    // read now: the next micro-batch's forward overwrites each MoE layer's lastBalanceLoss
    const bal = m.balanceLoss(this.moes, b, opts.denominators, loss ?? undefined);
    if (bal) loss = bal.loss;
    return { out: this.last ? null : h, loss, ce, mtp, balance: bal ? bal.value : 0, tokens };
  }

  /** The backward roots of a forward: its output with the received gradient, and its loss terms scaled by `scale`. */
  seeds(f: StageForward, outGrad: Tensor | null, scale: number): BackwardSeed[] {
    const s: BackwardSeed[] = [];
    if (f.out) {
      if (!outGrad) throw new Error(`pipeline stage ${this.stage}: backward without the next stage's gradient`);
      s.push([f.out, outGrad]);
    }
    if (f.loss) s.push([f.loss, scale === 1 ? undefined : Tensor.full(f.loss.shape, scale)]);
    return s;
  }
}
