// Loading a model directory for inference — weights, tokenizer, generation defaults — and turning
// text or chat messages into prompt ids. Shared by `tinyseek generate`, `tinyseek chat`, the GGUF
// export and the server, so every entry point reads a directory the same way.
import fs from 'node:fs';
import path from 'node:path';
import type { CausalLM } from '../model/causal-lm.js';
import { loadModel } from '../model/checkpoint.js';
import type { LoadModelOptions } from '../model/checkpoint.js';
import { Tokenizer, SPECIAL } from '../tokenizer/index.js';
import type { ChatMessage } from '../tokenizer/index.js';
import { Generator } from './generator.js';
import type { GeneratorOptions } from './generator.js';
import type { SamplingParams } from './sampler.js';

/** A model directory that cannot be used for inference (missing files, mismatched tokenizer). */
export class LoadError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

/** Sampling defaults read from generation_config.json (DeepSeek-R1 recommends T = 0.6, top-p 0.95). */
export interface GenerationDefaults {
  temperature: number;
  topP: number;
  topK: number;
  minP: number;
}

/** A model ready for inference. */
export interface LoadedModel {
  /** The directory it came from. */
  dir: string;
  /** A short name (the directory's base name). */
  name: string;
  model: CausalLM;
  tokenizer: Tokenizer;
  defaults: GenerationDefaults;
  /** Token ids that end a completion: EOS. */
  stopTokenIds: number[];
}

/** The ranges generation_config.json's sampling keys must fall in: those of a chat-completions request. */
export const GENERATION_RANGES = {
  temperature: { lo: 0, hi: 2, loOpen: false, integer: false },
  top_p: { lo: 0, hi: 1, loOpen: true, integer: false },
  top_k: { lo: 0, hi: Number.MAX_SAFE_INTEGER, loOpen: false, integer: true },
  min_p: { lo: 0, hi: 1, loOpen: false, integer: false },
} as const;

function rangeText(r: { lo: number; hi: number; loOpen: boolean; integer: boolean }): string {
  if (r.integer) return 'an integer ≥ 0';
  return `a number in ${r.loOpen ? '(' : '['}${r.lo}, ${r.hi}]`;
}

/**
 * Reads the sampling defaults of generation_config.json (absent file or keys: R1's T = 0.6, top-p
 * 0.95). Values outside what a request may ask for are a LoadError naming the file, the key, the
 * expected range and the value found (null counts as absent, as transformers writes it).
 */
export function readGenerationDefaults(dir: string): GenerationDefaults {
  const d: GenerationDefaults = { temperature: 0.6, topP: 0.95, topK: 0, minP: 0 };
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return d;
  let g: unknown;
  try {
    g = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch (e) {
    throw new LoadError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (g === null || typeof g !== 'object' || Array.isArray(g)) throw new LoadError(`${file}: expected a JSON object, found ${Array.isArray(g) ? 'an array' : JSON.stringify(g)}`);
  const o = g as Record<string, unknown>;
  const read = (key: keyof typeof GENERATION_RANGES): number | undefined => {
    const v = o[key];
    if (v === undefined || v === null) return undefined;
    const r = GENERATION_RANGES[key];
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= r.lo && v <= r.hi && !(r.loOpen && v === r.lo) && (!r.integer || Number.isInteger(v));
    if (!ok) throw new LoadError(`${file}: key "${key}": expected ${rangeText(r)}, found ${JSON.stringify(v)}`);
    return v as number;
  };
  d.temperature = read('temperature') ?? d.temperature;
  d.topP = read('top_p') ?? d.topP;
  d.topK = read('top_k') ?? d.topK;
  d.minP = read('min_p') ?? d.minP;
  if (o.do_sample !== undefined && o.do_sample !== null && typeof o.do_sample !== 'boolean') {
    throw new LoadError(`${file}: key "do_sample": expected true or false, found ${JSON.stringify(o.do_sample)}`);
  }
  if (o.do_sample === false) d.temperature = 0;
  return d;
}

/**
 * Loads a model directory (config.json, safetensors weights, tokenizer.json + tokenizer_config.json)
 * and checks that the tokenizer fits the model's vocabulary.
 */
export function loadModelDir(dir: string, opts: LoadModelOptions = {}): LoadedModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new LoadError(`model directory ${dir} does not exist`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new LoadError(`${dir} is not a model directory (expected config.json and model.safetensors)`);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) {
    throw new LoadError(`${dir} has no tokenizer.json; save the model with its tokenizer (Tokenizer.save(dir)) to generate text`);
  }
  const defaults = readGenerationDefaults(dir);
  const tokenizer = Tokenizer.fromDir(dir);
  const model = loadModel(dir, opts);
  model.eval();
  if (tokenizer.vocabSize > model.cfg.vocabSize) {
    throw new LoadError(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.cfg.vocabSize}`);
  }
  return {
    dir,
    name: path.basename(path.resolve(dir)),
    model,
    tokenizer,
    defaults,
    stopTokenIds: [tokenizer.eosId],
  };
}

/**
 * A Generator over a loaded model that decodes with its tokenizer (for stop strings and `text`;
 * special tokens such as <think> stay in the text, so stop strings can match them).
 */
export function createGenerator(lm: LoadedModel, opts: Omit<GeneratorOptions, 'decode'> = {}): Generator {
  return new Generator(lm.model, { ...opts, decode: (ids) => lm.tokenizer.decode(ids) });
}

/** Sampling parameters from CLI/API overrides over the directory's defaults. */
export function samplingFrom(lm: LoadedModel, o: { temperature?: number; topP?: number; topK?: number; minP?: number }): SamplingParams {
  return {
    temperature: o.temperature ?? lm.defaults.temperature,
    topP: o.topP ?? lm.defaults.topP,
    topK: o.topK ?? lm.defaults.topK,
    minP: o.minP ?? lm.defaults.minP,
  };
}

/** A rendered chat prompt. */
export interface ChatPrompt {
  text: string;
  ids: number[];
  /** The prompt leaves a <think> block open (R1's generation prompt does), so output starts as reasoning. */
  opensThinking: boolean;
}

/** Whether text ends inside a <think> block (an opening tag after the last closing tag). */
export function endsInsideThink(text: string): boolean {
  return text.lastIndexOf(SPECIAL.thinkOpen) > text.lastIndexOf(SPECIAL.thinkClose);
}

/** Renders messages with the tokenizer's chat template (generation prompt appended) and encodes them. */
export function chatPrompt(tok: Tokenizer, messages: readonly ChatMessage[], template?: string): ChatPrompt {
  const text = tok.applyChatTemplate(messages, { addGenerationPrompt: true, template });
  return { text, ids: tok.encode(text, { allowSpecial: true }), opensThinking: endsInsideThink(text) };
}

/**
 * Encodes a plain completion prompt, with what the tokenizer puts before a sequence (a BOS when
 * tokenizer_config.json says add_bos_token, or a TemplateProcessing post-processor's tokens, as
 * transformers' add_special_tokens does; nothing after it: a completion must not end in EOS).
 * Special-token text such as `<think>` becomes the special token, as Hugging Face tokenizers do by
 * default and as the corpus, eval and RL encode it (an R1-Zero prompt names the tags).
 */
export function completionPrompt(tok: Tokenizer, text: string): number[] {
  return [...tok.specialAround().prefix, ...tok.encode(text, { allowSpecial: true })];
}
