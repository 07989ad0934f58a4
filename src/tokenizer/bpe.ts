// The BPE model: a vocabulary of byte-level tokens and an ordered list of merges. Encoding a
// pre-tokenized word repeatedly merges the adjacent pair with the lowest merge rank (leftmost
// first on ties), which is what Hugging Face's BPE does, so ids agree with @huggingface/tokenizers.
// Short words use the plain quadratic scan; long ones (a run of letters with no space can be
// kilobytes long) use a heap of candidate pairs over a linked list, O(n log n), with the same
// result — a 15 KB word takes milliseconds instead of seconds. Long words are not cached.

import { BYTE_TO_UNICODE } from './byte-level.js';
import { TokenizerError } from './errors.js';

const PAIR_BASE = 2 ** 21;
const utf8 = new TextEncoder();
/** Words of more symbols than this are merged with the heap. */
const HEAP_FROM = 48;
/** Words longer than this (characters) are not cached (a cache of huge distinct words would grow without bound). */
const CACHE_MAX_WORD = 256;
const POS_BASE = 2 ** 31;

/** Packs two ids into one number key (ids < 2^21). */
export function pairKey(a: number, b: number): number {
  return a * PAIR_BASE + b;
}

/** The data of a byte-level BPE model: token → id for every token (specials included), and merges in rank order. */
export interface BPEData {
  vocab: ReadonlyMap<string, number>;
  merges: ReadonlyArray<readonly [string, string]>;
  /** A word whose byte-level form is itself in the vocab is that one token, merges unapplied (tokenizer.json's model.ignore_merges, as Llama-3 sets it). */
  ignoreMerges?: boolean;
}

/** Encodes pre-tokenized words with a fixed vocabulary and merge list. */
export class BPE {
  /** id → token string. */
  readonly idToToken: string[];
  private readonly ranks = new Map<number, { rank: number; id: number }>();
  private readonly byteIds: number[];
  private readonly cache = new Map<string, number[]>();

  constructor(readonly data: BPEData) {
    this.idToToken = [];
    for (const [tok, id] of data.vocab) {
      if (!Number.isInteger(id) || id < 0 || id >= PAIR_BASE) {
        throw new TokenizerError(`vocab id for ${JSON.stringify(tok)} must be an integer in [0, ${PAIR_BASE}); found ${id}`);
      }
      if (this.idToToken[id] !== undefined) {
        throw new TokenizerError(`vocab id ${id} is used twice: ${JSON.stringify(this.idToToken[id])} and ${JSON.stringify(tok)}`);
      }
      this.idToToken[id] = tok;
    }
    this.byteIds = BYTE_TO_UNICODE.map((ch, b) => {
      const id = data.vocab.get(ch);
      if (id === undefined) {
        throw new TokenizerError(`vocab must contain all 256 byte-level tokens; byte ${b} (${JSON.stringify(ch)}) is missing`);
      }
      return id;
    });
    data.merges.forEach(([a, b], rank) => {
      const ia = data.vocab.get(a);
      const ib = data.vocab.get(b);
      const im = data.vocab.get(a + b);
      if (ia === undefined || ib === undefined || im === undefined) {
        throw new TokenizerError(
          `merge ${rank} ${JSON.stringify(`${a} ${b}`)} needs ${JSON.stringify(a)}, ${JSON.stringify(b)} and ${JSON.stringify(a + b)} in the vocab; ` +
            `missing ${[ia === undefined ? a : null, ib === undefined ? b : null, im === undefined ? a + b : null].filter((x) => x !== null).map((x) => JSON.stringify(x)).join(', ')}`,
        );
      }
      const key = pairKey(ia, ib);
      if (!this.ranks.has(key)) this.ranks.set(key, { rank, id: im });
    });
  }

  /** Number of ids (one more than the largest id). */
  get size(): number {
    return this.idToToken.length;
  }

