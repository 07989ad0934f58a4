// `tinyseek serve [MODEL_DIR]`: the OpenAI-compatible API (DeepSeek's reasoning_content format), the
// web chat at / and the training-runs page at /runs, all from one process. Without MODEL_DIR it
// serves the model shipped in the repository (models/tinyseek-r1-mini).
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { CliError, EXIT_FAILURE } from '../errors.js';
import { positiveInt, loadForCli, NO_MTP_HELP, WEIGHTS_HELP, MMAP_HELP, weightsArg } from './generate.js';
import type { WeightsMode } from '../../model/checkpoint.js';
import { isLoopback } from '../../serve/guard.js';
import type { ReasoningFormat } from '../../serve/schemas.js';
import { DEFAULT_EXAMPLE_FAMILIES, checkExampleFamilies } from '../../serve/model-card.js';

interface ServeOptions {
  port: number;
  host: string;
  apiKey?: string;
  open: boolean;
  maxBatch: number;
  speculative: boolean;
  reasoningFormat: ReasoningFormat;
  runsDir: string;
  maxBody: number;
  name?: string;
  log: boolean;
  cors: string[];
  allowHost: string[];
  requestTimeout: number;
  headersTimeout: number;
  maxQueuedTokens?: number;
  maxSlotsPerRequest?: number;
  examples: string[];
  mtp: boolean;
  weights: WeightsMode;
  mmap: boolean;
}

