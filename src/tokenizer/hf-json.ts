// Reading and writing Hugging Face's tokenizer.json for tinyseek's tokenizer: model type BPE with
// vocab + merges, the Digits + ByteLevel pre-tokenizer Sequence, the ByteLevel decoder, and the
// special tokens as added_tokens with special: true (they are also in model.vocab, as in DeepSeek's
// own file, so tools that only read the vocab see them).

import type { BPEData } from './bpe.js';
import { TokenizerError } from './errors.js';
import { PRE_TOKENIZER_JSON } from './pretokenize.js';
import { buildNormalizer, buildPostTemplate, buildPreTokenizer } from './pipeline.js';

/** One entry of tokenizer.json's added_tokens. */
export interface HFAddedToken {
  id: number;
  content: string;
  single_word: boolean;
  lstrip: boolean;
  rstrip: boolean;
  normalized: boolean;
  special: boolean;
}

/** The BPE model section of tokenizer.json. */
export interface HFBPEModelJSON {
  type: 'BPE';
  dropout: null;
  unk_token: null;
  continuing_subword_prefix: null;
  end_of_word_suffix: null;
  fuse_unk: boolean;
  byte_fallback: boolean;
  ignore_merges: boolean;
  vocab: Record<string, number>;
  merges: string[];
}

/** The tokenizer.json document tinyseek writes. */
export interface HFTokenizerJSON {
  version: string;
  truncation: null;
  padding: null;
  added_tokens: HFAddedToken[];
  normalizer: null;
  pre_tokenizer: typeof PRE_TOKENIZER_JSON;
  post_processor: null;
  decoder: { type: 'ByteLevel'; add_prefix_space: boolean; trim_offsets: boolean; use_regex: boolean };
  model: HFBPEModelJSON;
}

/** The sections of a tokenizer.json tinyseek did not write, kept to build its pipeline (pipeline.ts) and to save it back unchanged. */
export interface ForeignTokenizerSpec {
  normalizer: unknown;
  preTokenizer: unknown;
  postProcessor: unknown;
  /** added_tokens with their flags (lstrip, rstrip, special, …). */
  addedTokens: HFAddedToken[];
  /** The file's text, written back as is by Tokenizer.save. */
  text: string;
}

/** What tokenizer.json holds for tinyseek: the BPE data and the special (added) tokens with their ids. */
export interface TokenizerFileData extends BPEData {
  /** Every added token (matched whole in text, never produced by merges). */
  specialTokens: string[];
  /** Present when the file is not tinyseek's own layout (a DeepSeek, Qwen or Llama-3 tokenizer.json). */
  foreign?: ForeignTokenizerSpec;
}

/** Serializes BPE data as tokenizer.json text (vocab in id order, merges as "a b" strings). */
export function toTokenizerJSON(data: TokenizerFileData): string {
  const added: HFAddedToken[] = data.specialTokens.map((content) => {
    const id = data.vocab.get(content);
    if (id === undefined) throw new TokenizerError(`special token ${JSON.stringify(content)} has no id in the vocab`);
    return { id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true };
  });
  added.sort((x, y) => x.id - y.id);
  for (const [a, b] of data.merges) {
    if (a.includes(' ') || b.includes(' ')) {
      throw new TokenizerError(`merge parts must not contain a space (byte-level tokens never do); found ${JSON.stringify([a, b])}`);
    }
  }
  const doc = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: added,
    normalizer: null,
    pre_tokenizer: PRE_TOKENIZER_JSON,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: false,
      byte_fallback: false,
      ignore_merges: false,
      vocab: '__VOCAB__',
      merges: data.merges.map(([a, b]) => `${a} ${b}`),
    },
  };
  // JS objects reorder integer-like keys ("0".."9"), so the vocab is written by hand in id order.
  const entries = [...data.vocab].sort((x, y) => x[1] - y[1]);
  const vocabText = `{\n${entries.map(([t, id]) => `      ${JSON.stringify(t)}: ${id}`).join(',\n')}\n    }`;
  return JSON.stringify(doc, null, 2).replace('"__VOCAB__"', vocabText) + '\n';
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

/** Whether a parsed tokenizer.json has exactly tinyseek's own pipeline (Digits + ByteLevel, no normalizer, no post-processing). */
function isOwnLayout(doc: Record<string, unknown>): boolean {
  const pre = doc.pre_tokenizer;
  const post = doc.post_processor;
  return (
    (doc.normalizer === null || doc.normalizer === undefined) &&
    isRecord(pre) &&
    pre.type === 'Sequence' &&
    Array.isArray(pre.pretokenizers) &&
    pre.pretokenizers.length === 2 &&
    isRecord(pre.pretokenizers[0]) &&
    pre.pretokenizers[0].type === 'Digits' &&
    pre.pretokenizers[0].individual_digits === true &&
    isRecord(pre.pretokenizers[1]) &&
    pre.pretokenizers[1].type === 'ByteLevel' &&
    pre.pretokenizers[1].add_prefix_space === false &&
    pre.pretokenizers[1].use_regex !== false &&
    (post === null || post === undefined || (isRecord(post) && post.type === 'ByteLevel')) &&
    !(isRecord(doc.model) && doc.model.ignore_merges === true) &&
    (Array.isArray(doc.added_tokens) ? doc.added_tokens : []).every((t: unknown) => isRecord(t) && !t.lstrip && !t.rstrip && !t.single_word && t.special !== false)
  );
}

