// The text pipeline of a Hugging Face tokenizer.json around byte-level BPE, for files tinyseek did
// not write (DeepSeek-V3/R1, Qwen2/3, Llama-3): the normalizer, the pre-tokenizer and the
// post-processor, each built from its JSON section. Pre-tokenizers work as in the Rust crate: a
// list of pieces, each step splitting every piece further; BPE never merges across pieces. The
// byte-level mapping itself is done by BPE.encodeWord, so pieces stay plain text here.
//
// Oniguruma → JavaScript regex translation (Split patterns such as Llama-3's `(?i:'s|'t|…)`) is
// @huggingface/tokenizers' own (its SplitPreTokenizer compiles the pattern); the splitting loop is
// ours: that library's splitting is about 10× slower than its regex (see bench/tokenize.ts).
import * as hfTokenizers from '@huggingface/tokenizers';
import { TokenizerError } from './errors.js';

/** text → text. */
export type NormalizeFn = (text: string) => string;
/** text → pieces. */
export type PreTokenizeFn = (text: string) => string[];

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function unsupported(what: string, cfg: unknown): TokenizerError {
  return new TokenizerError(`tokenizer.json ${what}: ${JSON.stringify(cfg).slice(0, 160)} is not supported (supported: the byte-level BPE pipelines of DeepSeek, Qwen and Llama-3)`);
}

/** Builds the normalizer of tokenizer.json (null → identity). */
export function buildNormalizer(cfg: unknown): NormalizeFn | null {
  if (cfg === null || cfg === undefined) return null;
  if (!isRecord(cfg)) throw unsupported('normalizer', cfg);
  switch (cfg.type) {
    case 'Sequence': {
      const parts = (Array.isArray(cfg.normalizers) ? cfg.normalizers : []).map(buildNormalizer).filter((f): f is NormalizeFn => f !== null);
      if (parts.length === 0) return null;
      return (t) => parts.reduce((s, f) => f(s), t);
    }
    case 'NFC':
    case 'NFD':
    case 'NFKC':
    case 'NFKD': {
      const form = cfg.type;
      return (t) => t.normalize(form);
    }
    case 'Lowercase':
      return (t) => t.toLowerCase();
    case 'Prepend': {
      const p = String(cfg.prepend ?? '');
      return (t) => (t.length > 0 ? p + t : t);
    }
    case 'Replace': {
      const pat = cfg.pattern;
      if (!isRecord(pat) || typeof pat.String !== 'string') throw unsupported('normalizer', cfg);
      const from = pat.String, to = String(cfg.content ?? '');
      return (t) => t.split(from).join(to);
    }
    case 'Strip': {
      const l = cfg.strip_left !== false, r = cfg.strip_right !== false;
      return (t) => (l && r ? t.trim() : l ? t.trimStart() : r ? t.trimEnd() : t);
    }
    default:
      throw unsupported('normalizer', cfg);
  }
}

/** Split behaviours of the Rust crate (SplitDelimiterBehavior). */
export type SplitBehavior = 'Removed' | 'Isolated' | 'MergedWithPrevious' | 'MergedWithNext' | 'Contiguous';

/**
 * Splits text by the matches of `re` (global) with a behaviour, as tokenizers' `NormalizedString::split`
 * does: the text is cut into matched and unmatched segments (`invert` swaps which is which; empty
 * matches are ignored), then matched segments are removed, isolated, merged into the previous or
 * next segment, or merged with adjacent matches (Contiguous).
 */
export function splitWithBehavior(text: string, re: RegExp, behavior: SplitBehavior, invert = false): string[] {
  const segs: Array<[string, boolean]> = [];
  let last = 0;
  re.lastIndex = 0;
  for (const m of text.matchAll(re)) {
    if (m[0].length === 0) continue;
    if (m.index > last) segs.push([text.slice(last, m.index), invert]);
    segs.push([m[0], !invert]);
    last = m.index + m[0].length;
  }
  if (last < text.length) segs.push([text.slice(last), invert]);
  const out: string[] = [];
  switch (behavior) {
    case 'Isolated':
      for (const [s] of segs) out.push(s);
      return out;
    case 'Removed':
      for (const [s, isMatch] of segs) if (!isMatch) out.push(s);
      return out;
    case 'MergedWithPrevious': {
      let prevMatch = false;
      for (const [s, isMatch] of segs) {
        if (isMatch && out.length > 0 && !prevMatch) out[out.length - 1] += s;
        else out.push(s);
        prevMatch = isMatch;
      }
      return out;
    }
    case 'MergedWithNext': {
      let pending = '';
      for (const [s, isMatch] of segs) {
        if (isMatch) {
          if (pending) out.push(pending);
          pending = s;
        } else {
          out.push(pending + s);
          pending = '';
        }
      }
      if (pending) out.push(pending);
      return out;
    }
    case 'Contiguous': {
      let prevMatch = false;
      for (const [s, isMatch] of segs) {
        if (isMatch && prevMatch) out[out.length - 1] += s;
        else out.push(s);
        prevMatch = isMatch;
      }
      return out;
    }
  }
}

/** GPT-2's split regex (ByteLevel with use_regex = true). */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

