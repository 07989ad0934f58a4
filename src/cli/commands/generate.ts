// `tinyseek generate MODEL_DIR --prompt TEXT`: one completion from a model directory, streamed to
// stdout (reasoning dimmed with --chat), or one JSON object with --json.
import { WEIGHTS_MODES } from '../../model/checkpoint.js';
import type { WeightsMode } from '../../model/checkpoint.js';
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { MODEL_DIR_HELP, modelDirOrShipped } from '../shipped-model.js';
import { loadModelDir, createGenerator, samplingFrom, chatPrompt, completionPrompt } from '../../infer/load.js';
import type { LoadedModel } from '../../infer/load.js';
import { ReasoningSplitter } from '../../infer/chat-stream.js';
import type { ChatDelta } from '../../infer/chat-stream.js';
import type { ChatMessage } from '../../tokenizer/index.js';

/** Parses a positive integer option. */
export function positiveInt(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new CliError(`${name}: expected a positive integer, found "${v}"`);
    return n;
  };
}

/** Parses an integer option (a seed). */
export function integer(name: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new CliError(`${name}: expected an integer, found "${v}"`);
    return n;
  };
}

/** Parses a number option within [lo, hi] (lo excluded when `loOpen`). */
export function numberIn(name: string, lo: number, hi: number, loOpen = false): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (v.trim() === '' || !Number.isFinite(n) || n < lo || (loOpen && n === lo) || n > hi) {
      throw new CliError(`${name}: expected a number in ${loOpen ? '(' : '['}${lo}, ${hi}], found "${v}"`);
    }
    return n;
  };
}

/** Parses true/false (also yes/no, 1/0) for options written `--flag=false`. */
export function boolArg(name: string): (v: string) => boolean {
  return (v) => {
    const s = v.trim().toLowerCase();
    if (['true', 'yes', '1', 'on'].includes(s)) return true;
    if (['false', 'no', '0', 'off'].includes(s)) return false;
    throw new CliError(`${name}: expected true or false, found "${v}"`);
  };
}

/** The `--no-mtp` option's help text (serve, generate, chat, eval). */
export const NO_MTP_HELP = 'do not load the MTP module (model.layers.{num_hidden_layers}.*): less memory, no --speculative';

/** The `--weights` option's help text (serve, generate, chat, eval). */
export const WEIGHTS_HELP = "how Linear weights are held: f32 (default), or bf16 / f16 to keep a BF16 / F16 checkpoint's Linear weights 16-bit in memory (half the bytes; inference only)";

/** The `--mmap` option's help text (serve, generate, chat, eval). */
export const MMAP_HELP = 'with --weights bf16|f16: memory-map the weights, so start-up reads only what float32 needs and the 16-bit weights load from disk as they are first used (experts never routed to are never read)';

/** Parses `--weights`. */
export function weightsArg(v: string): WeightsMode {
  if (!(WEIGHTS_MODES as readonly string[]).includes(v)) throw new CliError(`--weights: expected one of ${WEIGHTS_MODES.join(', ')}, found "${v}"`);
  return v as WeightsMode;
}

/** Loads a model directory for a command; a bad directory becomes a one-line CliError. */
export function loadForCli(dir: string, opts: { mtp?: boolean; weights?: WeightsMode; mmap?: boolean } = {}): LoadedModel {
  if (opts.mmap && (opts.weights ?? 'f32') === 'f32') throw new CliError('--mmap maps 16-bit weights; add --weights bf16 or --weights f16 (the checkpoint\'s 16-bit dtype)');
  try {
    return loadModelDir(dir, { mtp: opts.mtp, weights: opts.weights, mmap: opts.mmap });
  } catch (e) {
    const msg = (e as Error).message;
    // Most load errors already name the directory; say it once.
    throw new CliError(msg.includes(dir) ? `cannot load the model: ${msg}` : `cannot load model directory ${dir}: ${msg}`);
  }
}

/** ANSI styling of reasoning text when writing to a terminal (off with NO_COLOR or a pipe). */
export function reasoningStyle(stream: NodeJS.WriteStream): { open: string; close: string } {
  const color = !!stream.isTTY && !process.env.NO_COLOR && process.env.TERM !== 'dumb';
  return color ? { open: '\x1b[2m', close: '\x1b[22m' } : { open: '<think>\n', close: '\n</think>\n' };
}

