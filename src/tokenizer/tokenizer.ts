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
import { SpecialTokenMatcher } from './special-tokens.js';
import { defaultTokenizerConfig, parseTokenizerConfig, type TokenizerConfig } from './tokenizer-config.js';
import { trainBPE, type TrainBPEOptions } from './train-bpe.js';

/** Options of Tokenizer.encode. */
export interface EncodeOptions {
  /** Match special tokens ("<think>", "<｜User｜>", …) in the text (default false: they are encoded as plain bytes). */
  allowSpecial?: boolean;
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

/** A byte-level BPE tokenizer with DeepSeek-R1 special tokens and chat templates. */
export class Tokenizer {
  readonly bpe: BPE;
  readonly specialTokens: readonly string[];
  private readonly specialIds = new Set<number>();
  private readonly matcher: SpecialTokenMatcher;

  constructor(
    readonly data: TokenizerFileData,
    readonly config: TokenizerConfig = defaultTokenizerConfig(),
  ) {
    this.bpe = new BPE(data);
    this.specialTokens = [...data.specialTokens];
    for (const s of data.specialTokens) this.specialIds.add(data.vocab.get(s) as number);
    this.matcher = new SpecialTokenMatcher(data.specialTokens);
    for (const key of ['bos_token', 'eos_token', 'pad_token'] as const) {
      if (!this.specialTokens.includes(config[key])) {
        throw new TokenizerError(`tokenizer_config ${key} ${JSON.stringify(config[key])} is not one of the special tokens ${JSON.stringify(this.specialTokens)}`);
      }
    }
  }

  /** Trains a tokenizer on texts (see trainBPE) with the default config. */
  static train(texts: Iterable<string>, options: TrainBPEOptions, config?: TokenizerConfig): Tokenizer {
    return new Tokenizer(trainBPE(texts, options), config);
  }

  /** Loads tokenizer.json (and tokenizer_config.json if present) from a directory. */
  static fromDir(dir: string): Tokenizer {
    const tj = path.join(dir, 'tokenizer.json');
    if (!fs.existsSync(tj)) throw new TokenizerError(`expected ${tj} to exist; found no such file`);
    const data = fromTokenizerJSON(fs.readFileSync(tj, 'utf8'), tj);
    const tc = path.join(dir, 'tokenizer_config.json');
    const config = fs.existsSync(tc) ? parseTokenizerConfig(fs.readFileSync(tc, 'utf8'), tc) : defaultTokenizerConfig();
    return new Tokenizer(data, config);
  }

  /** Writes tokenizer.json and tokenizer_config.json into dir (created if needed), each atomically. */
  save(dir: string): void {
    fs.mkdirSync(dir, { recursive: true });
    writeFileAtomic(path.join(dir, 'tokenizer.json'), toTokenizerJSON(this.data));
    writeFileAtomic(path.join(dir, 'tokenizer_config.json'), JSON.stringify(this.config, null, 2) + '\n');
  }

  /** Number of token ids. */
  get vocabSize(): number {
    return this.bpe.size;
  }

  /** Id of the begin-of-sentence token. */
  get bosId(): number {
    return this.idOf(this.config.bos_token);
  }

  /** Id of the end-of-sentence token. */
  get eosId(): number {
    return this.idOf(this.config.eos_token);
  }

  /** Id of the padding token. */
  get padId(): number {
    return this.idOf(this.config.pad_token);
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

  /** True if id is a special token. */
  isSpecial(id: number): boolean {
    return this.specialIds.has(id);
  }

  /** Encodes text to ids (no BOS/EOS is added; chat templates add them). */
  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids: number[] = [];
    const pieces = options.allowSpecial ? this.matcher.split(text) : [{ text, special: false }];
    for (const piece of pieces) {
      if (piece.special) {
        ids.push(this.data.vocab.get(piece.text) as number);
        continue;
      }
      for (const word of preTokenize(piece.text)) {
        for (const id of this.bpe.encodeWord(word)) ids.push(id);
      }
    }
    return ids;
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
        if (!options.skipSpecial) out += tok;
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
      bosToken: this.config.bos_token,
      eosToken: this.config.eos_token,
    });
  }
}
