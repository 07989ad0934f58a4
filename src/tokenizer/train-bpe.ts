// Training a byte-level BPE vocabulary. Words (pre-tokenizer pieces) are counted once; each merge
// then touches only the words that contain the merged pair, updating pair counts incrementally
// from a max-heap with lazy invalidation (the approach of Hugging Face's BpeTrainer), so a corpus
// of a few MB trains in seconds rather than recounting every pair after every merge.

import { BYTE_TO_UNICODE } from './byte-level.js';
import { pairKey, type BPEData } from './bpe.js';
import { TokenizerError } from './errors.js';
import { preTokenize } from './pretokenize.js';
import { DEFAULT_SPECIAL_TOKENS, SpecialTokenMatcher } from './special-tokens.js';

/** Options of trainBPE. */
export interface TrainBPEOptions {
  /** Total vocabulary size including special tokens and the 256 byte tokens. */
  vocabSize: number;
  /** Special tokens in id order (default: DeepSeek-R1's, bos = 0, eos = 1). */
  specialTokens?: readonly string[];
  /** A pair seen fewer times than this is never merged (default 2). */
  minFrequency?: number;
}

/** A trained model: the BPE data plus which vocabulary entries are special tokens. */
export interface TrainedBPE extends BPEData {
  specialTokens: string[];
}

interface HeapEntry {
  count: number;
  a: number;
  b: number;
}

/** Max-heap on count; ties broken by smaller (a, b) so training is deterministic. */
class PairHeap {
  private readonly items: HeapEntry[] = [];

  get size(): number {
    return this.items.length;
  }

  private static above(x: HeapEntry, y: HeapEntry): boolean {
    if (x.count !== y.count) return x.count > y.count;
    if (x.a !== y.a) return x.a < y.a;
    return x.b < y.b;
  }

  push(e: HeapEntry): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!PairHeap.above(h[i] as HeapEntry, h[p] as HeapEntry)) break;
      [h[i], h[p]] = [h[p] as HeapEntry, h[i] as HeapEntry];
      i = p;
    }
  }

  pop(): HeapEntry | undefined {
    const h = this.items;
    if (h.length === 0) return undefined;
    const top = h[0] as HeapEntry;
    const last = h.pop() as HeapEntry;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && PairHeap.above(h[l] as HeapEntry, h[m] as HeapEntry)) m = l;
        if (r < h.length && PairHeap.above(h[r] as HeapEntry, h[m] as HeapEntry)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m] as HeapEntry, h[i] as HeapEntry];
        i = m;
      }
    }
    return top;
  }
}

/** Counts pre-tokenizer words over texts; special tokens are cut out first and never counted. */
export function countWords(texts: Iterable<string>, specialTokens: readonly string[]): Map<string, number> {
  const matcher = new SpecialTokenMatcher(specialTokens);
  const counts = new Map<string, number>();
  for (const text of texts) {
    for (const piece of matcher.split(text)) {
      if (piece.special) continue;
      for (const w of preTokenize(piece.text)) counts.set(w, (counts.get(w) ?? 0) + 1);
    }
  }
  return counts;
}

