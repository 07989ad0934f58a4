// The two logit-based distillation objectives, as the trainer's TrainObjective (src/train/trainer.ts):
//
//   logitKd  along the teacher's kept traces (the dataset's rows): the teacher's next-token
//            distribution from ONE teacher forward over the micro-batch [B, T] → [B, T, V] (or read
//            from the top-k store), the student's from its forward; loss = τ²·forward KL on the
//            response positions (kdLoss).
//   gkd      on-policy (Agarwal et al. 2024): the student samples a response to each prompt of the
//            micro-batch (the batched generator, seeded per step and example: the same samples under
//            any data-parallel split), then one teacher forward
//            scores every position of [prompt; student response]; loss = τ²·JSD(β) on the
//            student's tokens (β = 1 reverse KL). The samples carry no gradient (GKD's
//            stop-gradient through sampling).
// Both report the student's cross-entropy on the targets as `ce` and the tokens the teacher scored.
import { Tensor, noGrad } from '../tensor/index.js';
import { contiguous, slice } from '../ops/shape.js';
import { crossEntropy } from '../ops/loss.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { Generator } from '../infer/generator.js';
import { completionStops } from '../infer/evaluate.js';
import { hashSeed, Rng } from '../tasks/index.js';
import type { ObjectiveBatch, TrainObjective } from '../train/trainer.js';
import { kdLoss, topkLogits } from './kd-loss.js';
import type { Divergence, TeacherLogits } from './kd-loss.js';
import type { TopkStore } from './topk-store.js';

/** Loss, student CE and counts of one micro-batch, given the teacher's logits at its inputs. */
function distillStep(model: CausalLM, ids: Tensor, weights: Tensor, teacherOf: (inputs: Tensor) => TeacherLogits, divergence: Divergence, temperature: number, teacherRuns = true) {
  const [B, T1] = ids.shape as [number, number];
  const T = T1 - 1;
  const inputs = contiguous(slice(ids, 1, 0, T)); // [B, T]
  const targets = contiguous(slice(ids, 1, 1, T1)); // [B, T]
  const teacher = noGrad(() => teacherOf(inputs)); // [B·T, V] or top-k [B·T, k]
  const logits = model.forward(inputs).logits; // [B, T, V]
  const w = contiguous(weights).f32(); // [B, T]
  const loss = kdLoss(logits, teacher, { divergence, temperature, weights: w });
  const ce = noGrad(() => crossEntropy(logits, targets, { weights }).item());
  let tokens = 0;
  for (let i = 0; i < w.length; i++) tokens += w[i]! > 0 ? 1 : 0;
  // teacher_tokens: positions the teacher's forward processed in this step (0 when read from the store)
  return { loss, ce, tokens, extra: { kd_loss: loss.item(), teacher_tokens: teacherRuns ? B * T : 0 } };
}

/** One teacher forward over the micro-batch: inputs [B, T] → full logits [B·T, V] (copied out of the scope). */
function teacherForward(teacher: CausalLM, inputs: Tensor): Float32Array {
  return Float32Array.from(contiguous(teacher.forward(inputs).logits).f32());
}

/** Forward KL to the teacher along the dataset's rows (its kept traces), optionally top-k truncated or from a store. */
export function logitKdObjective(teacher: CausalLM, o: { temperature: number; topK: number; store: TopkStore | null }): TrainObjective {
  teacher.eval();
  const V = teacher.cfg.vocabSize;
  return {
    loss: (model, ids, weights, batch) => distillStep(model, ids, weights, (inputs) => {
      if (o.store) return { kind: 'topk', k: o.store.k, ...o.store.gather(batch.rows) };
      const z = teacherForward(teacher, inputs);
      if (o.topK > 0) return { kind: 'topk', k: o.topK, ...topkLogits(z, inputs.numel, V, o.topK) };
      return { kind: 'full', logits: z };
    }, { kind: 'forward_kl' }, o.temperature, o.store === null),
  };
}

/** The prompt of a dataset row: its tokens up to the first weighted target (the response's start). */
export function promptOf(ids: Int32Array, weights: Float32Array): Int32Array {
  const t0 = weights.findIndex((x) => x > 0);
  if (t0 < 0) throw new Error('gkd: a prompt row has no response position (the prompt fills the whole sequence); raise train.seqLen');
  return ids.slice(0, t0 + 1);
}

/** On-policy distillation: the student's own samples, scored by the teacher at every position, JSD(β). */
export function gkdObjective(teacher: CausalLM, tok: Tokenizer, o: { beta: number; temperature: number; sampleTemperature: number; maxNewTokens: number; seed: number; lambda?: number }): TrainObjective {
  teacher.eval();
  const stops = completionStops(tok);
  const divergence: Divergence = { kind: 'jsd', beta: o.beta };
  const lambda = o.lambda ?? 1;
  let onPolicy = 1; // whether the current step trains on the student's samples (reported as on_policy)
  return {
    batch: async (base: ObjectiveBatch, model: CausalLM, step: number): Promise<ObjectiveBatch> => {
      // GKD's λ: this step is on-policy with probability λ (a seeded draw per step, so a resumed run draws the same)
      onPolicy = lambda >= 1 || new Rng(hashSeed('gkd-lambda', o.seed, step)).next() < lambda ? 1 : 0;
      if (!onPolicy) return base; // the teacher's kept traces, as the dataset holds them
      const n = base.rows.length, T1 = base.ids.length / n, T = T1 - 1;
      const prompts = base.rows.map((_, j) => promptOf(base.ids.subarray(j * T1, (j + 1) * T1), base.weights.subarray(j * T, (j + 1) * T)));
      model.eval();
      const gen = new Generator(model, { maxBatch: n, maxLen: T1 });
      const res = await gen.generateAll(prompts.map((p, j) => ({
        prompt: p, maxNewTokens: Math.max(1, Math.min(o.maxNewTokens, T1 - p.length)),
        sampling: { temperature: o.sampleTemperature }, seed: hashSeed('gkd', o.seed, step, base.rows[j]!, (base.g0 ?? 0) + j), stopTokenIds: stops,
      })));
      model.train();
      // [prompt; student response] padded to T+1; weights on the response's targets
      const ids = new Int32Array(n * T1).fill(tok.padId), weights = new Float32Array(n * T);
      res.forEach((r, j) => {
        const seq = [...prompts[j]!, ...r.tokens].slice(0, T1);
        ids.set(seq, j * T1);
        for (let t = prompts[j]!.length - 1; t + 1 < seq.length; t++) weights[j * T + t] = 1;
      });
      return { ids, weights, rows: base.rows };
    },
    loss: (model, ids, weights) => {
      const r = distillStep(model, ids, weights, (inputs) => ({ kind: 'full', logits: teacherForward(teacher, inputs) }), divergence, o.temperature);
      return { ...r, extra: { ...r.extra, on_policy: onPolicy } };
    },
  };
}
