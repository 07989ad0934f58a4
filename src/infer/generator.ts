// The generation engine: one reusable batched generator for RL rollouts, evaluation, chat and the
// server. Requests join and leave a running batch between decode steps (continuous batching); each
// holds a slot of the absorbed-MLA KV cache. Identical prompts admitted together are prefilled once
// and their cache rows copied (a GRPO group shares its prompt). Optional MTP speculative decoding
// (DeepSeek-V3 §5.4.3): the MTP module drafts the token after next and the main model verifies it
// in the same step; the output distribution is unchanged (greedy output is identical).
// Fairness: requests may name an owner (the server: one per HTTP request). Free slots are handed out
// round-robin between the owners waiting, least recently served first, and an owner holds at most
// `maxSlotsPerOwner` slots, so one owner's many requests cannot keep another's first token waiting.
// Requests without an owner share one, admitted first-come first-served as before (GRPO, eval).
// Each request samples from its own seeded generator, so outputs do not depend on the schedule.
import { Tensor, Rng, tidy, noGrad } from '../tensor/index.js';
import type { CausalLM, ModelCache } from '../model/causal-lm.js';
import { sampleToken } from './sampler.js';
import type { SamplingParams } from './sampler.js';
import { TensorError } from '../tensor/errors.js';

/** One generation request. */
export interface GenerateRequest {
  /** Prompt token ids (non-empty). */
  prompt: ArrayLike<number>;
  maxNewTokens: number;
  sampling?: SamplingParams;
  /** Seed of this request's sampler (same seed + same prompt → same output). */
  seed?: number;
  /** Token ids that end the completion (included in `tokens` as the last token). */
  stopTokenIds?: readonly number[];
  /** Strings that end the completion (needs a decoder; the text is cut before the stop string). */
  stop?: readonly string[];
  /** Aborts the request; its slot is freed at the next step. */
  signal?: AbortSignal;
  /** Called for every emitted token, in order. */
  onToken?: (ev: TokenEvent) => void;
  /** Who the request belongs to (compared by identity); slots are shared fairly between owners. */
  owner?: object;
}

/** A streamed token. */
export interface TokenEvent {
  token: number;
  logprob: number;
  /** 0-based index in the completion. */
  index: number;
}

/** Why a completion ended. */
export type FinishReason = 'stop' | 'length' | 'abort';

/** The result of one request. */
export interface GenerateResult {
  tokens: number[];
  /** log π(token) under the temperature-scaled distribution, per token. */
  logprobs: number[];
  finishReason: FinishReason;
  promptTokens: number;
  /** Decoded completion (when the generator has a decoder), cut before a matched stop string. */
  text?: string;
  /** The stop string that ended it, if any. */
  stopString?: string;
}

/** Generator options. */
export interface GeneratorOptions {
  /** Sequences decoded together (cache slots). Default 64. */
  maxBatch?: number;
  /** Longest prompt + completion. Default: max_position_embeddings. */
  maxLen?: number;
  /** Token ids → text, for stop strings and `text`. */
  decode?: (ids: number[]) => string;
  /** Use MTP speculative decoding (needs num_nextn_predict_layers ≥ 1). */
  speculative?: boolean;
  /** Slots one owner may hold at once (default maxBatch: no limit). */
  maxSlotsPerOwner?: number;
}

/** Counters since creation. */
export interface GeneratorStats {
  promptTokens: number;
  generatedTokens: number;
  /** Decode steps run (each advances every active sequence). */
  decodeSteps: number;
  /** Drafts proposed / accepted by MTP speculative decoding. */
  drafted: number;
  accepted: number;
}

interface Active {
  req: GenerateRequest;
  slot: number;
  rng: Rng;
  tokens: number[];
  logprobs: number[];
  /** Sampled, not yet fed to the model. */
  pending: number;
  /** MTP draft for the token after `pending` (speculative mode). */
  draft: number;
  resolve: (r: GenerateResult) => void;
  reject: (e: unknown) => void;
  done: boolean;
}

/** Most prompt tokens prefilled in one forward pass (distinct prompts of one length are batched). */
const PREFILL_TOKENS = 4096;

interface Waiting {
  req: GenerateRequest;
  resolve: (r: GenerateResult) => void;
  reject: (e: unknown) => void;
}

