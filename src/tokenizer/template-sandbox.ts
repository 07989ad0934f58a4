// Rendering Jinja templates that come from files — a tokenizer_config.json's chat_template, a
// template passed on the command line — with bounded time, memory and output. @huggingface/jinja
// renders synchronously, so a template with a 1e8-iteration loop would hang the process (and a
// range(1e9) exhaust its memory). Such templates render in a worker thread instead: the caller
// blocks on a shared flag for at most `timeMs`, the worker's heap is capped, and the text is
// refused beyond `maxChars`. A template that runs too long gets its worker terminated and a
// TokenizerError; the next render starts a fresh worker. The API stays synchronous.
import { MessageChannel, Worker, receiveMessageOnPort, type MessagePort } from 'node:worker_threads';
import { TokenizerError } from './errors.js';
import type { RenderReply, RenderRequest } from './template-worker.js';

/** Bounds of a sandboxed render. */
export interface TemplateLimits {
  /** Wall time of one render, in ms (default 5000). */
  timeMs: number;
  /** Longest rendered text, in characters (default 4,000,000, a few times any context window). */
  maxChars: number;
  /** Heap of the rendering worker, in MB (default 256). */
  heapMb: number;
}

const limits: TemplateLimits = { timeMs: 5000, maxChars: 4_000_000, heapMb: 256 };
/** How long a fresh worker may take to start (it loads the Jinja engine), in ms. */
const STARTUP_MS = 60_000;

/** Changes the sandbox limits (all or some); returns the previous ones. */
export function setTemplateLimits(l: Partial<TemplateLimits>): TemplateLimits {
  const prev = { ...limits };
  for (const [k, v] of Object.entries(l) as [keyof TemplateLimits, number][]) {
    if (!(typeof v === 'number' && v > 0)) throw new TokenizerError(`template limit ${k}: expected a positive number, found ${v}`);
    limits[k] = v;
  }
  if (l.heapMb !== undefined && l.heapMb !== prev.heapMb) stop();
  return prev;
}

interface Sandbox {
  worker: Worker;
  port: MessagePort;
  flag: Int32Array;
}

let box: Sandbox | null = null;
let nextId = 1;

function stop(): void {
  if (!box) return;
  void box.worker.terminate();
  box.port.close();
  box = null;
}

function start(): Sandbox {
  const flag = new Int32Array(new SharedArrayBuffer(4));
  const { port1, port2 } = new MessageChannel();
  const worker = new Worker(new URL('./template-worker.js', import.meta.url), {
    workerData: { flag, port: port2 },
    transferList: [port2],
    resourceLimits: { maxOldGenerationSizeMb: limits.heapMb, maxYoungGenerationSizeMb: Math.min(64, Math.max(4, limits.heapMb / 8)) },
    stdout: true,
    stderr: true,
  });
  worker.unref();
  port1.unref();
  // A worker that dies (out of memory) reports asynchronously; the waiting caller sees a timeout.
  worker.on('error', () => {});
  if (Atomics.wait(flag, 0, 0, STARTUP_MS) === 'timed-out') {
    void worker.terminate();
    throw new TokenizerError(`chat template sandbox: the rendering worker did not start within ${STARTUP_MS / 1000} s`);
  }
  return { worker, port: port1, flag };
}

/**
 * Renders `source` with `variables` in the sandbox; throws TokenizerError if it does not parse, fails,
 * runs past the time limit (or out of the worker's memory), or renders more than maxChars characters.
 */
export function renderSandboxed(source: string, variables: Record<string, unknown>): string {
  if (!box) box = start();
  const b = box;
  const id = nextId++;
  Atomics.store(b.flag, 0, 0);
  b.worker.postMessage({ id, source, variables, maxChars: limits.maxChars } satisfies RenderRequest);
  const waited = Atomics.wait(b.flag, 0, 0, limits.timeMs);
  const got = receiveMessageOnPort(b.port)?.message as RenderReply | undefined;
  if (waited === 'timed-out' || !got || got.id !== id) {
    stop();
    throw new TokenizerError(
      `chat template did not finish rendering within the ${limits.timeMs / 1000} s limit (or ran out of its ${limits.heapMb} MB heap): ` +
        'a loop or recursion in the template runs without a useful bound',
    );
  }
  if (got.ok) return got.text;
  if (got.kind === 'parse') throw new TokenizerError(`chat template does not parse: ${got.message}`);
  if (got.kind === 'render') throw new TokenizerError(`chat template failed to render: ${got.message}`);
  throw new TokenizerError(`chat template rendered ${got.message}; expected at most ${limits.maxChars.toLocaleString('en-US')}`);
}
