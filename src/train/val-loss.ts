// Held-out loss: the mean next-token cross-entropy of a model on a fixed validation split of the
// pretraining corpus, packed exactly as training packs (BOS + document + EOS, blocks of seqLen + 1) in
// one fixed order, every full block evaluated once. The number a scaling study fits.
import { Tensor, tidy, noGrad } from '../tensor/index.js';
import type { CausalLM } from '../model/causal-lm.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { PackedDataset, encodeDocuments } from './packing.js';

/** Options of the evaluation. */
export interface ValLossOptions {
  seqLen: number;
  /** Sequences per forward pass (default 16). */
  batchSize?: number;
  /** Intra-document attention, as the run trained (default false). */
  documentMask?: boolean;
  /** Seed of the (one-epoch) document order (default 0). */
  seed?: number;
}

/** Mean cross-entropy (nats per token) over every full block of the validation documents. */
export function validationLoss(model: CausalLM, tok: Tokenizer, texts: readonly string[], o: ValLossOptions): { loss: number; tokens: number; blocks: number } {
  const data = new PackedDataset(encodeDocuments(tok, texts), o.seqLen, o.seed ?? 0, tok.bosId, tok.eosId);
  const blocks = data.blocksPerEpoch;
  const B = o.batchSize ?? 16;
  const wasTraining = model.training;
  model.eval();
  let sum = 0, tokens = 0;
  try {
    for (let g = 0; g < blocks; g += B) {
      const n = Math.min(B, blocks - g);
      noGrad(() => tidy(() => {
        const r = model.loss(Tensor.ints(data.batch(g, n), [n, o.seqLen + 1]), { mtpWeight: 0, documentMask: o.documentMask });
        sum += r.ce * r.tokens;
        tokens += r.tokens;
      }));
    }
  } finally {
    if (wasTraining) model.train();
  }
  return { loss: sum / tokens, tokens, blocks };
}
