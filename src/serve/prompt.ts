// Prompt text → token ids for the server, without stalling it:
//   - A size bound before tokenizing. No token of a byte-level BPE covers more than the longest
//     token's bytes (L; a special token counts its UTF-8 bytes), so a text of B bytes is at least
//     ceil(B / L) tokens. A prompt with B > (context − 1 − extra) · L cannot leave room for one
//     generated token and is refused at once — a sound test: it never refuses a prompt that fits
//     (the looser "one token per byte" is an upper bound on tokens, useless for refusing).
//     Conversely B (+ a BOS) bounds the tokens from above, which sizes the queue reservation.
//   - Tokenizing in slices: the same steps as Tokenizer.encode (special-token split, normalizer and pre-tokenizer,
//     BPE per word), yielding to the event loop every few milliseconds, so /health, streams and
//     other requests are served while a long prompt is encoded.
import type { Tokenizer } from '../tokenizer/index.js';
import { promptTooLarge } from './errors.js';

const longest = new WeakMap<Tokenizer, number>();

/** The most UTF-8 bytes one token of this tokenizer covers (L above). */
export function maxTokenBytes(tok: Tokenizer): number {
  let L = longest.get(tok);
  if (L === undefined) {
    L = 1;
    const specials = new Set(tok.specialTokens);
    for (const t of tok.bpe.idToToken) {
      if (t === undefined) continue;
      // Byte-level tokens spell one byte per character; special tokens are matched as their text.
      L = Math.max(L, specials.has(t) ? Buffer.byteLength(t) : t.length);
    }
    longest.set(tok, L);
  }
  return L;
}

/**
 * Refuses (400, context_length_exceeded) a prompt text that is certainly longer than the context:
 * `extraTokens` are added to it (a BOS). Returns its size in UTF-8 bytes.
 */
export function checkPromptSize(tok: Tokenizer, text: string, contextLength: number, param: string, extraTokens = 0): number {
  // Bytes after normalization: NFC can shrink text (Hangul jamo compose 3:1), and BPE sees the normalized text.
  const bytes = Buffer.byteLength(tok.normalizeText(text));
  const L = maxTokenBytes(tok);
  const limit = (contextLength - 1 - extraTokens) * L;
  if (bytes > limit) throw promptTooLarge(bytes, contextLength, L, limit, param);
  return bytes;
}

/** An upper bound on the tokens of a prompt of `bytes` bytes (each token covers at least one byte), capped at the context. */
export function maxPromptTokens(bytes: number, contextLength: number, extraTokens = 0): number {
  return Math.max(1, Math.min(bytes + extraTokens, contextLength - 1));
}

const SLICE_MS = 4;
const yieldToLoop = (): Promise<void> => new Promise((r) => setImmediate(r));

/**
 * Tokenizer.encode(text, { allowSpecial }) in slices, yielding to the event loop between them; the
 * ids are identical. Rejects with `signal`'s reason once it is aborted.
 */
export async function encodeSliced(tok: Tokenizer, text: string, opts: { allowSpecial?: boolean; signal?: AbortSignal } = {}): Promise<number[]> {
  const ids: number[] = [];
  let t0 = performance.now();
  for (const piece of tok.splitSpecial(text, !!opts.allowSpecial)) {
    if (piece.special) {
      ids.push(tok.idOf(piece.text));
      continue;
    }
    const words = tok.words(piece.text);
    for (let i = 0; i < words.length; i++) {
      for (const id of tok.bpe.encodeWord(words[i])) ids.push(id);
      if ((i & 63) === 63 && performance.now() - t0 > SLICE_MS) {
        await yieldToLoop();
        opts.signal?.throwIfAborted();
        t0 = performance.now();
      }
    }
  }
  return ids;
}
