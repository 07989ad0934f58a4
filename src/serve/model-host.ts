// The served model: one loaded model directory, its tokenizer and ONE shared Generator (continuous
// batching: every HTTP request's choices join the same running batch). `runChoices` starts the n
// choices of a request and reports each one's text deltas as they are generated.
import crypto from 'node:crypto';
import type { LoadedModel } from '../infer/load.js';
import { samplingFrom } from '../infer/load.js';
import { Generator } from '../infer/generator.js';
import type { FinishReason } from '../infer/generator.js';
import { SPECIAL } from '../tokenizer/index.js';
import { ReplyStream } from './reply.js';
import type { ReplyDelta, ReplyMode } from './reply.js';

/** Options of the served model. */
export interface ModelHostOptions {
  /** Name clients use in `model` (default: the directory's base name). */
  id?: string;
  /** Sequences decoded together (KV-cache slots); more requests wait in a queue. Default 32. */
  maxBatch?: number;
  /** Use MTP speculative decoding. */
  speculative?: boolean;
}

/** What one request asks the model for. */
export interface ChoicesRequest {
  prompt: number[];
  n: number;
  /** New tokens per choice (already clamped to the context). */
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  /** Choice i samples with seed + i; a random seed when absent. */
  seed?: number;
  stop: string[];
  mode: ReplyMode;
  startInThinking: boolean;
  /** Aborts every choice (client disconnected); their cache slots are freed at the next step. */
  signal: AbortSignal;
  /** Called with each choice's new text, in generation order. */
  onDelta?: (index: number, deltas: ReplyDelta[]) => void;
  /** Called when a choice finishes (before the others, possibly). */
  onChoiceEnd?: (c: ChoiceResult) => void;
}

/** One finished choice. */
export interface ChoiceResult {
  index: number;
  reasoning: string;
  content: string;
  finishReason: FinishReason;
  completionTokens: number;
  reasoningTokens: number;
}

/** A model being served. */
export class ModelHost {
  readonly id: string;
  readonly created = Math.floor(Date.now() / 1000);
  readonly generator: Generator;
  /** Longest prompt + completion. */
  readonly contextLength: number;
  /** EOS, plus <｜User｜> (an assistant turn cannot go on past the next user turn). */
  readonly stopTokenIds: number[];

  constructor(readonly lm: LoadedModel, opts: ModelHostOptions = {}) {
    this.id = opts.id ?? lm.name;
    this.contextLength = lm.model.cfg.maxPositionEmbeddings;
    // Decoding for stop strings skips ids the tokenizer lacks (a model's vocab_size may exceed the
    // tokenizer's): an exception inside the generator's loop would fail every request in the batch.
    const tok = lm.tokenizer;
    const decode = (ids: number[]): string => tok.decode(ids.filter((id) => id >= 0 && id < tok.vocabSize));
    this.generator = new Generator(lm.model, { maxBatch: opts.maxBatch ?? 32, maxLen: this.contextLength, speculative: opts.speculative, decode });
    const user = lm.tokenizer.specialTokens.includes(SPECIAL.user) ? [lm.tokenizer.idOf(SPECIAL.user)] : [];
    this.stopTokenIds = [...new Set([...lm.stopTokenIds, ...user])];
  }

  /** Runs a request's n choices on the shared generator; resolves when all have finished. */
  runChoices(req: ChoicesRequest): Promise<ChoiceResult[]> {
    const sampling = samplingFrom(this.lm, { temperature: req.temperature, topP: req.topP, topK: req.topK, minP: req.minP });
    const base = req.seed ?? crypto.randomInt(0, 2 ** 31);
    // A failing callback ends this request's choices, never the batch the generator is running.
    const local = new AbortController();
    const signal = AbortSignal.any([req.signal, local.signal]);
    const runs = Array.from({ length: req.n }, async (_, index): Promise<ChoiceResult> => {
      const reply = new ReplyStream(this.lm.tokenizer, { mode: req.mode, startInThinking: req.startInThinking, stop: req.stop, stopTokenIds: this.stopTokenIds });
      let failure: unknown = null;
      const emit = (ds: ReplyDelta[]): void => {
        if (!ds.length || failure) return;
        try {
          req.onDelta?.(index, ds);
        } catch (e) {
          failure = e;
          local.abort();
        }
      };
      const push = (token: number): void => {
        try {
          emit(reply.push(token));
        } catch (e) {
          failure ??= e;
          local.abort();
        }
      };
      const res = await this.generator.generate({
        prompt: req.prompt,
        maxNewTokens: req.maxTokens,
        sampling,
        seed: (base + index) % 2 ** 31,
        stopTokenIds: this.stopTokenIds,
        stop: req.stop.length ? req.stop : undefined,
        signal,
        onToken: (ev) => push(ev.token),
      });
      if (failure) throw failure;
      emit(reply.finish());
      const c: ChoiceResult = {
        index,
        reasoning: reply.reasoning,
        content: reply.content,
        finishReason: res.finishReason,
        completionTokens: res.tokens.length,
        reasoningTokens: reply.reasoningTokens,
      };
      req.onChoiceEnd?.(c);
      return c;
    });
    return Promise.all(runs);
  }
}
