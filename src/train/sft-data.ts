// SFT data: chat-formatted (prompt, response) pairs rendered through the chat template, with the
// loss on the response tokens only (prompt tokens get weight 0). One example per row, padded.
import fs from 'node:fs';
import { Tensor } from '../tensor/index.js';
import { Rng } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/index.js';

/** One SFT example as stored in JSONL. */
export interface SftExample {
  prompt?: string;
  response?: string;
  messages?: { role: 'system' | 'user' | 'assistant'; content: string }[];
  /** Chat template name (default: the tokenizer's default). */
  template?: string;
}

/** Tokenized SFT examples served as [B, T+1] ids with [B, T] target weights. */
export class SftDataset {
  private order: number[] = [];
  private epoch = -1;

  constructor(readonly rows: { ids: Int32Array; weights: Float32Array }[], readonly seqLen: number, readonly seed: number, private readonly pad: number) {
    if (rows.length === 0) throw new Error('SFT data is empty');
  }

  /** Reads a JSONL file of {prompt, response} or {messages} (last message = the assistant's response). */
  static fromFile(file: string, tok: Tokenizer, seqLen: number, seed: number): SftDataset {
    const lines = fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.trim());
    const rows = lines.map((line, i) => {
      let ex: SftExample;
      try {
        ex = JSON.parse(line) as SftExample;
      } catch (e) {
        throw new Error(`${file}:${i + 1}: invalid JSON (${(e as Error).message})`);
      }
      return encodeExample(ex, tok, seqLen, `${file}:${i + 1}`);
    });
    return new SftDataset(rows, seqLen, seed, tok.padId);
  }

  /** Examples [g0, g0 + n) of the run (seeded order, reshuffled each epoch). */
  batch(g0: number, n: number): { ids: Tensor; weights: Tensor } {
    const T1 = this.seqLen + 1;
    const ids = new Int32Array(n * T1).fill(this.pad);
    const w = new Float32Array(n * this.seqLen);
    for (let j = 0; j < n; j++) {
      const g = g0 + j;
      const e = Math.floor(g / this.rows.length);
      if (e !== this.epoch) {
        this.order = new Rng((this.seed * 31 + e * 7 + 3) >>> 0).shuffle(this.rows.map((_, i) => i));
        this.epoch = e;
      }
      const row = this.rows[this.order[g % this.rows.length]];
      ids.set(row.ids, j * T1);
      w.set(row.weights, j * this.seqLen);
    }
    return { ids: Tensor.ints(ids, [n, T1]), weights: Tensor.from(w, [n, this.seqLen]) };
  }
}

/** Renders and tokenizes one example; weights mark the response's target positions. */
export function encodeExample(ex: SftExample, tok: Tokenizer, seqLen: number, where = 'example'): { ids: Int32Array; weights: Float32Array } {
  const msgs = ex.messages ?? (ex.prompt !== undefined && ex.response !== undefined ? [{ role: 'user' as const, content: ex.prompt }, { role: 'assistant' as const, content: ex.response }] : null);
  if (!msgs || msgs.length < 2 || msgs[msgs.length - 1].role !== 'assistant') {
    throw new Error(`${where}: expected {"prompt", "response"} or {"messages"} ending with an assistant message`);
  }
  const promptText = tok.applyChatTemplate(msgs.slice(0, -1), { addGenerationPrompt: true, template: ex.template });
  const fullText = tok.applyChatTemplate(msgs, { template: ex.template });
  if (!fullText.startsWith(promptText.replace(/<think>\n$/, ''))) throw new Error(`${where}: the chat template does not render the prompt as a prefix of the conversation`);
  const promptIds = tok.encode(promptText, { allowSpecial: true });
  let ids = tok.encode(fullText, { allowSpecial: true });
  // The R1 template opens the generation prompt with "<think>\n"; the response (which starts with it) is what we learn.
  let p = 0;
  while (p < promptIds.length && p < ids.length && promptIds[p] === ids[p]) p++;
  if (ids.length > seqLen + 1) ids = ids.slice(0, seqLen + 1);
  const weights = new Float32Array(seqLen);
  for (let t = 0; t + 1 < ids.length; t++) if (t + 1 >= p) weights[t] = 1; // target ids[t+1] is a response token
  return { ids: Int32Array.from(ids), weights };
}
