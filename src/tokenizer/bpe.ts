// The BPE model: a vocabulary of byte-level tokens and an ordered list of merges. Encoding a
// pre-tokenized word repeatedly merges the adjacent pair with the lowest merge rank (leftmost
// first on ties), which is what Hugging Face's BPE does, so ids agree with @huggingface/tokenizers.

import { BYTE_TO_UNICODE } from './byte-level.js';
import { TokenizerError } from './errors.js';

const PAIR_BASE = 2 ** 21;
const utf8 = new TextEncoder();

/** Packs two ids into one number key (ids < 2^21). */
export function pairKey(a: number, b: number): number {
  return a * PAIR_BASE + b;
}

/** The data of a byte-level BPE model: token → id for every token (specials included), and merges in rank order. */
export interface BPEData {
  vocab: ReadonlyMap<string, number>;
  merges: ReadonlyArray<readonly [string, string]>;
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
    for (const b of utf8.encode(word)) syms.push(this.byteIds[b] as number);
    this.mergeInPlace(syms);
    if (this.cache.size >= 200_000) this.cache.clear();
    this.cache.set(word, syms);
    return syms;
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
