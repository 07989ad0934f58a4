// SFT data: chat-formatted (prompt, response) pairs rendered through the chat template, with the
// loss on the response tokens only (prompt tokens get weight 0). One example per row, padded.
import fs from 'node:fs';
import { Tensor } from '../tensor/index.js';
import { Rng } from '../tensor/random.js';
import type { Tokenizer } from '../tokenizer/index.js';
import { getTask, sampleProblem, streamSeed, taskNames } from '../tasks/index.js';

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

  constructor(readonly rows: { ids: Int32Array; weights: Float32Array }[], readonly seqLen: number, readonly seed: number, readonly pad: number) {
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

  /**
   * Chat examples built from the task families' worked solutions (R1's "cold start" data): the user
   * asks the problem, the assistant reasons in <think>…</think> and then states the answer.
   */
  static fromTasks(spec: { families?: string[]; difficulties: number[]; n: number }, tok: Tokenizer, seqLen: number, seed: number): SftDataset {
    const rows: { ids: Int32Array; weights: Float32Array }[] = [];
    for (const family of spec.families ?? taskNames()) {
      const task = getTask(family);
      for (const d of spec.difficulties) {
        for (let i = 0; i < spec.n; i++) {
          const p = sampleProblem(family, d, 'train', streamSeed('train', seed, family, d, i));
          const w = task.work(p);
          rows.push(encodeExample({ prompt: p.prompt, response: sftResponse(w.trace, w.answer) }, tok, seqLen, `${family} d${d} #${i}`));
        }
      }
    }
    return new SftDataset(rows, seqLen, seed, tok.padId);
  }

  /** Indices (into `rows`) of examples [g0, g0 + n) of the run: a seeded order, reshuffled each epoch. */
  rowIndices(g0: number, n: number): number[] {
    const out: number[] = [];
    for (let j = 0; j < n; j++) {
      const g = g0 + j;
      const e = Math.floor(g / this.rows.length);
      if (e !== this.epoch) {
        this.order = new Rng((this.seed * 31 + e * 7 + 3) >>> 0).shuffle(this.rows.map((_, i) => i));
        this.epoch = e;
      }
      out.push(this.order[g % this.rows.length]);
    }
    return out;
  }

  /** Examples [g0, g0 + n) as flat arrays: ids [n, T+1] (padded), weights [n, T], and their row indices. */
  batchArrays(g0: number, n: number): { ids: Int32Array; weights: Float32Array; rows: number[] } {
    const T1 = this.seqLen + 1;
    const ids = new Int32Array(n * T1).fill(this.pad);
    const w = new Float32Array(n * this.seqLen);
    const rows = this.rowIndices(g0, n);
    rows.forEach((r, j) => {
      ids.set(this.rows[r].ids, j * T1);
      w.set(this.rows[r].weights, j * this.seqLen);
    });
    return { ids, weights: w, rows };
  }

  /** Examples [g0, g0 + n) of the run (seeded order, reshuffled each epoch). */
  batch(g0: number, n: number): { ids: Tensor; weights: Tensor } {
    const b = this.batchArrays(g0, n);
    return { ids: Tensor.ints(b.ids, [n, this.seqLen + 1]), weights: Tensor.from(b.weights, [n, this.seqLen]) };
  }
}

/**
 * Tokenizes one example: the conversation up to the last assistant turn goes through the chat
 * template (with its generation prompt, which for R1's template already opens "<think>\n"), then the
 * response's tokens and EOS follow. Weights mark the response's target positions. (R1's template
 * strips reasoning from assistant turns it renders, so the trained response is not rendered by it.)
 */
export function encodeExample(ex: SftExample, tok: Tokenizer, seqLen: number, where = 'example'): { ids: Int32Array; weights: Float32Array } {
  const msgs = ex.messages ?? (ex.prompt !== undefined && ex.response !== undefined ? [{ role: 'user' as const, content: ex.prompt }, { role: 'assistant' as const, content: ex.response }] : null);
  if (!msgs || msgs.length < 2 || msgs[msgs.length - 1].role !== 'assistant') {
    throw new Error(`${where}: expected {"prompt", "response"} or {"messages"} ending with an assistant message`);
  }
  const promptText = tok.applyChatTemplate(msgs.slice(0, -1), { addGenerationPrompt: true, template: ex.template });
  let response = msgs[msgs.length - 1].content;
  const opened = promptText.endsWith('<think>\n');
  if (opened && response.startsWith('<think>\n')) response = response.slice('<think>\n'.length);
  const promptIds = tok.encode(promptText, { allowSpecial: true });
  let ids = [...promptIds, ...tok.encode(response, { allowSpecial: true }), tok.eosId];
  if (ids.length > seqLen + 1) ids = ids.slice(0, seqLen + 1);
  const weights = new Float32Array(seqLen);
  for (let t = 0; t + 1 < ids.length; t++) if (t + 1 >= promptIds.length) weights[t] = 1; // target ids[t+1] is a response token
  return { ids: Int32Array.from(ids), weights };
}

/** The assistant turn of a task SFT example: reasoning in <think>, then the answer. */
export function sftResponse(trace: string, answer: string): string {
  return `<think>\n${trace}\n</think>\n\nThe answer is ${answer}.`;
}
