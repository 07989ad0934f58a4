// `tinyseek serve [MODEL_DIR]`: the OpenAI-compatible API (DeepSeek's reasoning_content format), the
// web chat at / and the training-runs page at /runs, all from one process. Without MODEL_DIR it
// serves the model shipped in the repository (models/tinyseek-r1-mini). With --ep N under
// `mpirun -np N` the routed experts are spread over the ranks (src/parallel/expert-serving.ts):
// rank 0 serves, the others follow its forward passes.
import type { Command } from 'commander';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { CliError, EXIT_FAILURE, EXIT_USAGE } from '../errors.js';
import { modelDirOrShipped } from '../shipped-model.js';
import { positiveInt, loadForCli, NO_MTP_HELP, WEIGHTS_HELP, MMAP_HELP, weightsArg } from './generate.js';
import { notLaunchedMessage, startMpi } from './train.js';
import type { LoadedModel } from '../../infer/load.js';
import type { Mpi } from '../../parallel/mpi.js';
import type { ForwardLeader } from '../../parallel/expert-serving.js';
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
  reportsDir?: string;
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
  ep?: number;
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

/**
 * Ends every rank of a job whose launch or input is wrong: rank 0 prints the message, every rank
 * waits at a barrier (so that mpirun, which ends the job when a rank exits non-zero, cannot cut the
 * message short) and exits with the usage status.
 */
async function endServeRanks(message: string): Promise<never> {
  const { Mpi } = await import('../../parallel/mpi.js');
  const mpi = Mpi.init();
  if (mpi.rank === 0) console.error(`tinyseek: ${message}`);
  mpi.world.barrier();
  mpi.finalize();
  process.exit(EXIT_USAGE);
}

/** What is wrong with serving `dir` with --ep (read from its config.json before MPI starts), or null. */
async function epLayoutProblem(dir: string, ep: number): Promise<string | null> {
  const { loadAnyConfigPath, isDenseConfig } = await import('../../model/registry.js');
  const { expertLayoutProblem } = await import('../../parallel/expert-parallel.js');
  let cfg;
  try {
    cfg = loadAnyConfigPath(dir);
  } catch (e) {
    return `cannot load model directory ${dir}: ${(e as Error).message}`;
  }
  if (isDenseConfig(cfg)) return `--ep ${ep} spreads a model's routed experts over ranks, but ${dir} holds a dense ${cfg.modelType} model, which has none; serve it without --ep and mpirun`;
  return expertLayoutProblem(cfg, { world: ep, dp: 1, ep });
}

/** This rank of an expert-parallel server: its model (its experts only), and on rank 0 the leader of the followers' forwards. */
interface EpRank {
  mpi: Mpi;
  lm: LoadedModel;
  leader: ForwardLeader | null;
}

/**
 * `serve --ep N` under `mpirun -np N`: checks the launch and the model (every rank reaching the same
 * verdict, printed once by rank 0), starts MPI and loads this rank's share of the model. Null for a
 * one-process server.
 */
async function startExpertParallel(dir: string, o: ServeOptions): Promise<EpRank | null> {
  const { launchedWorldSize, mpiUnavailableReason } = await import('../../parallel/mpi.js');
  const ep = o.ep ?? 1;
  const world = launchedWorldSize();
  if (ep === 1 && (world === null || world === 1)) return null;
  const bad = world === null ? notLaunchedMessage('serve', `--ep ${ep}`, ep)
    : world !== ep
      ? ep === 1
        ? `mpirun started ${world} processes, but serve without --ep runs in one; add --ep ${world} to spread the routed experts over them, or start it without mpirun`
        : `--ep ${ep} does not match mpirun's ${world} processes; give --ep ${world}, or start mpirun -np ${ep}`
      : o.mmap && o.weights === 'f32' ? '--mmap maps 16-bit weights; add --weights bf16 or --weights f16 (the checkpoint\'s 16-bit dtype)'
        : await epLayoutProblem(dir, ep);
  if (bad) {
    if (world !== null && world > 1 && !mpiUnavailableReason()) return endServeRanks(bad);
    throw new CliError(bad);
  }
  const mpi = await startMpi('tinyseek serve');
  const who = `tinyseek serve rank ${mpi.rank}/${mpi.size}`;
  const { servingLayout, ForwardLeader } = await import('../../parallel/expert-serving.js');
  const { everyRank, CollectiveError } = await import('../../parallel/root-first.js');
  const { loadModelDir } = await import('../../infer/load.js');
  const layout = servingLayout(mpi.world);
  let lm: LoadedModel;
  try {
    lm = everyRank(mpi.world, () => {
      const m = loadModelDir(dir, { mtp: o.mtp, weights: o.weights, mmap: o.mmap, experts: layout.experts });
      if (o.speculative && m.model.cfg.numNextnPredictLayers < 1) throw new Error('--speculative: the model has no MTP module (num_nextn_predict_layers = 0, or no MTP weights)');
      return m;
    });
  } catch (e) {
    if (!(e instanceof CollectiveError)) throw e;
    const msg = e.message;
    return endServeRanks(msg.startsWith('--') ? msg : msg.includes(dir) ? `cannot load the model: ${msg}` : `cannot load model directory ${dir}: ${msg}`);
  }
  const cfg = lm.model.cfg as import('../../model/config.js').ModelConfig;
  const count = cfg.nRoutedExperts / mpi.size, first = mpi.rank * count;
  const rss = process.memoryUsage().rss;
  console.log(`${who}: routed experts [${first}, ${first + count}) of ${cfg.nRoutedExperts} in each MoE layer, ${await heldBytes(lm)} bytes of weights, RSS ${(rss / 2 ** 20).toFixed(1)} MiB, pid ${process.pid}`);
  return { mpi, lm, leader: mpi.rank === 0 ? new ForwardLeader(mpi.world, lm.model as import('../../model/model.js').DeepseekV3) : null };
}