  /** Encodes one pre-tokenized word (plain text, not byte-level) to ids. */
  encodeWord(word: string): number[] {
    const cached = this.cache.get(word);
    if (cached) return cached;
    const syms: number[] = [];
    const bytes = utf8.encode(word);
    if (this.data.ignoreMerges) {
      let bl = '';
      for (const b of bytes) bl += BYTE_TO_UNICODE[b];
      const whole = this.data.vocab.get(bl);
      if (whole !== undefined) return [whole];
    }
    for (const b of bytes) syms.push(this.byteIds[b] as number);
    const out = syms.length > HEAP_FROM ? this.mergeWithHeap(syms) : (this.mergeInPlace(syms), syms);
    if (word.length <= CACHE_MAX_WORD) {
      if (this.cache.size >= 200_000) this.cache.clear();
      this.cache.set(word, out);
    }
    return out;
  }

  /** Merges byte-level symbols to ids; `heap` picks the algorithm (both give the same ids; exposed for tests). */
  merge(syms: readonly number[], heap: boolean): number[] {
    const copy = [...syms];
    if (heap) return this.mergeWithHeap(copy);
    this.mergeInPlace(copy);
    return copy;
  }

  /**
   * The same merges as mergeInPlace in O(n log n): candidate pairs keyed by (rank, position of the
   * left symbol) in a min-heap — the lowest rank first, the leftmost on ties, as the scan picks
   * them — over a linked list of symbols. A popped pair is stale when its left symbol was merged
   * away or its pair now has another rank (a rank names one pair of ids, so equal rank = same pair).
   */
  private mergeWithHeap(syms: number[]): number[] {
    const n = syms.length;
    const ids = Int32Array.from(syms);
    const next = new Int32Array(n);
    const prev = new Int32Array(n);
    const alive = new Uint8Array(n).fill(1);
    for (let i = 0; i < n; i++) {
      next[i] = i + 1 < n ? i + 1 : -1;
      prev[i] = i - 1;
    }
    const heap: number[] = [];
    const push = (key: number): void => {
      let i = heap.length;
      heap.push(key);
      while (i > 0) {
        const p = (i - 1) >> 1;
        if (heap[p] <= key) break;
        heap[i] = heap[p];
        i = p;
      }
      heap[i] = key;
    };
    const pop = (): number => {
      const top = heap[0];
      const last = heap.pop() as number;
      if (heap.length) {
        let i = 0;
        for (;;) {
          const l = 2 * i + 1;
          if (l >= heap.length) break;
          const c = l + 1 < heap.length && heap[l + 1] < heap[l] ? l + 1 : l;
          if (heap[c] >= last) break;
          heap[i] = heap[c];
          i = c;
        }
        heap[i] = last;
      }
      return top;
    };
    const candidate = (i: number): void => {
      const j = next[i];
      if (i < 0 || j < 0) return;
      const m = this.ranks.get(pairKey(ids[i] as number, ids[j] as number));
      if (m !== undefined) push(m.rank * POS_BASE + i);
    };
    for (let i = 0; i + 1 < n; i++) candidate(i);
    while (heap.length) {
      const key = pop();
      const rank = Math.floor(key / POS_BASE);
      const i = key - rank * POS_BASE;
      const j = next[i];
      if (!alive[i] || j < 0) continue;
      const m = this.ranks.get(pairKey(ids[i] as number, ids[j] as number));
      if (m === undefined || m.rank !== rank) continue;
      ids[i] = m.id;
      alive[j] = 0;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      candidate(prev[i]);
      candidate(i);
    }
    const out: number[] = [];
    for (let i = 0; i >= 0; i = next[i]) out.push(ids[i] as number);
    return out;
  }

  private mergeInPlace(syms: number[]): void {
    while (syms.length > 1) {
      let best = Infinity;
      let bestPos = -1;
      let bestId = -1;
      for (let i = 0; i + 1 < syms.length; i++) {
        const m = this.ranks.get(pairKey(syms[i] as number, syms[i + 1] as number));
        if (m !== undefined && m.rank < best) {
          best = m.rank;
          bestPos = i;
          bestId = m.id;
        }
      }
      if (bestPos < 0) return;
      syms.splice(bestPos, 2, bestId);
    }
  }
}
