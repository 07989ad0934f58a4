// `tinyseek chat MODEL_DIR`: an interactive terminal chat through the model's chat template. The
// reasoning streams dimmed between <think> and </think>, then the answer; earlier turns are kept
// without their reasoning (as DeepSeek-R1 does). Ctrl-C stops the reply being generated (or exits
// at the prompt); Ctrl-D / end of input exits.
import type { Command } from 'commander';
import readline from 'node:readline';
import { CliError } from '../errors.js';
import { MODEL_DIR_HELP, modelDirOrShipped } from '../shipped-model.js';
import { createGenerator, samplingFrom, chatPrompt } from '../../infer/load.js';
import { ReasoningSplitter } from '../../infer/chat-stream.js';
import type { ChatMessage } from '../../tokenizer/index.js';
import { positiveInt, integer, numberIn, boolArg, loadForCli, DeltaPrinter, NO_MTP_HELP, WEIGHTS_HELP, MMAP_HELP, weightsArg } from './generate.js';
import type { WeightsMode } from '../../model/checkpoint.js';

interface ChatOptions {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  seed: number;
  system?: string;
  showThinking: boolean;
  mtp: boolean;
  weights: WeightsMode;
  mmap: boolean;
}

/** Drops the oldest exchanges (never the system message or the new user turn) until the prompt leaves room to answer. */
export function fitHistory(messages: ChatMessage[], fits: (m: ChatMessage[]) => boolean): ChatMessage[] {
  const m = [...messages];
  while (!fits(m)) {
    const first = m.findIndex((x) => x.role !== 'system');
    // Keep at least the last (user) message.
    if (first < 0 || first >= m.length - 1) return m;
    m.splice(first, m[first + 1]?.role === 'assistant' ? 2 : 1);
  }
  return m;
}

/** Registers `tinyseek chat`. */
export function register(program: Command): void {
  program
    .command('chat')
    .description('chat with a model in the terminal (reasoning dimmed, then the answer; Ctrl-D to quit)')
    .argument('[model_dir]', MODEL_DIR_HELP)
    .option('--show-thinking [bool]', 'show the reasoning; --show-thinking=false hides it', boolArg('--show-thinking'), true)
    .option('--temperature <t>', 'sampling temperature, 0 = greedy (default: generation_config.json)', numberIn('--temperature', 0, 100))
    .option('--top-p <p>', 'nucleus mass (default: generation_config.json)', numberIn('--top-p', 0, 1, true))
    .option('--max-tokens <n>', 'new tokens per reply at most (default: half the context, at most 512)', positiveInt('--max-tokens'))
    .option('--seed <s>', 'sampling seed of the first reply (then +1 per turn)', integer('--seed'), 0)
    .option('--system <text>', 'a system message')
    .option('--no-mtp', NO_MTP_HELP)
    .option('--weights <w>', WEIGHTS_HELP, weightsArg, 'f32' as WeightsMode)
    .option('--mmap', MMAP_HELP, false)
    .action(async (dirArg: string | undefined, o: ChatOptions) => {
      const dir = modelDirOrShipped(dirArg);
      const lm = loadForCli(dir, { mtp: o.mtp, weights: o.weights, mmap: o.mmap });
      const maxLen = lm.model.cfg.maxPositionEmbeddings;
      const maxTokens = o.maxTokens ?? Math.min(512, Math.floor(maxLen / 2));
      if (maxTokens >= maxLen) throw new CliError(`--max-tokens: ${maxTokens} leaves no room for a prompt in the model's context of ${maxLen} tokens`);
      const gen = createGenerator(lm, { maxBatch: 1, maxLen });
      const sampling = samplingFrom(lm, o);
      const history: ChatMessage[] = o.system !== undefined ? [{ role: 'system', content: o.system }] : [];
      const interactive = !!process.stdin.isTTY;
      const out = process.stdout;
      const rl = readline.createInterface({ input: process.stdin, output: out, terminal: interactive, prompt: '> ' });
      let current: AbortController | null = null;
      // Ctrl-C: stop the reply being generated, or leave at the prompt.
      const onInterrupt = (): void => {
        if (current) current.abort();
        else rl.close();
      };
      rl.on('SIGINT', onInterrupt);
      process.on('SIGINT', onInterrupt);
      if (interactive) out.write(`tinyseek chat — ${lm.name} (${lm.model.cfg.numHiddenLayers} layers, context ${maxLen}). Ctrl-C stops a reply, Ctrl-D quits.\n`);
      let turn = 0;
      try {
        if (interactive) rl.prompt();
        for await (const line of rl) {
          const text = line.trim();
          if (!text) { if (interactive) rl.prompt(); continue; }
          const fitted = fitHistory([...history, { role: 'user', content: text }], (m) => chatPrompt(lm.tokenizer, m).ids.length + maxTokens <= maxLen);
          const prompt = chatPrompt(lm.tokenizer, fitted);
          if (prompt.ids.length >= maxLen) {
            out.write(`(message too long: ${prompt.ids.length} tokens, the context holds ${maxLen})\n`);
            if (interactive) rl.prompt();
            continue;
          }
          const splitter = new ReasoningSplitter(lm.tokenizer, { startInThinking: prompt.opensThinking });
          const printer = new DeltaPrinter(out, o.showThinking);
          current = new AbortController();
          const res = await gen.generate({
            prompt: prompt.ids,
            maxNewTokens: Math.min(maxTokens, maxLen - prompt.ids.length),
            sampling,
            seed: o.seed + turn++,
            stopTokenIds: lm.stopTokenIds,
            signal: current.signal,
            onToken: (ev) => printer.write(splitter.push(ev.token)),
          });
          current = null;
          printer.write(splitter.finish());
          printer.end();
          if (res.finishReason === 'abort') out.write('(stopped)\n');
          else if (res.finishReason === 'length' && splitter.thinking) out.write('(the reply ran out of tokens while reasoning)\n');
          // History keeps the answer only: R1 never feeds its reasoning back.
          history.splice(0, history.length, ...fitted, { role: 'assistant', content: splitter.content });
          if (interactive) rl.prompt();
        }
      } finally {
        process.off('SIGINT', onInterrupt);
        rl.close();
        if (interactive) out.write('\n');
      }
    });
}