/** Batched, continuously batched generator over a model (DeepseekV3 or a dense student). */
export class Generator {
  readonly maxBatch: number;
  readonly maxLen: number;
  readonly speculative: boolean;
  readonly maxSlotsPerOwner: number;
  readonly stats: GeneratorStats = { promptTokens: 0, generatedTokens: 0, decodeSteps: 0, drafted: 0, accepted: 0 };
  private readonly cache: ModelCache;
  private readonly mtpCache: ModelCache | null;
  private readonly freeSlots: number[];
  private readonly waiting: Waiting[] = [];
  private readonly active: Active[] = [];
  private running = false;
  private readonly scratch: Float64Array;
  /** When each owner was last given a slot (a counter), for round-robin admission. */
  private readonly lastServed = new Map<object, number>();
  private serveClock = 0;

  constructor(readonly model: CausalLM, private readonly opts: GeneratorOptions = {}) {
    this.maxBatch = opts.maxBatch ?? 64;
    this.maxLen = opts.maxLen ?? model.cfg.maxPositionEmbeddings;
    this.speculative = !!opts.speculative;
    this.maxSlotsPerOwner = Math.max(1, Math.min(opts.maxSlotsPerOwner ?? this.maxBatch, this.maxBatch));
    if (this.speculative && model.cfg.numNextnPredictLayers < 1) throw new TensorError('Generator', 'speculative decoding needs an MTP module (num_nextn_predict_layers ≥ 1)');
    this.cache = model.newCache(this.maxBatch, this.maxLen);
    this.mtpCache = this.speculative ? model.newMtpCache(this.maxBatch, this.maxLen) : null;
    this.freeSlots = Array.from({ length: this.maxBatch }, (_, i) => this.maxBatch - 1 - i);
    this.scratch = new Float64Array(model.cfg.vocabSize);
  }

  /** MTP draft acceptance rate so far (NaN before any draft). */
  acceptanceRate(): number {
    return this.stats.accepted / this.stats.drafted;
  }

  /** Number of sequences currently decoding. */
  activeCount(): number {
    return this.active.length;
  }

  /** Queues a request; resolves when it finishes. */
  generate(req: GenerateRequest): Promise<GenerateResult> {
    const P = req.prompt.length;
    if (P === 0) return Promise.reject(new TensorError('generate', 'expected a non-empty prompt'));
    if (P >= this.maxLen) return Promise.reject(new TensorError('generate', `prompt of ${P} tokens does not fit the context of ${this.maxLen} tokens`));
    if (!(req.maxNewTokens >= 1)) return Promise.reject(new TensorError('generate', `expected maxNewTokens ≥ 1, found ${req.maxNewTokens}`));
    const V = this.model.cfg.vocabSize;
    for (let i = 0; i < P; i++) {
      const t = req.prompt[i];
      if (!Number.isInteger(t) || t < 0 || t >= V) return Promise.reject(new TensorError('generate', `prompt token ${t} at position ${i} is outside the vocabulary [0, ${V})`));
    }
    return new Promise((resolve, reject) => {
      this.waiting.push({ req, resolve, reject });
      this.kick();
    });
  }

  /** Runs many requests together and returns their results in order. */
  generateAll(reqs: GenerateRequest[]): Promise<GenerateResult[]> {
    return Promise.all(reqs.map((r) => this.generate(r)));
  }

  /** Streams one request's tokens as an async iterator; `result` resolves at the end. */
  stream(req: Omit<GenerateRequest, 'onToken'>): { events: AsyncIterable<TokenEvent>; result: Promise<GenerateResult> } {
    const queue: TokenEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    const result = this.generate({ ...req, onToken: (ev) => { queue.push(ev); wake?.(); } });
    result.finally(() => { finished = true; wake?.(); }).catch(() => {});
    const events: AsyncIterable<TokenEvent> = {
      [Symbol.asyncIterator]: () => ({
        next: async (): Promise<IteratorResult<TokenEvent>> => {
          while (queue.length === 0 && !finished) await new Promise<void>((r) => (wake = r));
          wake = null;
          if (queue.length) return { value: queue.shift()!, done: false };
          return { value: undefined, done: true };
        },
      }),
    };
    return { events, result };
  }

  private kick(): void {
    if (this.running) return;
    this.running = true;
    setImmediate(() => void this.loop());
  }

