// DeepSeek-R1's special tokens (note the fullwidth bars ｜ U+FF5C and the ▁ U+2581 in them), plus
// the <answer> tags of the R1-Zero format. Special tokens are atomic: matched whole in text when
// the caller allows it, never produced or crossed by BPE merges.

/** The special tokens by role. */
export const SPECIAL = {
  bos: '<｜begin▁of▁sentence｜>',
  eos: '<｜end▁of▁sentence｜>',
  pad: '<｜▁pad▁｜>',
  user: '<｜User｜>',
  assistant: '<｜Assistant｜>',
  thinkOpen: '<think>',
  thinkClose: '</think>',
  answerOpen: '<answer>',
  answerClose: '</answer>',
} as const;

/** The default special tokens in id order: bos = 0, eos = 1, pad = 2, then the chat and tag tokens. */
export const DEFAULT_SPECIAL_TOKENS: readonly string[] = [
  SPECIAL.bos,
  SPECIAL.eos,
  SPECIAL.pad,
  SPECIAL.user,
  SPECIAL.assistant,
  SPECIAL.thinkOpen,
  SPECIAL.thinkClose,
  SPECIAL.answerOpen,
  SPECIAL.answerClose,
];

/** One piece of text after special-token splitting. */
export interface TextPiece {
  text: string;
  special: boolean;
}

/** Splits text on special tokens, taking at each position the longest special that starts there (as @huggingface/tokenizers does). */
export class SpecialTokenMatcher {
  // Alternatives sorted longest first: at the leftmost match position the regex engine then picks
  // the longest special starting there (leftmost-longest), and the scan itself runs natively.
  private readonly pattern: RegExp | null;

  constructor(readonly tokens: readonly string[]) {
    const alts = [...new Set(tokens)]
      .filter((t) => t.length > 0)
      .sort((a, b) => b.length - a.length)
      .map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    this.pattern = alts.length > 0 ? new RegExp(alts.join('|'), 'gu') : null;
  }

  /** Returns the pieces of `text` in order; special pieces hold exactly one special token. */
  split(text: string): TextPiece[] {
    if (this.pattern === null) return text.length > 0 ? [{ text, special: false }] : [];
    const out: TextPiece[] = [];
    let start = 0;
    for (const m of text.matchAll(this.pattern)) {
      if (m.index > start) out.push({ text: text.slice(start, m.index), special: false });
      out.push({ text: m[0], special: true });
      start = m.index + m[0].length;
    }
    if (start < text.length) out.push({ text: text.slice(start), special: false });
    return out;
  }
}