/** Bytes of the weights a loaded model holds (float32 storage, 16-bit resident weights). */
async function heldBytes(lm: LoadedModel): Promise<number> {
  const { Linear } = await import('../../nn/layers.js');
  let n = 0;
  for (const [, t] of lm.model.namedTensors()) n += t.storage.data.byteLength;
  for (const [, m] of lm.model.namedModules()) if (m instanceof Linear && m.weight16) n += m.weight16.bits.byteLength;
  return n;
}

/** A follower rank of `serve --ep`: runs rank 0's forwards until it stops the server. */
async function follow(r: EpRank): Promise<void> {
  const { followForwards } = await import('../../parallel/expert-serving.js');
  const who = `tinyseek serve rank ${r.mpi.rank}/${r.mpi.size}`;
  // Ctrl-C reaches every process of the terminal's job: rank 0 stops the server and then the followers.
  process.on('SIGINT', () => {});
  let steps;
  try {
    steps = await followForwards(r.mpi.world, r.lm.model as import('../../model/model.js').DeepseekV3);
  } catch (e) {
    console.error(`${who}: ${(e as Error).message}`);
    if (process.env.TINYSEEK_DEBUG) console.error((e as Error).stack);
    return r.mpi.abort(1);
  }
  r.mpi.finalize();
  console.log(`${who}: stopped after ${steps} forward steps (rank 0 ended the server)`);
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
    .option('--reports-dir <dir>', 'result reports whose figures /runs shows (default: the repository\'s docs/results)')
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
    .option('--ep <n>', 'expert parallelism: under `mpirun -np N`, spread the routed experts over N ranks (E/N each; the rest replicated); rank 0 serves', positiveInt('--ep'))
    .action(async (dir: string | undefined, o: ServeOptions) => {
      const modelDir = modelDirOrShipped(dir);
      if (o.speculative && !o.mtp) throw new CliError('--speculative needs the MTP module; drop --no-mtp');
      const epRank = await startExpertParallel(modelDir, o);
      if (epRank && !epRank.leader) return follow(epRank);
      const lm = epRank ? epRank.lm : loadForCli(modelDir, { mtp: o.mtp, weights: o.weights, mmap: o.mmap });
      if (o.speculative && lm.model.cfg.numNextnPredictLayers < 1) throw new CliError('--speculative: the model has no MTP module (num_nextn_predict_layers = 0, or no MTP weights)');
      // The followers wait for rank 0's forwards: whatever ends rank 0 must stop them first.
      const stopFollowers = (): void => {
        if (!epRank) return;
        epRank.leader!.stop();
        epRank.mpi.finalize();
      };
      // Imported here so that `tinyseek --help` and the light commands start fast.
      const { startServer } = await import('../../serve/server.js');
      const apiKey = o.apiKey ?? process.env.TINYSEEK_API_KEY ?? undefined;
      let running;
      try {
        running = await startServer({
          model: lm, id: o.name, port: o.port, hostname: o.host, apiKey: apiKey || undefined, maxBatch: o.maxBatch, speculative: o.speculative,
          reasoningFormat: o.reasoningFormat, runsDir: o.runsDir, reportsDir: o.reportsDir, maxBodyBytes: o.maxBody,
          log: o.log ? (line) => console.log(line) : undefined,
          cors: o.cors.length ? o.cors : undefined, allowedHosts: o.allowHost,
          requestTimeoutMs: Math.round(o.requestTimeout * 1000), headersTimeoutMs: Math.round(o.headersTimeout * 1000),
          maxQueuedTokens: o.maxQueuedTokens, maxSlotsPerRequest: o.maxSlotsPerRequest, examples: o.examples,
        });
      } catch (e) {
        stopFollowers();
        const err = e as NodeJS.ErrnoException;
        if (err.code === 'EADDRINUSE') throw new CliError(`port ${o.port} on ${o.host} is already in use; pass --port N (0 picks a free one)`, EXIT_FAILURE);
        if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') throw new CliError(`--host ${o.host}: cannot listen on that address`);
        throw e;
      }
      const { url, host } = running;
      console.log(`tinyseek serve — model "${host.id}" (${lm.model.cfg.numHiddenLayers} layers, context ${host.contextLength}, batch ${host.generator.maxBatch}${epRank ? `, routed experts over ${epRank.mpi.size} ranks` : ''})`);
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
          void running.close().then(() => {
            stopFollowers();
            resolve();
          });
        };
        process.on('SIGINT', stop);
        // Under mpirun SIGTERM means the job is ending (a rank failed): MPI's handler reports it and exits.
        if (!epRank) process.on('SIGTERM', stop);
      });
    });
}
