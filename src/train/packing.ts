// Sequence packing: documents become BOS + tokens + EOS, are concatenated in a seeded order
// (reshuffled every epoch) and cut into blocks of seqLen + 1 tokens (inputs and shifted targets).
// Block g of the run is a pure function of (seed, g): a resumed run sees exactly the same data.
import { Rng } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/index.js';

/**
 * Corpus documents → token ids, with special tokens recognised: R1-Zero-format documents carry
 * <think>/<answer> tags, and evaluation and RL prompts encode them as their special tokens, so the
 * base model must see them the same way in pretraining (not as byte pieces).
 */
export function encodeDocuments(tok: Tokenizer, texts: readonly string[]): Int32Array[] {
  return texts.map((t) => Int32Array.from(tok.encode(t, { allowSpecial: true })));
}

/**
 * Packs tokenized documents into fixed-length training blocks.
 *
 * The documents are held as one flat Int32Array and their start offsets, not as one typed array per
 * document: a pretraining corpus has hundreds of thousands of documents (228K for `prose` at 14M
 * tokens), and V8 marks and sweeps every live ArrayBuffer on each major GC, which the training step's
 * tensor allocations trigger many times per step. With an array per document, that GC work took
 * about 40% of the CPU while training the larger base.
 */
export class PackedDataset {
  private epoch = -1;
  private stream = new Int32Array(0);
  /** All documents' token ids back to back; document i is flat[starts[i], starts[i + 1]). */
  private readonly flat: Int32Array;
  private readonly starts: Float64Array;
  readonly blocksPerEpoch: number;
  readonly totalTokens: number;

  /** `docs`: token ids per document (without BOS/EOS). */
  constructor(docs: readonly Int32Array[], readonly seqLen: number, readonly seed: number, private readonly bos: number, private readonly eos: number) {
    this.starts = new Float64Array(docs.length + 1);
    for (let i = 0; i < docs.length; i++) this.starts[i + 1] = this.starts[i]! + docs[i]!.length;
    this.flat = new Int32Array(this.starts[docs.length]!);
    for (let i = 0; i < docs.length; i++) this.flat.set(docs[i]!, this.starts[i]!);
    this.totalTokens = this.flat.length + 2 * docs.length;
    this.blocksPerEpoch = Math.floor(this.totalTokens / (seqLen + 1));
    if (this.blocksPerEpoch < 1) throw new Error(`packing: the corpus has ${this.totalTokens} tokens, fewer than one block of ${seqLen + 1}`);
  }

  /** Number of documents. */
  get documents(): number {
    return this.starts.length - 1;
  }

  private buildEpoch(e: number): void {
    const order = Array.from({ length: this.documents }, (_, i) => i);
    new Rng((this.seed * 7919 + e * 104729 + 1) >>> 0).shuffle(order);
    const s = new Int32Array(this.totalTokens);
    let o = 0;
    for (const i of order) {
      const a = this.starts[i]!, b = this.starts[i + 1]!;
      s[o++] = this.bos;
      s.set(this.flat.subarray(a, b), o);
      o += b - a;
      s[o++] = this.eos;
    }
    this.stream = s;
    this.epoch = e;
  }

  /** Block g (0-based over the whole run): seqLen + 1 token ids. */
  block(g: number): Int32Array {
    const e = Math.floor(g / this.blocksPerEpoch);
    if (e !== this.epoch) this.buildEpoch(e);
    const i = g % this.blocksPerEpoch;
    return this.stream.subarray(i * (this.seqLen + 1), (i + 1) * (this.seqLen + 1));
  }

  /** Blocks [g0, g0 + n) as one [n, seqLen + 1] array. */
  batch(g0: number, n: number): Int32Array {
    const T1 = this.seqLen + 1;
    const out = new Int32Array(n * T1);
    for (let j = 0; j < n; j++) out.set(this.block(g0 + j), j * T1);
    return out;
  }
}