/** Trains a byte-level BPE on texts: specials get ids 0..k-1, bytes the next 256 ids, merges the rest. */
export function trainBPE(texts: Iterable<string>, options: TrainBPEOptions): TrainedBPE {
  const specials = [...(options.specialTokens ?? DEFAULT_SPECIAL_TOKENS)];
  const minFrequency = options.minFrequency ?? 2;
  if (new Set(specials).size !== specials.length) {
    throw new TokenizerError(`special tokens must be distinct; found duplicates in ${JSON.stringify(specials)}`);
  }
  if (specials.some((s) => s.length === 0)) throw new TokenizerError('special tokens must be non-empty strings; found ""');
  const base = specials.length + 256;
  if (!Number.isInteger(options.vocabSize) || options.vocabSize < base) {
    throw new TokenizerError(
      `vocabSize must be an integer ≥ ${base} (${specials.length} special + 256 byte tokens); found ${options.vocabSize}`,
    );
  }
  if (!(minFrequency >= 1)) throw new TokenizerError(`minFrequency must be ≥ 1; found ${minFrequency}`);

  // id → token string; specials first, then the 256 bytes in byte order.
  const tokens: string[] = [...specials, ...BYTE_TO_UNICODE];
  const vocab = new Map<string, number>();
  tokens.forEach((t, i) => {
    if (vocab.has(t)) throw new TokenizerError(`special token ${JSON.stringify(t)} collides with a byte-level token`);
    vocab.set(t, i);
  });
  const merges: Array<[string, string]> = [];

  const counts = countWords(texts, specials);
  const utf8 = new TextEncoder();
  const words: number[][] = [];
  const freqs: number[] = [];
  for (const [w, c] of counts) {
    const ids = Array.from(utf8.encode(w), (b) => specials.length + b);
    if (ids.length < 2) continue; // a single byte can take part in no merge
    words.push(ids);
    freqs.push(c);
  }

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, number[]>();
  const addPairs = (wi: number, sign: 1 | -1, touched: Set<number> | null): void => {
    const w = words[wi] as number[];
    const f = (freqs[wi] as number) * sign;
    for (let i = 0; i + 1 < w.length; i++) {
      const k = pairKey(w[i] as number, w[i + 1] as number);
      pairCount.set(k, (pairCount.get(k) ?? 0) + f);
      if (sign > 0) {
        let list = pairWords.get(k);
        if (!list) pairWords.set(k, (list = []));
        if (list[list.length - 1] !== wi) list.push(wi);
        touched?.add(k);
      }
    }
  };
  for (let wi = 0; wi < words.length; wi++) addPairs(wi, 1, null);

  const heap = new PairHeap();
  const PB = 2 ** 21;
  for (const [k, c] of pairCount) heap.push({ count: c, a: Math.floor(k / PB), b: k % PB });

  const seen = new Int32Array(words.length).fill(-1);
  const mergedPairs = new Set<number>();
  let step = 0;
  while (vocab.size < options.vocabSize) {
    const top = heap.pop();
    if (!top) break;
    const k = pairKey(top.a, top.b);
    const current = pairCount.get(k) ?? 0;
    if (current !== top.count) {
      if (current > 0) heap.push({ count: current, a: top.a, b: top.b });
      continue;
    }
    if (current < minFrequency) break;

    const merged = (tokens[top.a] as string) + (tokens[top.b] as string);
    let newId = vocab.get(merged);
    if (newId === undefined) {
      newId = tokens.length;
      tokens.push(merged);
      vocab.set(merged, newId);
    }
    const stamp = step++;
    // A pair can only come back if a merge re-created an existing token; keep its first rank only.
    if (!mergedPairs.has(k)) {
      mergedPairs.add(k);
      merges.push([tokens[top.a] as string, tokens[top.b] as string]);
    }

    const touched = new Set<number>();
    for (const wi of pairWords.get(k) ?? []) {
      if (seen[wi] === stamp) continue;
      seen[wi] = stamp;
      const w = words[wi] as number[];
      let has = false;
      for (let i = 0; i + 1 < w.length; i++) {
        if (w[i] === top.a && w[i + 1] === top.b) {
          has = true;
          break;
        }
      }
      if (!has) continue;
      addPairs(wi, -1, null);
      const out: number[] = [];
      for (let i = 0; i < w.length; i++) {
        if (i + 1 < w.length && w[i] === top.a && w[i + 1] === top.b) {
          out.push(newId);
          i++;
        } else {
          out.push(w[i] as number);
        }
      }
      words[wi] = out;
      addPairs(wi, 1, touched);
    }
    pairCount.delete(k);
    pairWords.delete(k);
    for (const t of touched) {
      const c = pairCount.get(t) ?? 0;
      if (c > 0 && (Math.floor(t / PB) === newId || t % PB === newId)) heap.push({ count: c, a: Math.floor(t / PB), b: t % PB });
    }
  }
  return { vocab, merges, specialTokens: specials };
}