  private async loop(): Promise<void> {
    try {
      while (this.waiting.length || this.active.length) {
        this.dropAborted();
        this.admit();
        if (this.active.length) this.decodeStep();
        // Let I/O (new requests, client disconnects) in between steps.
        await new Promise<void>((r) => setImmediate(r));
      }
    } catch (e) {
      // Fail every request in flight, but give their cache slots back so the engine stays usable.
      for (const a of this.active) {
        a.done = true;
        a.reject(e);
      }
      for (const w of this.waiting) w.reject(e);
      this.waiting.length = 0;
      this.sweep();
    } finally {
      this.running = false;
    }
  }

  private dropAborted(): void {
    for (let i = this.waiting.length - 1; i >= 0; i--) {
      const w = this.waiting[i];
      if (w.req.signal?.aborted) {
        this.waiting.splice(i, 1);
        w.resolve({ tokens: [], logprobs: [], finishReason: 'abort', promptTokens: w.req.prompt.length, text: this.opts.decode ? '' : undefined });
      }
    }
    for (const a of this.active) if (!a.done && a.req.signal?.aborted) this.finish(a, 'abort');
    this.sweep();
  }

  /**
   * Picks the waiting requests that get the free slots: round-robin between owners (least recently
   * served first), each owner up to maxSlotsPerOwner slots; in arrival order within an owner. With
   * a single owner this is the first `free` requests, as plain first-come first-served.
   */
  private pickWaiting(): Waiting[] {
    let free = this.freeSlots.length;
    const held = new Map<object, number>();
    for (const a of this.active) if (!a.done) held.set(ownerOf(a.req), (held.get(ownerOf(a.req)) ?? 0) + 1);
    const queues = new Map<object, number[]>();
    this.waiting.forEach((w, i) => {
      const o = ownerOf(w.req);
      const q = queues.get(o);
      if (q) q.push(i);
      else queues.set(o, [i]);
    });
    for (const o of this.lastServed.keys()) if (!queues.has(o) && !held.has(o)) this.lastServed.delete(o);
    const owners = [...queues.keys()].sort((a, b) => (this.lastServed.get(a) ?? -1) - (this.lastServed.get(b) ?? -1) || queues.get(a)![0] - queues.get(b)![0]);
    const picked: number[] = [];
    for (let progress = true; free > 0 && progress;) {
      progress = false;
      for (const o of owners) {
        const q = queues.get(o)!;
        const h = held.get(o) ?? 0;
        if (free === 0 || !q.length || h >= this.maxSlotsPerOwner) continue;
        picked.push(q.shift()!);
        held.set(o, h + 1);
        this.lastServed.set(o, ++this.serveClock);
        free--;
        progress = true;
      }
    }
    picked.sort((a, b) => a - b);
    const batch = picked.map((i) => this.waiting[i]);
    for (let k = picked.length - 1; k >= 0; k--) this.waiting.splice(picked[k], 1);
    return batch;
  }

  /**
   * Admits waiting requests into free slots (see pickWaiting). Identical prompts share one prefill;
   * distinct prompts of the same length are prefilled together in one forward pass (up to
   * PREFILL_TOKENS tokens).
   */
  private admit(): void {
    if (!this.waiting.length || !this.freeSlots.length) return;
    const batch = this.pickWaiting();
    if (!batch.length) return;
    const groups = new Map<string, Waiting[]>();
    for (const w of batch) {
      const key = Array.prototype.join.call(w.req.prompt, ',');
      const g = groups.get(key);
      if (g) g.push(w);
      else groups.set(key, [w]);
    }
    const byLength = new Map<number, Waiting[][]>();
    for (const g of groups.values()) {
      const P = g[0].req.prompt.length;
      const l = byLength.get(P);
      if (l) l.push(g);
      else byLength.set(P, [g]);
    }
    for (const [P, gs] of byLength) {
      const per = Math.max(1, Math.floor(PREFILL_TOKENS / P));
      for (let i = 0; i < gs.length; i += per) this.prefill(gs.slice(i, i + per));
    }
  }

