// Loading a model directory for inference — weights, tokenizer, generation defaults — and turning
// text or chat messages into prompt ids. Shared by `tinyseek generate`, `tinyseek chat`, the GGUF
// export and the server, so every entry point reads a directory the same way.
import fs from 'node:fs';
import path from 'node:path';
import { DeepseekV3 } from '../model/model.js';
import { loadModel } from '../model/checkpoint.js';
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
  model: DeepseekV3;
  tokenizer: Tokenizer;
  defaults: GenerationDefaults;
  /** Token ids that end a completion: EOS. */
  stopTokenIds: number[];
}

function readDefaults(dir: string): GenerationDefaults {
  const d: GenerationDefaults = { temperature: 0.6, topP: 0.95, topK: 0, minP: 0 };
  const file = path.join(dir, 'generation_config.json');
  if (!fs.existsSync(file)) return d;
  let g: Record<string, unknown>;
  try {
    g = JSON.parse(fs.readFileSync(file, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new LoadError(`${file}: invalid JSON (${(e as Error).message})`);
  }
  if (typeof g.temperature === 'number') d.temperature = g.temperature;
  if (typeof g.top_p === 'number') d.topP = g.top_p;
  if (typeof g.top_k === 'number') d.topK = g.top_k;
  if (typeof g.min_p === 'number') d.minP = g.min_p;
  if (g.do_sample === false) d.temperature = 0;
  return d;
}

/**
 * Loads a model directory (config.json, safetensors weights, tokenizer.json + tokenizer_config.json)
 * and checks that the tokenizer fits the model's vocabulary.
 */
export function loadModelDir(dir: string): LoadedModel {
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new LoadError(`model directory ${dir} does not exist`);
  if (!fs.existsSync(path.join(dir, 'config.json'))) throw new LoadError(`${dir} is not a model directory (expected config.json and model.safetensors)`);
  if (!fs.existsSync(path.join(dir, 'tokenizer.json'))) {
    throw new LoadError(`${dir} has no tokenizer.json; save the model with its tokenizer (Tokenizer.save(dir)) to generate text`);
  }
  const tokenizer = Tokenizer.fromDir(dir);
  const model = loadModel(dir);
  model.eval();
  if (tokenizer.vocabSize > model.cfg.vocabSize) {
    throw new LoadError(`${dir}: the tokenizer has ${tokenizer.vocabSize} ids but the model's vocab_size is ${model.cfg.vocabSize}`);
  }
  return {
    dir,
    name: path.basename(path.resolve(dir)),
    model,
    tokenizer,
    defaults: readDefaults(dir),
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
 * Encodes a plain completion prompt (a BOS first when tokenizer_config.json says add_bos_token).
 * Special-token text such as `<think>` becomes the special token, as Hugging Face tokenizers do by
 * default and as the corpus, eval and RL encode it (an R1-Zero prompt names the tags).
 */
export function completionPrompt(tok: Tokenizer, text: string): number[] {
  const ids = tok.encode(text, { allowSpecial: true });
  return tok.config.add_bos_token ? [tok.bosId, ...ids] : ids;
}
