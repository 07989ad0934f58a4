// The pre-tokenizer of tinyseek's tokenizer.json, reproduced exactly: a Sequence of
//   Digits(individual_digits = true)   every ASCII digit becomes its own piece, and
//   ByteLevel(add_prefix_space = false, use_regex = true)   GPT-2's split regex on each piece.
// BPE merges never cross a piece boundary, so "12345" is always five single-digit tokens, which
// keeps arithmetic learnable for small models. (Digits splits on ASCII \d as @huggingface/tokenizers
// does; the Rust crate uses char::is_numeric, which also splits other scripts' digits.)

const DIGITS = /[^\d]+|\d/gu;
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

/** Splits text (containing no special tokens) into the pieces BPE works on, as plain strings. */
export function preTokenize(text: string): string[] {
  const out: string[] = [];
  for (const piece of text.match(DIGITS) ?? []) {
    if (piece.length === 1 && piece >= '0' && piece <= '9') {
      out.push(piece);
      continue;
    }
    for (const word of piece.match(GPT2_SPLIT) ?? []) out.push(word);
  }
  return out;
}

/** The `pre_tokenizer` entry of tokenizer.json that preTokenize implements. */
export const PRE_TOKENIZER_JSON = {
  type: 'Sequence',
  pretokenizers: [
    { type: 'Digits', individual_digits: true },
    { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true },
  ],
} as const;