  /** Prefills G distinct prompts of one length P as a [G, P] batch; each group's copies share its cache rows. */
  private prefill(groups: Waiting[][]): void {
    const G = groups.length;
    const P = groups[0][0].req.prompt.length;
    const ids = new Int32Array(G * P);
    groups.forEach((g, i) => ids.set(g[0].req.prompt, i * P));
    const slots = groups.map((g) => g.map(() => this.freeSlots.pop()!));
    for (const ss of slots) for (const s of ss) this.cache.reset(s);
    const act0 = this.active.length;
    try {
      noGrad(() => tidy(() => {
        const firsts = Int32Array.from(slots, (ss) => ss[0]);
        const out = this.model.forward(Tensor.ints(ids, [G, P]), { cache: { cache: this.cache, slots: firsts }, lastOnly: !this.speculative });
        const V = this.model.cfg.vocabSize, D = this.model.cfg.hiddenSize;
        const Tout = this.speculative ? P : 1;
        const logits = out.logits.contiguous().f32(); // [G, Tout, V]
        this.stats.promptTokens += G * P;
        const hidden = this.speculative ? out.hidden.contiguous().toFloat32Array() : null; // [G, P, D]
        groups.forEach((group, gi) => {
          const last = logits.subarray((gi * Tout + Tout - 1) * V, (gi * Tout + Tout) * V);
          const prompt = ids.subarray(gi * P, (gi + 1) * P);
          group.forEach((w, j) => {
            const slot = slots[gi][j];
            if (j > 0) this.cache.copySlot(slots[gi][0], slot, P);
            const a: Active = {
              req: w.req, slot, rng: new Rng(w.req.seed ?? 0), tokens: [], logprobs: [], pending: -1, draft: -1,
              resolve: w.resolve, reject: w.reject, done: false,
            };
            this.active.push(a);
            const s = sampleToken(last, w.req.sampling ?? {}, a.rng, this.scratch);
            if (this.emit(a, s.token, s.logprob) && this.speculative) this.mtpPrefill(a, prompt, hidden!.subarray(gi * P * D, (gi + 1) * P * D));
          });
        });
      }));
    } catch (e) {
      // A failed prefill fails its own requests only: every slot it took goes back to the pool.
      const started = this.active.splice(act0);
      for (const a of started) if (!a.done) { a.done = true; a.reject(e); }
      for (const g of groups) for (const w of g) if (!started.some((a) => a.req === w.req)) w.reject(e);
      for (const ss of slots) for (const s of ss) { this.cache.reset(s); this.mtpCache?.reset(s); this.freeSlots.push(s); }
      return;
    }
    this.sweep();
  }

  /** Fills the MTP cache over the prompt and drafts the token after `pending`. */
  private mtpPrefill(a: Active, prompt: Int32Array, hidden: Float32Array): void {
    const P = prompt.length, D = this.model.cfg.hiddenSize;
    this.mtpCache!.reset(a.slot);
    const next = new Int32Array(P);
    for (let i = 0; i < P - 1; i++) next[i] = prompt[i + 1];
    next[P - 1] = a.pending;
    const h = Tensor.from(hidden.slice(0, P * D), [1, P, D]); // a copy: `hidden` may be a view of a larger array
    const d = this.model.mtpDraft(h, next, { cache: { cache: this.mtpCache!, slots: Int32Array.of(a.slot) } });
    a.draft = argmaxLast(d.logits.contiguous().f32(), this.model.cfg.vocabSize);
  }

  /** One decode step for every active sequence. */
  private decodeStep(): void {
    const rows = this.active.filter((a) => !a.done);
    if (!rows.length) return;
    this.stats.decodeSteps++;
    if (this.speculative) this.speculativeStep(rows);
    else this.plainStep(rows);
    this.sweep();
  }

  private plainStep(rows: Active[]): void {
    const B = rows.length, V = this.model.cfg.vocabSize;
    noGrad(() => tidy(() => {
      const ids = Tensor.ints(rows.map((a) => a.pending), [B, 1]);
      const slots = Int32Array.from(rows, (a) => a.slot);
      const logits = this.model.forward(ids, { cache: { cache: this.cache, slots } }).logits.contiguous().f32();
      rows.forEach((a, b) => {
        const s = sampleToken(logits.subarray(b * V, (b + 1) * V), a.req.sampling ?? {}, a.rng, this.scratch);
        this.emit(a, s.token, s.logprob);
      });
    }));
  }

