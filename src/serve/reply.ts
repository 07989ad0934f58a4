// One choice's reply as it streams: generated token ids → text deltas for `reasoning_content` and
// `content` (DeepSeek's reasoner format), or everything in `content` with <think>…</think> inlined,
// or raw text for /v1/completions. Stop strings are honoured while streaming: text that could be
// the start of a stop string is held back until it is known not to be one, so a client never sees
// a stop string or part of it. Reasoning tokens (up to and including </think>) are counted for
// `usage.completion_tokens_details.reasoning_tokens`. The same class builds non-streamed replies,
// so both forms give identical text.
import type { Tokenizer } from '../tokenizer/index.js';
import { SPECIAL } from '../tokenizer/index.js';
import { pushByteLevelBytes } from '../tokenizer/byte-level.js';
import { ReasoningSplitter } from '../infer/chat-stream.js';
import type { ChatChannel } from '../infer/chat-stream.js';
import type { ReasoningFormat } from './schemas.js';

/** A piece of reply text for one channel. */
export interface ReplyDelta {
  kind: ChatChannel;
  text: string;
}

/** separate: DeepSeek's reasoning_content; inline: <think>…</think> inside content; raw: /v1/completions text. */
export type ReplyMode = ReasoningFormat | 'raw';

/** Options of ReplyStream. */
export interface ReplyStreamOptions {
  mode: ReplyMode;
  /** The prompt left a <think> block open (R1's generation prompt), so the output starts as reasoning. */
  startInThinking: boolean;
  /** Stop strings (the text is cut before the first one). */
  stop: readonly string[];
  /** Token ids that end the reply and produce no text (EOS). */
  stopTokenIds: readonly number[];
}

/** Holds back a suffix that may begin a stop string; cuts at a complete one. */
export class StopFilter {
  private held = '';
  constructor(private readonly stops: readonly string[]) {}

  /** Returns the text that is safe to emit and whether a stop string was found (the text is cut before it). */
  push(s: string): { text: string; stopped: boolean } {
    if (!this.stops.length) return { text: s, stopped: false };
    const buf = this.held + s;
    let cut = -1;
    for (const st of this.stops) {
      const i = st ? buf.indexOf(st) : -1;
      if (i >= 0 && (cut < 0 || i < cut)) cut = i;
    }
    if (cut >= 0) {
      this.held = '';
      return { text: buf.slice(0, cut), stopped: true };
    }
    let keep = 0;
    for (const st of this.stops) {
      for (let k = Math.min(st.length - 1, buf.length); k > keep; k--) {
        if (buf.endsWith(st.slice(0, k))) {
          keep = k;
          break;
        }
      }
    }
    this.held = buf.slice(buf.length - keep);
    return { text: buf.slice(0, buf.length - keep), stopped: false };
  }

  /** Releases the held-back text (the reply ended without completing a stop string). */
  flush(): string {
    const h = this.held;
    this.held = '';
    return h;
  }
}

/** Turns one choice's generated tokens into reply deltas (see the file comment). */
export class ReplyStream {
  /** Reasoning text emitted so far (separate mode). */
  reasoning = '';
  /** Content text emitted so far (in inline mode including the <think> tags). */
  content = '';
  /** Tokens consumed (every generated token, including EOS). */
  tokens = 0;
  /** Tokens generated inside the <think> block (including </think>). */
  reasoningTokens = 0;
  /** The reply ended (stop token, stop string, or finish()); later tokens are ignored. */
  ended = false;
  private readonly splitter: ReasoningSplitter | null;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly filters: Record<ChatChannel, StopFilter>;
  private openedInline = false;
  private closedInline = false;

  constructor(private readonly tok: Tokenizer, private readonly opts: ReplyStreamOptions) {
    this.splitter = opts.mode === 'raw' ? null : new ReasoningSplitter(tok, { startInThinking: opts.startInThinking });
    this.filters = { reasoning: new StopFilter(opts.stop), content: new StopFilter(opts.stop) };
  }

  /** Feeds one generated token; returns the deltas it makes visible. */
  push(id: number): ReplyDelta[] {
    if (this.ended) return [];
    this.tokens++;
    if (this.opts.stopTokenIds.includes(id)) return this.finish();
    // A model whose vocabulary is larger than its tokenizer's may (rarely) sample an unused id: no text.
    if (!(id >= 0 && id < this.tok.vocabSize)) return [];
    if (!this.splitter) return this.record(this.filter([{ kind: 'content', text: this.rawText(id) }]));
    const wasThinking = this.splitter.thinking;
    if (wasThinking) this.reasoningTokens++;
    const out = this.filter(this.splitter.push(id));
    if (wasThinking && !this.splitter.thinking && !this.ended) out.push(...this.release('reasoning'), ...this.closeThink());
    return this.record(out);
  }

  /** Ends the reply: flushes an incomplete character and held-back text. */
  finish(): ReplyDelta[] {
    if (this.ended) return [];
    const tail: ReplyDelta[] = this.splitter ? this.splitter.finish() : [{ kind: 'content', text: this.decoder.decode() }];
    const out = this.filter(tail.filter((d) => d.text));
    if (!this.ended) out.push(...this.release('reasoning'), ...this.release('content'));
    this.ended = true;
    return this.record(out);
  }

  private rawText(id: number): string {
    if (this.tok.isSpecial(id)) return this.decoder.decode() + this.tok.tokenOf(id);
    const bytes: number[] = [];
    pushByteLevelBytes(this.tok.tokenOf(id), bytes);
    return this.decoder.decode(Uint8Array.from(bytes), { stream: true });
  }

  /** Applies the stop filter per channel, then the inline decoration; a stop string ends the reply. */
  private filter(ds: readonly ReplyDelta[]): ReplyDelta[] {
    const out: ReplyDelta[] = [];
    for (const d of ds) {
      const r = this.filters[d.kind].push(d.text);
      if (r.text) out.push(...this.decorate({ kind: d.kind, text: r.text }));
      if (r.stopped) {
        this.ended = true;
        break;
      }
    }
    return out;
  }

  private release(kind: ChatChannel): ReplyDelta[] {
    const h = this.filters[kind].flush();
    return h ? this.decorate({ kind, text: h }) : [];
  }

  private decorate(d: ReplyDelta): ReplyDelta[] {
    if (this.opts.mode !== 'inline') return [d];
    const out: ReplyDelta[] = [];
    if (d.kind === 'reasoning' && !this.openedInline) {
      this.openedInline = true;
      out.push({ kind: 'content', text: `${SPECIAL.thinkOpen}\n` });
    }
    if (d.kind === 'content') out.push(...this.closeThink());
    out.push({ kind: 'content', text: d.text });
    return out;
  }

  private closeThink(): ReplyDelta[] {
    if (this.opts.mode !== 'inline' || !this.openedInline || this.closedInline) return [];
    this.closedInline = true;
    return [{ kind: 'content', text: `\n${SPECIAL.thinkClose}\n\n` }];
  }

  private record(ds: ReplyDelta[]): ReplyDelta[] {
    for (const d of ds) {
      if (d.kind === 'reasoning') this.reasoning += d.text;
      else this.content += d.text;
    }
    return ds;
  }
}
