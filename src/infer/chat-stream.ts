// Splitting a stream of generated token ids into the reasoning (between <think> and </think>) and
// the answer, decoding byte-level tokens to UTF-8 incrementally (a character split over two tokens
// is emitted once complete). Used by `tinyseek chat`, `tinyseek generate --chat` and the server
// (DeepSeek's `reasoning_content` / `content`).
import type { Tokenizer } from '../tokenizer/index.js';
import { SPECIAL, UNICODE_TO_BYTE } from '../tokenizer/index.js';

/** Which part of the reply a piece of text belongs to. */
export type ChatChannel = 'reasoning' | 'content';

/** A piece of newly decoded text. */
export interface ChatDelta {
  kind: ChatChannel;
  text: string;
}

/** Options of ReasoningSplitter. */
export interface ReasoningSplitterOptions {
  /** The prompt left a <think> block open (R1's generation prompt does): output starts as reasoning. */
  startInThinking?: boolean;
}

/** Per-channel whitespace trimming: drops leading whitespace and holds trailing whitespace until more text follows. */
class Channel {
  text = '';
  private started = false;
  private pendingWs = '';

  /** Returns what can be emitted now. */
  add(s: string): string {
    if (!this.started) {
      s = s.replace(/^\s+/, '');
      if (!s) return '';
      this.started = true;
    }
    const m = /\s+$/.exec(s);
    const body = m ? s.slice(0, m.index) : s;
    if (!body) {
      this.pendingWs += s;
      return '';
    }
    const out = this.pendingWs + body;
    this.pendingWs = m ? m[0] : '';
    this.text += out;
    return out;
  }
}

/**
 * Splits generated tokens into reasoning and answer text. Special tokens other than <think> and
 * </think> (EOS, BOS, …) produce no text. Leading and trailing whitespace of each part is trimmed
 * (R1 writes "<think>\n…\n</think>\n\nanswer").
 */
export class ReasoningSplitter {
  private inThink: boolean;
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private readonly channels: Record<ChatChannel, Channel> = { reasoning: new Channel(), content: new Channel() };

  constructor(private readonly tok: Tokenizer, opts: ReasoningSplitterOptions = {}) {
    this.inThink = !!opts.startInThinking;
  }

  /** The reasoning so far (trimmed). */
  get reasoning(): string {
    return this.channels.reasoning.text;
  }

  /** The answer so far (trimmed). */
  get content(): string {
    return this.channels.content.text;
  }

  /** Whether the next text would be reasoning. */
  get thinking(): boolean {
    return this.inThink;
  }

  /** Feeds one generated token; returns the text it completes (0–2 deltas). */
  push(id: number): ChatDelta[] {
    if (this.tok.isSpecial(id)) {
      const out = this.flushDecoder();
      const t = this.tok.tokenOf(id);
      if (t === SPECIAL.thinkOpen) this.inThink = true;
      else if (t === SPECIAL.thinkClose) this.inThink = false;
      return out;
    }
    const tokStr = this.tok.tokenOf(id);
    const bytes = new Uint8Array(tokStr.length);
    let n = 0;
    for (const ch of tokStr) {
      const b = UNICODE_TO_BYTE.get(ch);
      if (b !== undefined) bytes[n++] = b;
    }
    return this.emit(this.decoder.decode(bytes.subarray(0, n), { stream: true }));
  }

  /** Ends the stream (flushes an incomplete UTF-8 sequence as U+FFFD). */
  finish(): ChatDelta[] {
    return this.flushDecoder();
  }

  private flushDecoder(): ChatDelta[] {
    return this.emit(this.decoder.decode());
  }

  private emit(s: string): ChatDelta[] {
    if (!s) return [];
    const kind: ChatChannel = this.inThink ? 'reasoning' : 'content';
    const text = this.channels[kind].add(s);
    return text ? [{ kind, text }] : [];
  }
}

/** Splits a finished completion's tokens into reasoning and answer at once. */
export function splitReasoning(tok: Tokenizer, ids: readonly number[], startInThinking: boolean): { reasoning: string; content: string } {
  const s = new ReasoningSplitter(tok, { startInThinking });
  for (const id of ids) s.push(id);
  s.finish();
  return { reasoning: s.reasoning, content: s.content };
}