  private speculativeStep(rows: Active[]): void {
    const B = rows.length, V = this.model.cfg.vocabSize, D = this.model.cfg.hiddenSize;
    noGrad(() => tidy(() => {
      const ids = Tensor.ints(rows.flatMap((a) => [a.pending, a.draft]), [B, 2]);
      const slots = Int32Array.from(rows, (a) => a.slot);
      const out = this.model.forward(ids, { cache: { cache: this.cache, slots } });
      const logits = out.logits.contiguous().f32();
      const hidden = out.hidden.contiguous().f32();
      // MTP inputs per row: (H_p, y1) and, if the draft was accepted, (H_{p+1}, y2).
      const mtpNext = new Int32Array(B * 2);
      const valid = new Int32Array(B);
      rows.forEach((a, b) => {
        const base = b * 2 * V;
        this.stats.drafted++;
        const s1 = sampleToken(logits.subarray(base, base + V), a.req.sampling ?? {}, a.rng, this.scratch);
        const accepted = s1.token === a.draft;
        if (!accepted) this.cache.lengths[a.slot] -= 1; // drop the rejected draft's cache entry
        mtpNext[b * 2] = s1.token;
        valid[b] = 1;
        if (!this.emit(a, s1.token, s1.logprob)) return;
        if (accepted) {
          this.stats.accepted++;
          const s2 = sampleToken(logits.subarray(base + V, base + 2 * V), a.req.sampling ?? {}, a.rng, this.scratch);
          mtpNext[b * 2 + 1] = s2.token;
          valid[b] = 2;
          this.emit(a, s2.token, s2.logprob);
        }
      });
      // Advance the MTP module over the verified positions (rows with one padded with a dummy).
      const live = rows.map((a, b) => ({ a, b })).filter(({ a }) => !a.done);
      if (!live.length) return;
      const h = Tensor.empty([live.length, 2, D]);
      const hd = h.f32();
      const next = new Int32Array(live.length * 2);
      live.forEach(({ b }, j) => {
        hd.set(hidden.subarray(b * 2 * D, (b + 1) * 2 * D), j * 2 * D);
        next[j * 2] = mtpNext[b * 2];
        next[j * 2 + 1] = valid[b] === 2 ? mtpNext[b * 2 + 1] : mtpNext[b * 2];
      });
      const mslots = Int32Array.from(live, ({ a }) => a.slot);
      const d = this.model.mtpDraft(h, next, { cache: { cache: this.mtpCache!, slots: mslots } });
      const dl = d.logits.contiguous().f32();
      live.forEach(({ a, b }, j) => {
        const pos = valid[b] - 1;
        if (valid[b] === 1) this.mtpCache!.lengths[a.slot] -= 1; // undo the dummy position
        a.draft = argmaxLast(dl.subarray((j * 2 + pos) * V, (j * 2 + pos + 1) * V), V);
      });
    }));
  }

  /** Records a sampled token; returns false if the sequence finished. */
  private emit(a: Active, token: number, logprob: number): boolean {
    if (a.done) return false;
    a.tokens.push(token);
    a.logprobs.push(logprob);
    a.pending = token;
    this.stats.generatedTokens++;
    a.req.onToken?.({ token, logprob, index: a.tokens.length - 1 });
    if (a.req.stopTokenIds?.includes(token)) return this.finish(a, 'stop'), false;
    if (a.req.stop?.length && this.opts.decode) {
      const text = this.opts.decode(a.tokens);
      for (const s of a.req.stop) {
        if (s && text.includes(s)) return this.finish(a, 'stop', s), false;
      }
    }
    const used = a.req.prompt.length + a.tokens.length;
    if (a.tokens.length >= a.req.maxNewTokens || used + (this.speculative ? 2 : 1) > this.maxLen) return this.finish(a, 'length'), false;
    return true;
  }

  private finish(a: Active, reason: FinishReason, stopString?: string): void {
    if (a.done) return;
    a.done = true;
    let text: string | undefined;
    if (this.opts.decode) {
      text = this.opts.decode(a.tokens);
      if (stopString) text = text.slice(0, text.indexOf(stopString));
    }
    a.resolve({ tokens: a.tokens, logprobs: a.logprobs, finishReason: reason, promptTokens: a.req.prompt.length, text, stopString });
  }

  /** Removes finished sequences and frees their slots. */
  private sweep(): void {
    for (let i = this.active.length - 1; i >= 0; i--) {
      const a = this.active[i];
      if (!a.done) continue;
      this.cache.reset(a.slot);
      this.mtpCache?.reset(a.slot);
      this.freeSlots.push(a.slot);
      this.active.splice(i, 1);
    }
  }
}

/** The owner of requests that name none (all of them share it). */
const NO_OWNER = {};

function ownerOf(req: GenerateRequest): object {
  return req.owner ?? NO_OWNER;
}

function argmaxLast(x: Float32Array, V: number): number {
  const o = x.length - V;
  let best = -Infinity, arg = 0;
  for (let i = 0; i < V; i++) if (x[o + i] > best) { best = x[o + i]; arg = i; }
  return arg;
}