/**
 * Parses tokenizer.json text: tinyseek's own layout, or any byte-level BPE file (model BPE without
 * byte fallback, ByteLevel decoder) whose normalizer, pre-tokenizer and post-processor pipeline.ts
 * supports — the DeepSeek-V3/R1, Qwen2/3 and Llama-3 families.
 */
export function fromTokenizerJSON(text: string, source = 'tokenizer.json'): TokenizerFileData {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new TokenizerError(`${source}: expected JSON; ${(e as Error).message}`);
  }
  if (!isRecord(doc)) throw new TokenizerError(`${source}: expected a JSON object at the top level; found ${typeof doc}`);
  const model = doc.model;
  if (!isRecord(model) || model.type !== 'BPE') {
    throw new TokenizerError(`${source}: expected model.type "BPE"; found ${JSON.stringify(isRecord(model) ? model.type : model)}`);
  }
  if (!isRecord(doc.decoder) || doc.decoder.type !== 'ByteLevel') {
    throw new TokenizerError(`${source}: expected decoder.type "ByteLevel" (a byte-level BPE tokenizer); found ${JSON.stringify(doc.decoder)}`);
  }
  for (const flag of ['byte_fallback', 'fuse_unk'] as const) {
    if (model[flag] === true) throw new TokenizerError(`${source}: model.${flag} = true is not supported (expected false)`);
  }
  for (const opt of ['continuing_subword_prefix', 'end_of_word_suffix'] as const) {
    if (model[opt] !== null && model[opt] !== undefined && model[opt] !== '') {
      throw new TokenizerError(`${source}: model.${opt} must be null; found ${JSON.stringify(model[opt])}`);
    }
  }
  if (!isRecord(model.vocab)) throw new TokenizerError(`${source}: expected model.vocab to be an object; found ${JSON.stringify(model.vocab)}`);
  const vocab = new Map<string, number>();
  for (const [tok, id] of Object.entries(model.vocab)) {
    if (typeof id !== 'number') throw new TokenizerError(`${source}: vocab id of ${JSON.stringify(tok)} must be a number; found ${JSON.stringify(id)}`);
    vocab.set(tok, id);
  }
  if (!Array.isArray(model.merges)) throw new TokenizerError(`${source}: expected model.merges to be an array; found ${typeof model.merges}`);
  const merges: Array<[string, string]> = model.merges.map((m: unknown, i: number): [string, string] => {
    if (typeof m === 'string') {
      const sp = m.indexOf(' ');
      if (sp <= 0 || sp === m.length - 1 || m.indexOf(' ', sp + 1) !== -1) {
        throw new TokenizerError(`${source}: merge ${i} must be "a b" with exactly one space; found ${JSON.stringify(m)}`);
      }
      return [m.slice(0, sp), m.slice(sp + 1)];
    }
    if (Array.isArray(m) && m.length === 2 && typeof m[0] === 'string' && typeof m[1] === 'string') return [m[0], m[1]];
    throw new TokenizerError(`${source}: merge ${i} must be "a b" or ["a", "b"]; found ${JSON.stringify(m)}`);
  });
  const specialTokens: string[] = [];
  const added = Array.isArray(doc.added_tokens) ? doc.added_tokens : [];
  const addedTokens: HFAddedToken[] = [];
  for (const t of added) {
    if (!isRecord(t) || typeof t.content !== 'string' || typeof t.id !== 'number') {
      throw new TokenizerError(`${source}: each added token needs a string content and a number id; found ${JSON.stringify(t)}`);
    }
    const existing = vocab.get(t.content);
    if (existing !== undefined && existing !== t.id) {
      throw new TokenizerError(`${source}: added token ${JSON.stringify(t.content)} has id ${t.id} but model.vocab gives it ${existing}`);
    }
    vocab.set(t.content, t.id);
    specialTokens.push(t.content);
    // single_word (match only as a whole word) changes where the token is matched; tinyseek does not
    // implement it, so such a file is refused rather than encoded differently from the Rust crate.
    if (t.single_word === true) throw new TokenizerError(`${source}: added token ${JSON.stringify(t.content)} has single_word: true, which is not supported`);
    addedTokens.push({
      id: t.id, content: t.content, single_word: t.single_word === true, lstrip: t.lstrip === true, rstrip: t.rstrip === true,
      normalized: t.normalized === true, special: t.special !== false,
    });
  }
  const ignoreMerges = model.ignore_merges === true;
  if (isOwnLayout(doc)) return { vocab, merges, specialTokens };
  // Built once here so that an unsupported section is reported when the file is read.
  buildNormalizer(doc.normalizer);
  buildPreTokenizer(doc.pre_tokenizer);
  buildPostTemplate(doc.post_processor);
  return {
    vocab, merges, specialTokens, ignoreMerges,
    foreign: { normalizer: doc.normalizer ?? null, preTokenizer: doc.pre_tokenizer ?? null, postProcessor: doc.post_processor ?? null, addedTokens, text },
  };
}
