// The Tokenizer: special-token splitting + pre-tokenizer + BPE for encode, byte-level decoding,
// chat templates, and the Hugging Face directory format (tokenizer.json + tokenizer_config.json).

import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../io/atomic.js';
import { pushByteLevelBytes } from './byte-level.js';
import { BPE } from './bpe.js';
import { applyChatTemplate, type ChatMessage } from './chat-template.js';
import { TokenizerError } from './errors.js';
import { fromTokenizerJSON, toTokenizerJSON, type TokenizerFileData } from './hf-json.js';
import { preTokenize } from './pretokenize.js';
import { SpecialTokenMatcher, type TextPiece } from './special-tokens.js';
import { buildNormalizer, buildPostTemplate, buildPreTokenizer, type NormalizeFn, type PostTemplate, type PreTokenizeFn } from './pipeline.js';
import { defaultTokenizerConfig, parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
import { trainBPE, type TrainBPEOptions } from './train-bpe.js';

/** Options of Tokenizer.encode. */
export interface EncodeOptions {
  /** Match special tokens ("<think>", "<｜User｜>", …) in the text (default false: they are encoded as plain bytes). */
  allowSpecial?: boolean;
  /**
   * Add what the tokenizer adds around a sequence, as transformers' add_special_tokens=True does: the
   * post-processor's tokens (Llama-3's BOS), else a BOS (EOS) when tokenizer_config.json sets
   * add_bos_token (add_eos_token), as DeepSeek's does. Default false (chat templates write their own BOS).
   */
  addSpecialTokens?: boolean;
}

/** Options of Tokenizer.decode. */
export interface DecodeOptions {
  /** Drop special tokens from the output (default false). */
  skipSpecial?: boolean;
}

/** Options of Tokenizer.applyChatTemplate (template names resolve against tokenizer_config.json first). */
export interface TokenizerChatOptions {
  addGenerationPrompt?: boolean;
  template?: string;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

/**
 * A byte-level BPE tokenizer with special tokens and chat templates: tinyseek's own (DeepSeek-R1's
 * special tokens, Digits + GPT-2 pre-tokenizer) or a Hugging Face tokenizer.json of the DeepSeek,
 * Qwen or Llama-3 families (their normalizer, pre-tokenizer and post-processor, see pipeline.ts).
 */
export class Tokenizer {
  readonly bpe: BPE;
  /** Every added token (atomic in text, decoded as its content). */
  readonly specialTokens: readonly string[];
  private readonly specialIds = new Set<number>();
  /** Added tokens with special: false (Qwen's <tool_call>, DeepSeek's <｜User｜>): kept by decode's skipSpecial. */
  private readonly keptIds = new Set<number>();
  private readonly matcher: SpecialTokenMatcher;
  private readonly normalize: NormalizeFn | null = null;
  private readonly preTok: PreTokenizeFn = preTokenize;
  private readonly post: PostTemplate = { prefix: [], suffix: [] };
  private readonly lstrip = new Set<string>();
  private readonly rstrip = new Set<string>();

  constructor(
    readonly data: TokenizerFileData,
    readonly config: TokenizerConfig = defaultTokenizerConfig(),
  ) {
    this.bpe = new BPE(data);
    this.specialTokens = [...data.specialTokens];
    for (const s of data.specialTokens) this.specialIds.add(data.vocab.get(s) as number);
    this.matcher = new SpecialTokenMatcher(data.specialTokens);
    const f = data.foreign;
    if (f) {
      this.normalize = buildNormalizer(f.normalizer);
      this.preTok = buildPreTokenizer(f.preTokenizer);
      this.post = buildPostTemplate(f.postProcessor);
      for (const t of [...this.post.prefix, ...this.post.suffix]) this.idOf(t);
      for (const t of f.addedTokens) {
        if (!t.special) this.keptIds.add(t.id);
        if (t.lstrip) this.lstrip.add(t.content);
        if (t.rstrip) this.rstrip.add(t.content);
      }
    }
    for (const key of ['bos_token', 'eos_token', 'pad_token'] as const) {
      const v = config[key];
      if (v !== null && !this.specialTokens.includes(v) && !(f && data.vocab.has(v))) {
        throw new TokenizerError(`tokenizer_config ${key} ${JSON.stringify(v)} is not one of the special tokens ${JSON.stringify(this.specialTokens.slice(0, 12))}${this.specialTokens.length > 12 ? ' …' : ''}`);
      }
    }
    if (config.eos_token === null) throw new TokenizerError('tokenizer_config eos_token: expected a token; found null');
  }

  /** Whether this tokenizer came from a tokenizer.json tinyseek did not write (DeepSeek, Qwen, Llama-3). */
  get isForeign(): boolean {
    return this.data.foreign !== undefined;
  }

  /** Trains a tokenizer on texts (see trainBPE) with the default config. */
  static train(texts: Iterable<string>, options: TrainBPEOptions, config?: TokenizerConfig): Tokenizer {
    return new Tokenizer(trainBPE(texts, options), config);
  }

  /** Loads tokenizer.json (and tokenizer_config.json if present) from a directory. */
  static fromDir(dir: string): Tokenizer {
    const tj = path.join(dir, 'tokenizer.json');
    if (!fs.existsSync(tj)) throw new TokenizerError(`expected ${tj} to exist; found no such file`);
    const tc = path.join(dir, 'tokenizer_config.json');
    return Tokenizer.fromJSON(fs.readFileSync(tj, 'utf8'), fs.existsSync(tc) ? fs.readFileSync(tc, 'utf8') : undefined, { tokenizer: tj, config: tc });
  }

  /** Builds a tokenizer from tokenizer.json text and (optionally) tokenizer_config.json text. */
  static fromJSON(tokenizerJson: string, configJson?: string, sources: { tokenizer?: string; config?: string } = {}): Tokenizer {
    const data = fromTokenizerJSON(tokenizerJson, sources.tokenizer ?? 'tokenizer.json');
    const config = configJson !== undefined ? parseTokenizerConfig(configJson, sources.config ?? 'tokenizer_config.json', !!data.foreign) : defaultTokenizerConfig();
    return new Tokenizer(data, config);
  }

  /** Writes tokenizer.json and tokenizer_config.json into dir (created if needed), each atomically; a foreign tokenizer.json is written back unchanged. */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, 'tokenizer.json'), this.data.foreign ? this.data.foreign.text : toTokenizerJSON(this.data));
    writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify(this.config, null, 2) + '\n');
  }

  /** Number of token ids. */
  get vocabSize(): number {
    return this.bpe.size;
  }

  /** Id of the begin-of-sentence token (throws when the tokenizer has none, as Qwen's). */
  get bosId(): number {
    if (this.config.bos_token === null) throw new TokenizerError('this tokenizer has no bos_token (tokenizer_config.json sets it to null)');
    return this.idOf(this.config.bos_token);
  }

  /** Id of the begin-of-sentence token, or undefined when the tokenizer has none. */
  get bosIdOrUndefined(): number | undefined {
    return this.config.bos_token === null ? undefined : this.idOf(this.config.bos_token);
  }

  /** Id of the end-of-sentence token. */
  get eosId(): number {
    return this.idOf(this.config.eos_token as string);
  }

  /** Id of the padding token (EOS when tokenizer_config.json names none, as Llama-3's). */
  get padId(): number {
    return this.idOf(this.config.pad_token ?? (this.config.eos_token as string));
  }

  /** Id of a token string (byte-level form, or a special token's content); throws if absent. */
  idOf(token: string): number {
    const id = this.data.vocab.get(token);
    if (id === undefined) throw new TokenizerError(`token ${JSON.stringify(token)} is not in the vocabulary`);
    return id;
  }

  /** Token string of an id (byte-level form for ordinary tokens). */
  tokenOf(id: number): string {
    const t = this.bpe.idToToken[id];
    if (t === undefined) throw new TokenizerError(`token id ${id} is out of range [0, ${this.vocabSize}) or unused`);
    return t;
  }

  /** True if id is a special (added) token: atomic, and decoded as its content. */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /**
   * Splits text into added tokens and the text between them (all text when !allowSpecial); an added
   * token with lstrip (rstrip) takes the whitespace on its left (right) with it, as tokenizers does.
   * Added tokens are matched in the text before normalization, also those marked normalized: true
   * (the Rust crate matches those in normalized text; the same for the families' NFC or no normalizer).
   */
  splitSpecial(text: string, allowSpecial: boolean): TextPiece[] {
    if (!allowSpecial) return text.length > 0 ? [{ text, special: false }] : [];
    const pieces = this.matcher.split(text);
    if (this.lstrip.size === 0 && this.rstrip.size === 0) return pieces;
    for (let i = 0; i < pieces.length; i++) {
      const p = pieces[i];
      if (!p.special) continue;
      if (this.lstrip.has(p.text) && i > 0 && !pieces[i - 1].special) pieces[i - 1] = { text: pieces[i - 1].text.trimEnd(), special: false };
      if (this.rstrip.has(p.text) && i + 1 < pieces.length && !pieces[i + 1].special) pieces[i + 1] = { text: pieces[i + 1].text.trimStart(), special: false };
    }
    return pieces.filter((p) => p.special || p.text.length > 0);
  }

  /** Text as the normalizer leaves it (unchanged without one; Qwen's NFC), before pre-tokenizing. */
  normalizeText(text: string): string {
    return this.normalize ? this.normalize(text) : text;
  }

  /** Normalizes and pre-tokenizes text containing no special tokens into the words BPE encodes. */
  words(text: string): string[] {
    return this.preTok(this.normalize ? this.normalize(text) : text);
  }

  /** The ids encode adds before and after a sequence with addSpecialTokens. */
  specialAround(): { prefix: number[]; suffix: number[] } {
    if (this.post.prefix.length > 0 || this.post.suffix.length > 0) {
      return { prefix: this.post.prefix.map((t) => this.idOf(t)), suffix: this.post.suffix.map((t) => this.idOf(t)) };
    }
    return {
      prefix: this.config.add_bos_token && this.config.bos_token !== null ? [this.bosId] : [],
      suffix: this.config.add_eos_token ? [this.eosId] : [],
    };
  }

  /** Encodes text to ids (no BOS/EOS is added unless addSpecialTokens; chat templates add them). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    for (const piece of this.splitSpecial(text, !!options.allowSpecial)) {
      if (piece.special) {
        ids.push(this.data.vocab.get(piece.text) as number);
        continue;
      }
      for (const word of this.words(piece.text)) {
        for (const id of this.bpe.encodeWord(word)) ids.push(id);
      }
    }
    if (!options.addSpecialTokens) return ids;
    const { prefix, suffix } = this.specialAround();
    return [...prefix, ...ids, ...suffix];
  }

  /** Decodes ids to text; invalid UTF-8 (possible only for arbitrary id sequences) becomes U+FFFD. */
  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    let out = '';
    let bytes: number[] = [];
    const flush = (): void => {
      if (bytes.length > 0) out += utf8.decode(Uint8Array.from(bytes));
      bytes = [];
    };
    for (const id of ids) {
      const tok = this.tokenOf(id);
      if (this.specialIds.has(id)) {
        flush();
        if (!options.skipSpecial || this.keptIds.has(id)) out += tok;
      } else if (!pushByteLevelBytes(tok, bytes)) {
        throw new TokenizerError(`token ${id} (${JSON.stringify(tok)}) is not a byte-level token`);
      }
    }
    flush();
    return out;
  }

  /** The named chat templates of this tokenizer's config. */
  get templates(): Record<string, string> {
    return Object.fromEntries(this.config.chat_template.map((t) => [t.name, t.template]));
  }

  /** Renders messages with one of this tokenizer's chat templates ("default" unless named). */
  applyChatTemplate(messages: readonly ChatMessage[], options: TokenizerChatOptions = {}): string {
    return applyChatTemplate(messages, {
      addGenerationPrompt: options.addGenerationPrompt,
      template: options.template,
      templates: this.templates,
      bosToken: this.config.bos_token ?? '',
      eosToken: this.config.eos_token ?? '',
    });
  }
}
