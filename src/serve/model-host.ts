// The served model: one loaded model directory, its tokenizer and ONE shared Generator (continuous
// batching: every HTTP request's choices join the same running batch). `runChoices` starts the n
// choices of a request and reports each one's text deltas as they are generated. Each HTTP request
// is one owner in the generator: free slots go round-robin between requests, and one request holds
// at most `maxSlotsPerRequest` of them, so a request for many choices cannot keep others waiting.
// The prompt tokens of accepted requests (queued or decoding) are capped: past the cap a request is
// refused with 503 (load shedding) instead of waiting behind an unbounded queue.
import crypto from 'node:crypto';
import type { LoadedModel } from '../infer/load.js';
import { samplingFrom } from '../infer/load.js';
import { Generator } from '../infer/generator.js';
import type { FinishReason } from '../infer/generator.js';
import { SPECIAL } from '../tokenizer/index.js';
import { ReplyStream } from './reply.js';
import { serverBusy } from './errors.js';
import type { ReplyDelta, ReplyMode } from './reply.js';

/** Options of the served model. */
export interface ModelHostOptions {
  /** Name clients use in `model` (default: the directory's base name). */
  id?: string;
  /** Sequences decoded together (KV-cache slots); more requests wait in a queue. Default 32. */
  maxBatch?: number;
  /** Use MTP speculative decoding. */
  speculative?: boolean;
  /** Cache slots one request may hold (default: maxBatch minus a quarter, at least 1). */
  maxSlotsPerRequest?: number;
  /** Prompt tokens of accepted requests (queued or decoding, once per choice) beyond which requests get 503. Default 16 × maxBatch × context. */
  maxQueuedTokens?: number;
}

/** Prompt tokens held by one accepted request (see ModelHost.reserve). */
export interface Reservation {
  /** Tokens held now. */
  readonly tokens: number;
  /** Replaces the held amount (the exact count once the prompt is tokenized). */
  resize(tokens: number): void;
  /** Gives the tokens back (idempotent). */
  release(): void;
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
  /** The HTTP request these choices belong to (slots are shared fairly between owners); default: this call. */
  owner?: object;
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
  /** Limit on queued + decoding prompt tokens. */
  readonly maxQueuedTokens: number;
  private queued = 0;

  constructor(readonly lm: LoadedModel, opts: ModelHostOptions = {}) {
    this.id = opts.id ?? lm.name;
    this.contextLength = lm.model.cfg.maxPositionEmbeddings;
    const maxBatch = opts.maxBatch ?? 32;
    const perRequest = opts.maxSlotsPerRequest ?? Math.max(1, maxBatch - Math.max(1, Math.floor(maxBatch / 4)));
    this.maxQueuedTokens = opts.maxQueuedTokens ?? 16 * maxBatch * this.contextLength;
    // Decoding for stop strings skips ids the tokenizer lacks (a model's vocab_size may exceed the
    // tokenizer's): an exception inside the generator's loop would fail every request in the batch.
    const tok = lm.tokenizer;
    const decode = (ids: number[]): string => tok.decode(ids.filter((id) => id >= 0 && id < tok.vocabSize));
    this.generator = new Generator(lm.model, { maxBatch, maxLen: this.contextLength, speculative: opts.speculative, decode, maxSlotsPerOwner: perRequest });
    const user = lm.tokenizer.specialTokens.includes(SPECIAL.user) ? [lm.tokenizer.idOf(SPECIAL.user)] : [];
    this.stopTokenIds = [...new Set([...lm.stopTokenIds, ...user])];
  }

  /** Prompt tokens held by accepted requests (queued or decoding). */
  queuedTokens(): number {
    return this.queued;
  }

  /**
   * Holds `tokens` prompt tokens for a request until released; throws 503 when the limit would be
   * passed. A request is always accepted when nothing else is held (however large it is).
   */
  reserve(tokens: number): Reservation {
    if (this.queued > 0 && this.queued + tokens > this.maxQueuedTokens) throw serverBusy(this.queued, tokens, this.maxQueuedTokens);
    this.queued += tokens;
    let held = tokens;
    const r: Reservation = {
      get tokens() {
        return held;
      },
      resize: (n: number) => {
        if (held < 0) return;
        this.queued += n - held;
        held = n;
      },
      release: () => {
        if (held < 0) return;
        this.queued -= held;
        held = -1;
      },
    };
    return r;
  }

  /** Runs a request's n choices on the shared generator; resolves when all have finished. */
  runChoices(req: ChoicesRequest): Promise<ChoiceResult[]> {
    const sampling = samplingFrom(this.lm, { temperature: req.temperature, topP: req.topP, topK: req.topK, minP: req.minP });
    const base = req.seed ?? crypto.randomInt(0, 2 ** 31);
    // A failing callback ends this request's choices, never the batch the generator is running.
    const local = new AbortController();
    const signal = AbortSignal.any([req.signal, local.signal]);
    const owner = req.owner ?? {};
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
        owner,
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