/** Writes chat deltas: reasoning styled (or hidden), then the answer. Tracks whether a reasoning block is open. */
export class DeltaPrinter {
  private inReasoning = false;
  private wrote = false;
  constructor(private readonly out: NodeJS.WriteStream, private readonly showThinking: boolean, private readonly style = reasoningStyle(out)) {}

  write(deltas: ChatDelta[]): void {
    for (const d of deltas) {
      if (d.kind === 'reasoning') {
        if (!this.showThinking) continue;
        if (!this.inReasoning) { this.out.write(this.style.open); this.inReasoning = true; }
        this.out.write(d.text);
      } else {
        this.closeReasoning(true);
        this.out.write(d.text);
      }
      this.wrote = true;
    }
  }

  /** Closes an open reasoning block (and separates it from the answer). */
  closeReasoning(beforeAnswer = false): void {
    if (!this.inReasoning) return;
    this.out.write(this.style.close);
    if (beforeAnswer && !this.style.close.endsWith('\n')) this.out.write('\n\n');
    else if (beforeAnswer) this.out.write('\n');
    this.inReasoning = false;
  }

  /** Ends the reply with a newline. */
  end(): void {
    this.closeReasoning();
    if (this.wrote) this.out.write('\n');
  }
}

/** Whether a model directory's tokenizer_config.json declares a chat template (Hugging Face's `chat_template`). */
export function declaresChatTemplate(dir: string): boolean {
  try {
    const cfg = JSON.parse(fs.readFileSync(path.join(dir, 'tokenizer_config.json'), 'utf8')) as { chat_template?: unknown };
    return cfg.chat_template !== undefined && cfg.chat_template !== null;
  } catch {
    return false; // no file (or one the tokenizer loader already refused): plain completion
  }
}

/** One line on MTP speculative decoding: drafts accepted and the acceptance rate. */
export function speculativeSummary(drafted: number, accepted: number): string {
  const rate = drafted > 0 ? `${(100 * accepted / drafted).toFixed(1)}%` : 'n/a (no drafts)';
  return `speculative decoding: ${accepted} of ${drafted} MTP draft tokens accepted (acceptance rate ${rate})`;
}

interface GenerateOptions {
  prompt?: string;
  maxTokens: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  minP?: number;
  seed: number;
  chat?: boolean;
  raw?: boolean;
  system?: string;
  speculative: boolean;
  json: boolean;
  showThinking: boolean;
  mtp: boolean;
  weights: WeightsMode;
  mmap: boolean;
}