/** The repository root (the directory holding package.json above this file). */
function packageRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    if (fs.existsSync(path.join(dir, 'package.json'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The model served when no directory is given. */
export function defaultModelDir(): string {
  return path.join(packageRoot(), 'models', 'tinyseek-r1-mini');
}

function port(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new CliError(`--port: expected an integer in [0, 65535], found "${v}"`);
  return n;
}

function collect(v: string, prev: string[]): string[] {
  return [...prev, v];
}

function seconds(flag: string): (v: string) => number {
  return (v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new CliError(`${flag}: expected a number of seconds ≥ 0 (0 = no limit), found "${v}"`);
    return n;
  };
}

/** --examples: task families, comma-separated, or "none". */
function exampleFamilies(v: string): string[] {
  const families = v === 'none' ? [] : v.split(',').map((s) => s.trim()).filter(Boolean);
  try {
    checkExampleFamilies(families);
  } catch (e) {
    throw new CliError(`--examples: ${(e as Error).message}, or "none"`);
  }
  return families;
}

function reasoningFormat(v: string): ReasoningFormat {
  if (v !== 'separate' && v !== 'inline') throw new CliError(`--reasoning-format: expected "separate" or "inline", found "${v}"`);
  return v;
}

/** Opens a URL in the desktop's browser, if there is one (errors are ignored). */
function openBrowser(url: string): void {
  const cmd = process.platform === 'darwin' ? 'open' : process.platform === 'win32' ? 'cmd' : 'xdg-open';
  const args = process.platform === 'win32' ? ['/c', 'start', '', url] : [url];
  try {
    const child = spawn(cmd, args, { stdio: 'ignore', detached: true });
    child.on('error', () => console.error(`(could not open a browser; visit ${url})`));
    child.unref();
  } catch {
    console.error(`(could not open a browser; visit ${url})`);
  }
}

/** Registers `tinyseek serve`. */
export function register(program: Command): void {
  program
    .command('serve')
    .description('serve a model: OpenAI-compatible API with reasoning_content, web chat at /, training runs at /runs')
    .argument('[model_dir]', 'model directory (default: the shipped models/tinyseek-r1-mini)')
    .option('--port <n>', 'port (0 = any free port)', port, 8080)
    .option('--host <addr>', 'address to listen on (0.0.0.0 for every interface)', '127.0.0.1')
    .option('--api-key <key>', 'require "Authorization: Bearer KEY" on /v1 and /api (default: $TINYSEEK_API_KEY)')
    .option('--open', 'open the chat in a browser', false)
    .option('--max-batch <n>', 'sequences decoded together (KV-cache slots); more requests queue', positiveInt('--max-batch'), 32)
    .option('--speculative', 'MTP speculative decoding', false)
    .option('--reasoning-format <f>', 'default for requests: "separate" (reasoning_content) or "inline" (<think> in content)', reasoningFormat, 'separate')
    .option('--runs-dir <dir>', 'training runs shown at /runs', 'runs')
    .option('--max-body <bytes>', 'largest request body', positiveInt('--max-body'), 1 << 20)
    .option('--name <id>', 'model id clients send (default: the directory name)')
    .option('--log', 'log one line per request', false)
    .option('--cors <origin>', 'let web pages from this origin call /v1 (repeatable; "*" = any origin); default: no CORS', collect, [])
    .option('--allow-host <name>', 'accept this Host name besides localhost/127.0.0.1/[::1] on a loopback server (repeatable; "*" = any)', collect, [])
    .option('--request-timeout <s>', 'seconds to receive a whole request, headers and body (0 = none)', seconds('--request-timeout'), 30)
    .option('--headers-timeout <s>', 'seconds to receive the request headers', seconds('--headers-timeout'), 10)
    .option('--max-queued-tokens <n>', 'prompt tokens queued or decoding (per choice) before requests get 503 (default 16 × max-batch × context)', positiveInt('--max-queued-tokens'))
    .option('--examples <families>', `task families of the example prompts the chat offers, comma-separated, or "none" (default: ${DEFAULT_EXAMPLE_FAMILIES.join(',')}, what the shipped model does best)`, exampleFamilies, [...DEFAULT_EXAMPLE_FAMILIES])
    .option('--max-slots-per-request <n>', 'cache slots one request may hold, so others start while it runs (default: max-batch minus a quarter)', positiveInt('--max-slots-per-request'))
    .option('--no-mtp', NO_MTP_HELP)
    .option('--weights <w>', WEIGHTS_HELP, weightsArg, 'f32' as WeightsMode)
    .option('--mmap', MMAP_HELP, false)
    .action(async (dir: string | undefined, o: ServeOptions) => {
      const modelDir = dir ?? defaultModelDir();
      if (!dir && !fs.existsSync(path.join(modelDir, 'config.json'))) {
        throw new CliError(`no model directory given and the shipped model is missing (${modelDir}); pass MODEL_DIR (a model directory such as runs/NAME/final, written by tinyseek pretrain, sft, grpo or r1-zero)`);
      }
      if (o.speculative && !o.mtp) throw new CliError('--speculative needs the MTP module; drop --no-mtp');
      const lm = loadForCli(modelDir, { mtp: o.mtp, weights: o.weights, mmap: o.mmap });
      if (o.speculative && lm.model.cfg.numNextnPredictLayers < 1) throw new CliError('--speculative: the model has no MTP module (num_nextn_predict_layers = 0, or no MTP weights)');
      // Imported here so that `tinyseek --help` and the light commands start fast.
      const { startServer } = await import('../../serve/server.js');
      const apiKey = o.apiKey ?? process.env.TINYSEEK_API_KEY ?? undefined;
      let running;
      try {
        running = await startServer({
          model: lm, id: o.name, port: o.port, hostname: o.host, apiKey: apiKey || undefined, maxBatch: o.maxBatch, speculative: o.speculative,
          reasoningFormat: o.reasoningFormat, runsDir: o.runsDir, maxBodyBytes: o.maxBody,
          log: o.log ? (line) => console.log(line) : undefined,
          cors: o.cors.length ? o.cors : undefined, allowedHosts: o.allowHost,
          requestTimeoutMs: Math.round(o.requestTimeout * 1000), headersTimeoutMs: Math.round(o.headersTimeout * 1000),
          maxQueuedTokens: o.maxQueuedTokens, maxSlotsPerRequest: o.maxSlotsPerRequest, examples: o.examples,
        });
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EADDRINUSE') throw new CliError(`port ${o.port} on ${o.host} is already in use; pass --port N (0 picks a free one)`, EXIT_FAILURE);
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new CliError(`--host ${o.host}: cannot listen on that address`);
        throw e;
      }
      const { url, host } = running;
      console.log(`tinyseek serve — model "${host.id}" (${lm.model.cfg.numHiddenLayers} layers, context ${host.contextLength}, batch ${host.generator.maxBatch})`);
      console.log(`  chat     ${url}/`);
      console.log(`  runs     ${url}/runs`);
      console.log(`  API      ${url}/v1  (OpenAI-compatible; reasoning in reasoning_content)${apiKey ? ' — API key required' : ''}`);
      if (o.cors.length) console.log(`  CORS     /v1 answers browsers from ${o.cors.join(', ')}`);
      if (!isLoopback(o.host)) console.log(`  note     listening on ${o.host}: every Host name is accepted; use --api-key on a shared network`);
      console.log('Serving until Ctrl-C.');
      if (o.open) openBrowser(`${url}/`);
      await new Promise<void>((resolve) => {
        const stop = (): void => {
          process.off('SIGINT', stop);
          process.off('SIGTERM', stop);
          void running.close().then(resolve);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
    });
}
