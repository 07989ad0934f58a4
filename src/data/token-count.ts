// Counting corpus tokens before a tokenizer exists. The corpus is built first and the tokenizer
// is trained on it, so sizes are measured in pre-tokens: the pieces the pre-tokenizer cuts text
// into (every digit one piece, every word one piece, every special token one piece). BPE turns
// each piece into at least one token, so this is a lower bound on the BPE token count, and an
// exact count for digits (which dominate arithmetic text). With a trained tokenizer the count is exact.

import { DEFAULT_SPECIAL_TOKENS, SpecialTokenMatcher, preTokenize, type Tokenizer } from '../tokenizer/index.js';

/** Counts tokens of a text: exact with a tokenizer, pre-tokens without. */
export type TokenCounter = (text: string) => number;

const matcher = new SpecialTokenMatcher(DEFAULT_SPECIAL_TOKENS);

/** Pre-token count (special tokens count one each). */
export function countPreTokens(text: string): number {
  let n = 0;
  for (const piece of matcher.split(text)) n += piece.special ? 1 : preTokenize(piece.text).length;
  return n;
}

/** A counter: the tokenizer's exact count (specials allowed) if given, else pre-tokens. */
export function tokenCounter(tokenizer?: Tokenizer): TokenCounter {
  if (!tokenizer) return countPreTokens;
  return (text) => tokenizer.encode(text, { allowSpecial: true }).length;
}