function splitRegex(cfg: Record<string, unknown>): RegExp {
  const pat = cfg.pattern;
  if (isRecord(pat) && typeof pat.String === 'string') return new RegExp(pat.String.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'), 'gu');
  if (!isRecord(pat) || typeof pat.Regex !== 'string') throw unsupported('pre_tokenizer Split', cfg);
  // @huggingface/tokenizers' translation of the Oniguruma pattern (held by its Split pre-tokenizer).
  let re: unknown;
  try {
    // Exported by the package at run time (its type declarations omit it); pinned version 0.2.0.
    const Split = (hfTokenizers as unknown as { SplitPreTokenizer: new (c: unknown) => { pattern: unknown } }).SplitPreTokenizer;
    re = new Split({ type: 'Split', pattern: { Regex: pat.Regex }, behavior: 'Isolated', invert: false }).pattern;
  } catch (e) {
    throw new TokenizerError(`tokenizer.json pre_tokenizer Split: the regex ${JSON.stringify(pat.Regex)} does not compile: ${(e as Error).message}`);
  }
  if (!(re instanceof RegExp)) throw new TokenizerError(`tokenizer.json pre_tokenizer Split: the regex ${JSON.stringify(pat.Regex)} does not compile`);
  return new RegExp(re.source, re.flags.includes('g') ? re.flags : re.flags + 'g');
}

const BEHAVIORS: readonly string[] = ['Removed', 'Isolated', 'MergedWithPrevious', 'MergedWithNext', 'Contiguous'];

/** Builds one pre-tokenizer step: each piece → its sub-pieces. */
function buildStep(cfg: unknown): PreTokenizeFn | null {
  if (!isRecord(cfg)) throw unsupported('pre_tokenizer', cfg);
  switch (cfg.type) {
    case 'Sequence': {
      const steps = (Array.isArray(cfg.pretokenizers) ? cfg.pretokenizers : []).map(buildStep).filter((f): f is PreTokenizeFn => f !== null);
      return (t) => {
        let pieces = [t];
        for (const step of steps) pieces = pieces.flatMap(step);
        return pieces;
      };
    }
    case 'Split': {
      const behavior = String(cfg.behavior ?? 'Isolated');
      if (!BEHAVIORS.includes(behavior)) throw unsupported('pre_tokenizer Split behavior', cfg);
      const re = splitRegex(cfg);
      const invert = cfg.invert === true;
      return (t) => splitWithBehavior(t, re, behavior as SplitBehavior, invert);
    }
    case 'ByteLevel': {
      // The byte-level mapping is BPE.encodeWord's; here only the prefix space and GPT-2's split.
      const prefix = cfg.add_prefix_space === true;
      const regex = cfg.use_regex !== false;
      if (!prefix && !regex) return null;
      return (t) => {
        const s = prefix && !t.startsWith(' ') ? ' ' + t : t;
        return regex ? (s.match(GPT2_SPLIT) ?? []) : [s];
      };
    }
    case 'Digits': {
      // ASCII digits, as @huggingface/tokenizers splits them (the Rust crate: char::is_numeric).
      const re = cfg.individual_digits === true ? /\d/gu : /\d+/gu;
      return (t) => splitWithBehavior(t, re, 'Isolated');
    }
    default:
      throw unsupported('pre_tokenizer', cfg);
  }
}

/** Builds the pre-tokenizer of tokenizer.json (null → the whole text is one piece). */
export function buildPreTokenizer(cfg: unknown): PreTokenizeFn {
  if (cfg === null || cfg === undefined) return (t) => (t.length > 0 ? [t] : []);
  const step = buildStep(cfg);
  if (!step) return (t) => (t.length > 0 ? [t] : []);
  return (t) => step(t).filter((p) => p.length > 0);
}

/** What the post-processor adds around one encoded sequence when special tokens are added. */
export interface PostTemplate {
  /** Token contents before the sequence (e.g. Llama-3's "<|begin_of_text|>"). */
  prefix: string[];
  /** Token contents after it. */
  suffix: string[];
}

/** Reads the single-sequence template of a TemplateProcessing post-processor (ByteLevel or null: nothing added). */
export function buildPostTemplate(cfg: unknown): PostTemplate {
  const none: PostTemplate = { prefix: [], suffix: [] };
  if (cfg === null || cfg === undefined) return none;
  if (!isRecord(cfg)) throw unsupported('post_processor', cfg);
  switch (cfg.type) {
    case 'ByteLevel':
      return none;
    case 'Sequence': {
      const parts = (Array.isArray(cfg.processors) ? cfg.processors : []).map(buildPostTemplate);
      return { prefix: parts.flatMap((p) => p.prefix), suffix: parts.flatMap((p) => p.suffix) };
    }
    case 'TemplateProcessing': {
      const single = Array.isArray(cfg.single) ? cfg.single : [];
      const out: PostTemplate = { prefix: [], suffix: [] };
      let seen = false;
      for (const item of single) {
        if (isRecord(item) && isRecord(item.SpecialToken) && typeof item.SpecialToken.id === 'string') (seen ? out.suffix : out.prefix).push(item.SpecialToken.id);
        else if (isRecord(item) && isRecord(item.Sequence)) seen = true;
        else throw unsupported('post_processor', cfg);
      }
      return out;
    }
    default:
      throw unsupported('post_processor', cfg);
  }
}