/** Registers `tinyseek generate`. */
export function register(program: Command): void {
  program
    .command('generate')
    .description('generate one completion from a model directory (streams text; --json prints one object)')
    .argument('[model_dir]', MODEL_DIR_HELP)
    .requiredOption('--prompt <text>', 'the prompt (a user message with --chat)')
    .option('--max-tokens <n>', 'new tokens at most', positiveInt('--max-tokens'), 128)
    .option('--temperature <t>', 'sampling temperature, 0 = greedy (default: generation_config.json)', numberIn('--temperature', 0, 100))
    .option('--top-p <p>', 'nucleus mass (default: generation_config.json)', numberIn('--top-p', 0, 1, true))
    .option('--top-k <k>', 'keep the k most likely tokens (0 = off)', integer('--top-k'))
    .option('--min-p <p>', 'keep tokens at least p × as likely as the most likely one (0 = off)', numberIn('--min-p', 0, 1))
    .option('--seed <s>', 'sampling seed', integer('--seed'), 0)
    .option('--chat', 'apply the chat template to the prompt and split reasoning from the answer (the default when the model directory declares a chat template)')
    .option('--raw', 'plain completion of the prompt text, no chat template (the default when the directory declares none)')
    .option('--system <text>', 'a system message (chat mode)')
    .option('--speculative', 'MTP speculative decoding (reports the acceptance rate: on stderr, or in --json)', false)
    .option('--show-thinking [bool]', 'show the reasoning (with --chat, text output); --show-thinking=false hides it', boolArg('--show-thinking'), true)
    .option('--json', 'print one JSON object: text, tokens, finish_reason, usage', false)
    .option('--no-mtp', NO_MTP_HELP)
    .option('--weights <w>', WEIGHTS_HELP, weightsArg, 'f32' as WeightsMode)
    .option('--mmap', MMAP_HELP, false)
    .action(async (dirArg: string | undefined, o: GenerateOptions) => {
      if (!o.prompt) throw new CliError('--prompt: expected a non-empty prompt');
      const dir = modelDirOrShipped(dirArg);
      if (o.topK !== undefined && o.topK < 0) throw new CliError(`--top-k: expected an integer ≥ 0, found ${o.topK}`);
      if (o.chat && o.raw) throw new CliError('--chat and --raw: expected at most one of them');
      if (o.system !== undefined && o.raw) throw new CliError('--system: a system message needs chat mode; found --raw');
      if (o.speculative && !o.mtp) throw new CliError('--speculative needs the MTP module; drop --no-mtp');
      const lm = loadForCli(dir, { mtp: o.mtp, weights: o.weights, mmap: o.mmap });
      // As llama.cpp's llama-cli does: conversation mode whenever the model ships a chat template.
      const chat = o.chat ?? (o.raw ? false : declaresChatTemplate(dir));
      if (o.system !== undefined && !chat) throw new CliError(`--system: ${dir}/tokenizer_config.json declares no chat template, so the prompt is a plain completion; pass --chat to use the default one`);
      if (o.speculative && lm.model.cfg.numNextnPredictLayers < 1) throw new CliError(`--speculative: ${dir} has no MTP module (num_nextn_predict_layers = 0, or no MTP weights)`);
      const tok = lm.tokenizer;
      let ids: number[];
      let opensThinking = false;
      if (chat) {
        const messages: ChatMessage[] = [];
        if (o.system !== undefined) messages.push({ role: 'system', content: o.system });
        messages.push({ role: 'user', content: o.prompt });
        const p = chatPrompt(tok, messages);
        ids = p.ids;
        opensThinking = p.opensThinking;
      } else {
        ids = completionPrompt(tok, o.prompt);
        if (ids.length === 0) throw new CliError('--prompt: the prompt encodes to no tokens');
      }
      const maxLen = lm.model.cfg.maxPositionEmbeddings;
      if (ids.length >= maxLen) throw new CliError(`--prompt: ${ids.length} tokens do not fit the model's context of ${maxLen} tokens`);
      const gen = createGenerator(lm, { maxBatch: 1, maxLen, speculative: o.speculative });
      const splitter = new ReasoningSplitter(tok, { startInThinking: opensThinking });
      const printer = o.json ? null : new DeltaPrinter(process.stdout, o.showThinking);
      const t0 = performance.now();
      const res = await gen.generate({
        prompt: ids,
        maxNewTokens: o.maxTokens,
        sampling: samplingFrom(lm, o),
        seed: o.seed,
        stopTokenIds: lm.stopTokenIds,
        onToken: (ev) => {
          const deltas = splitter.push(ev.token);
          printer?.write(deltas);
        },
      });
      const tail = splitter.finish();
      printer?.write(tail);
      const seconds = (performance.now() - t0) / 1000;
      printer?.end();
      if (!o.json) {
        // On stderr, so that stdout stays the generated text alone.
        if (o.speculative) console.error(speculativeSummary(gen.stats.drafted, gen.stats.accepted));
        return;
      }
      // The text without the EOS that ended it; specials such as <think> kept (plain mode).
      const body = res.finishReason === 'stop' && lm.stopTokenIds.includes(res.tokens.at(-1)!) ? res.tokens.slice(0, -1) : res.tokens;
      const out: Record<string, unknown> = {
        model: lm.name,
        text: chat ? splitter.content : tok.decode(body),
        ...(chat ? { reasoning: splitter.reasoning } : {}),
        tokens: res.tokens,
        finish_reason: res.finishReason,
        usage: { prompt_tokens: res.promptTokens, completion_tokens: res.tokens.length, total_tokens: res.promptTokens + res.tokens.length },
        seconds: Number(seconds.toFixed(3)),
        tokens_per_second: Number((res.tokens.length / seconds).toFixed(2)),
      };
      if (o.speculative) {
        const rate = gen.acceptanceRate();
        out.speculative = { drafted: gen.stats.drafted, accepted: gen.stats.accepted, acceptance_rate: Number.isFinite(rate) ? Number(rate.toFixed(4)) : null };
      }
      console.log(JSON.stringify(out));
    });
}
